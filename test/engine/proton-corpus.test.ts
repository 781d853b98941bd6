/**
 * Qpid Proton's fuzz corpora (../shared/fuzz/qpid-proton, see its README): every input into our
 * engine, in the state Proton's own fuzz target used. No throw; the engine ends still working or
 * closed with an AMQP condition.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { Connection } from '../../src/connection/connection.js';
import { EngineDriver, fuzzClientReceiver, fuzzServer, type Verdict } from './fuzz-harness.js';

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

function run(
  label: string,
  files: { name: string; bytes: Buffer }[],
  make: () => { engine: Connection; driver: EngineDriver },
): void {
  const counts: Record<Verdict, number> = { working: 0, 'closed-by-peer': 0, 'closed-with-condition': 0 };
  const conditions = new Map<string, number>();
  for (const { name, bytes } of files) {
    const t0 = performance.now();
    try {
      const { engine, driver } = make();
      // Whole, as Proton feeds it; the driver answers and ticks like an application would.
      driver.feed(bytes);
      const c = engine.error?.condition;
      const v = driver.finish();
      counts[v]++;
      if (c) conditions.set(c, (conditions.get(c) ?? 0) + 1);
    } catch (e) {
      throw new Error(`${label}/${name}: ${(e as Error).stack}`);
    }
    expect(performance.now() - t0, `${label}/${name} took too long`).toBeLessThan(2000);
  }
  const byCondition = [...conditions]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c}=${n}`)
    .join(' ');
  console.log(
    `${label}: ${files.length} inputs; working ${counts.working}, closed by peer ${counts['closed-by-peer']}, closed with a condition ${counts['closed-with-condition']} (${byCondition})`,
  );
  expect(counts.working + counts['closed-by-peer'] + counts['closed-with-condition']).toBe(files.length);
}

describe("Qpid Proton's fuzz corpora", () => {
  test.each(['corpus', 'crash'] as const)(
    'fuzz-connection-driver/%s into a client with a receiver',
    (kind) => {
      run(`fuzz-connection-driver/${kind}`, inputs('fuzz-connection-driver', kind), fuzzClientReceiver);
    },
  );

  test.each(['corpus', 'crash'] as const)('fuzz-proactor-receive/%s into a fresh server', (kind) => {
    run(`fuzz-proactor-receive/${kind}`, inputs('fuzz-proactor-receive', kind), () => {
      const engine = fuzzServer();
      return { engine, driver: new EngineDriver(engine) };
    });
  });

  test('fuzz-proactor-receive (a broker side of a conversation) also into the client with a receiver', () => {
    const files = [...inputs('fuzz-proactor-receive', 'corpus'), ...inputs('fuzz-proactor-receive', 'crash')];
    run('fuzz-proactor-receive/all -> client', files, fuzzClientReceiver);
  });

  test('the connection-driver inputs also into a fresh server, split in 7-byte chunks', () => {
    const files = [
      ...inputs('fuzz-connection-driver', 'corpus'),
      ...inputs('fuzz-connection-driver', 'crash'),
    ];
    let n = 0;
    for (const { name, bytes } of files) {
      const engine = fuzzServer();
      const driver = new EngineDriver(engine);
      try {
        for (let i = 0; i < bytes.length; i += 7) driver.feed(bytes.subarray(i, i + 7));
        driver.finish();
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).stack}`);
      }
      n++;
    }
    expect(n).toBe(files.length);
  });
});
