/**
 * The attack runner (scripts/attack) against real `amqp-one broker` and `amqp-one hub` children
 * from dist/ (run `npm run build` first): the rows report what the server actually did.
 *
 * Each expected outcome is one constant: what the hardened servers must produce (on the code
 * before the hardening, skip-sasl gave 'accepted' and secrets-on-disk 'readable').
 */
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAttacks, selectAttacks } from '../../scripts/attack/runner.js';
import { CLI_MAIN } from '../../scripts/attack/server-process.js';
import { formatJson, formatTables } from '../../scripts/attack/table.js';

/** skip-sasl: a bare-header client is refused by a broker with users. */
const SKIP_SASL_EXPECTED = 'refused';
/** The control: alice:s3cret gets in before and after every fix. */
const RIGHT_PASSWORD_EXPECTED = 'accepted';
/** secrets-on-disk: registry.json is 0600 in a 0700 folder. */
const SECRETS_EXPECTED = 'private';

/** The newest modification time of the files under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// The servers run from dist/: a build older than the sources would test old code.
beforeAll(() => {
  const main = CLI_MAIN;
  let built: number;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    throw new Error(`${main} is missing: run npm run build`);
  }
  if (newestUnder(path.join(path.dirname(main), '..', '..', 'src')) > built)
    throw new Error(`${main} is older than files under src/: run npm run build`);
});

describe('npm run attack: the runner', () => {
  it('runs the auth attacks against a broker child and reports the measured outcome', async () => {
    const rows = await runAttacks({ only: ['skip-sasl', 'sasl-right-password'] });
    expect(rows.map((r) => r.attack)).toEqual(['skip-sasl', 'sasl-right-password']);
    const [skip, right] = rows;
    expect(skip!.code).toBe(SKIP_SASL_EXPECTED);
    expect(right!.code).toBe(RIGHT_PASSWORD_EXPECTED);
    expect(right!.text).toContain('10/10 sent and accepted, 10 read back');
    for (const r of rows) {
      expect(r.target).toBe('broker');
      // Memory was read from the server child's /proc status.
      expect(r.rssBeforeMiB).toBeGreaterThan(10);
      expect(r.peakMiB).toBeGreaterThanOrEqual(r.rssAfterMiB!);
      expect(r.probe).toBeDefined();
      expect(r.serverExit).toBeUndefined();
    }
    const table = formatTables(rows);
    expect(table).toContain('== broker');
    expect(table).toMatch(/^skip-sasl\s/m);
    expect(JSON.parse(formatJson(rows)).rows).toHaveLength(2);
  });

  it('stats the hub state directory', async () => {
    const [row] = await runAttacks({ only: ['secrets-on-disk'] });
    expect(row!.code).toBe(SECRETS_EXPECTED);
    expect(row!.text).toMatch(/registry\.json 0[0-7]{3}/);
  });

  it('selects attacks by name or family and refuses unknown names', () => {
    expect(selectAttacks(['auth']).map((a) => a.name)).toEqual([
      'skip-sasl',
      'sasl-anonymous',
      'sasl-wrong-password',
      'sasl-right-password',
    ]);
    expect(() => selectAttacks(['no-such-attack'])).toThrow(/unknown attack no-such-attack/);
  });
});
