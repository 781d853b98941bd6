/**
 * Qpid Proton's fuzz corpora (../shared/fuzz/qpid-proton, see its README): every input into our
 * engine, in the state Proton's own fuzz target used. No throw; the engine ends still working or
 * closed with an AMQP condition.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import {
  ENGINE_WORK_LIMIT,
  EngineDriver,
  engineWorkMeter,
  fuzzClientReceiver,
  fuzzServer,
  type Verdict,
} from './fuzz-harness.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const root = resolve(repo, '../shared/fuzz/qpid-proton');

function inputs(target: string, kind: 'corpus' | 'crash'): { name: string; bytes: Buffer }[] {
  const dir = join(root, target, kind);
  if (!existsSync(dir))
    throw new Error(`Proton fuzz corpus missing: ${dir} (see ../shared/fuzz/qpid-proton/README.md)`);
  const files = readdirSync(dir).sort();
  if (files.length === 0) throw new Error(`Proton fuzz corpus is empty: ${dir}`);
  return files.map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

const meter = engineWorkMeter();

/**
 * Runs every input; returns how many ended in each verdict (and with each condition), which the
 * tests compare with the record in __snapshots__/: a change in how the engine meets these
 * inputs shows there.
 */
function run(
  label: string,
  files: { name: string; bytes: Buffer; chunks?: Buffer[] }[],
  make: () => { engine: Connection; driver: EngineDriver },
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { name, bytes, chunks } of files) {
    const r = meter.run(() => {
      const { engine, driver } = make();
      // Whole, as Proton feeds it (unless split); the driver answers and ticks like an application.
      for (const c of chunks ?? [bytes]) driver.feed(c);
      const c = engine.error?.condition;
      const v: Verdict = driver.finish();
      return c ? `${v} ${c}` : v;
    }, ENGINE_WORK_LIMIT);
    if (!r.ok) throw new Error(`${label}/${name}: ${(r.error as Error).stack}`);
    counts[r.value] = (counts[r.value] ?? 0) + 1;
  }
  console.log(`${label}: ${files.length} inputs; ${JSON.stringify(counts)}`);
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe("Qpid Proton's fuzz corpora", () => {
  test.each(['corpus', 'crash'] as const)(
    'fuzz-connection-driver/%s into a client with a receiver',
    (kind) => {
      const label = `fuzz-connection-driver/${kind}`;
      expect(run(label, inputs('fuzz-connection-driver', kind), fuzzClientReceiver)).toMatchSnapshot();
    },
  );

  test.each(['corpus', 'crash'] as const)('fuzz-proactor-receive/%s into a fresh server', (kind) => {
    const label = `fuzz-proactor-receive/${kind}`;
    const verdicts = run(label, inputs('fuzz-proactor-receive', kind), () => {
      const engine = fuzzServer();
      return { engine, driver: new EngineDriver(engine) };
    });
    expect(verdicts).toMatchSnapshot();
  });

  test('fuzz-proactor-receive (a broker side of a conversation) also into the client with a receiver', () => {
    const files = [...inputs('fuzz-proactor-receive', 'corpus'), ...inputs('fuzz-proactor-receive', 'crash')];
    expect(run('fuzz-proactor-receive/all -> client', files, fuzzClientReceiver)).toMatchSnapshot();
  });

  test('the connection-driver inputs also into a fresh server, split in 7-byte chunks', () => {
    const files = [
      ...inputs('fuzz-connection-driver', 'corpus'),
      ...inputs('fuzz-connection-driver', 'crash'),
    ];
    const split = (bytes: Buffer): Buffer[] =>
      Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const verdicts = run(
      'fuzz-connection-driver/all -> server, 7-byte chunks',
      files.map((f) => ({ ...f, chunks: split(f.bytes) })),
      () => {
        const engine = fuzzServer();
        return { engine, driver: new EngineDriver(engine) };
      },
    );
    expect(verdicts).toMatchSnapshot();
  });
});
