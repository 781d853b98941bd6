/**
 * Secrets on disk: the hub started with --state DIR writes registry.json (every device key and the
 * iothubowner key). Every file there and the directory itself are stat'ed: group or other bits
 * on anything that holds a secret are the hole. The hub runs with umask 022.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcome, type Attack, type AttackOutcome } from '../attack.js';
import { ServerProcess } from '../server-process.js';

const mode = (p: string): number => statSync(p).mode & 0o777;
const octal = (m: number): string => `0${m.toString(8).padStart(3, '0')}`;

/** The hub runs with the common default umask, so that the result does not depend on the caller's. */
const UMASK = '022';

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

async function secretsOnDisk(): Promise<AttackOutcome> {
  const parent = mkdtempSync(join(tmpdir(), 'amqp-one-attack-'));
  const dir = join(parent, 'state');
  const hub = await ServerProcess.start('hub', ['--state', dir], UMASK);
  try {
    const files = listFiles(dir);
    const secretFiles = files.filter((f) =>
      /SharedAccessKey|primaryKey|PRIVATE KEY/i.test(readFileSync(f, 'latin1').slice(0, 1 << 20)),
    );
    const open = secretFiles.filter((f) => (mode(f) & 0o077) !== 0);
    const dirOpen = (mode(dir) & 0o077) !== 0;
    const rel = (f: string): string => f.slice(dir.length + 1);
    const listed = secretFiles.map((f) => `${rel(f)} ${octal(mode(f))}`).join(', ');
    const text = `state dir ${octal(mode(dir))}; files with keys: ${listed || 'none found'} (umask ${UMASK})`;
    if (open.length > 0 || dirOpen)
      return outcome(
        'readable',
        'HOLE',
        `${text}; readable by others: ${[...(dirOpen ? ['the directory'] : []), ...open.map(rel)].join(', ')}`,
      );
    return outcome('private', 'held', text);
  } finally {
    await hub.stop();
    rmSync(parent, { recursive: true, force: true });
  }
}

export const SECRETS_ATTACKS: Attack[] = [
  {
    name: 'secrets-on-disk',
    family: 'secrets',
    target: 'disk',
    title: 'hub --state DIR: modes of the state directory and of every file holding a key',
    timeoutMs: 30_000,
    run: () => secretsOnDisk(),
  },
];
