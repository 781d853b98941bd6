/**
 * Runs a scenario of the official Azure SDKs in a child node process: NODE_EXTRA_CA_CERTS (the only
 * way to make azure-iothub and event-hubs trust the emulator's CA) is read at process start, so it
 * cannot be set in the test process. Every child has a hard timeout (runCommand kills its process
 * group). The script prints `RESULT <json>` as its last line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, runCommand, type RunResult } from '../../interop/support/peers.js';

export interface ScenarioResult<T> {
  result: T;
  run: RunResult;
}

/**
 * `body` is the inside of an async function with `require` (resolving from the repository),
 * `input` (the JSON given) and `done(value)` (prints the result) in scope.
 */
export async function runSdkScenario<T>(
  body: string,
  input: unknown,
  opts: { caFile?: string; timeoutMs?: number } = {},
): Promise<ScenarioResult<T>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amqp-one-sdk-'));
  const file = path.join(dir, 'scenario.cjs');
  const script = `
'use strict';
const { createRequire } = require('node:module');
const require2 = createRequire(${JSON.stringify(path.join(REPO_ROOT, 'package.json'))});
const input = ${JSON.stringify(input)};
const done = (v) => { process.stdout.write('\\nRESULT ' + JSON.stringify(v) + '\\n'); process.exit(0); };
process.on('unhandledRejection', (e) => { console.error('unhandled', e); process.exit(3); });
(async (require) => {
${body}
})(require2).catch((e) => { console.error('scenario failed:', e && (e.stack || e)); process.exit(2); });
`;
  await writeFile(file, script);
  try {
    const env: NodeJS.ProcessEnv = { NODE_OPTIONS: '' };
    if (opts.caFile) env.NODE_EXTRA_CA_CERTS = opts.caFile;
    const run = await runCommand(process.execPath, [file], { timeoutMs: opts.timeoutMs ?? 45_000, env });
    const line = run.stdout
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('RESULT '));
    if (run.timedOut || run.code !== 0 || !line)
      throw new Error(
        `SDK scenario ${run.timedOut ? 'timed out' : `exited ${run.code}`} after ${run.durationMs} ms:\n${run.output.slice(-6000)}`,
      );
    return { result: JSON.parse(line.slice(7)) as T, run };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
