/** Runs the built CLI (dist/cli/main.js) as a child process, as a user's shell would. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(__dirname, '../../dist/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `amqp-one ...args` with `env` over this process's environment. A child still running after
 * `killAfterMs` is killed (its code is then null), so a hang fails the test instead of stalling it.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, killAfterMs = 20_000): Promise<CliRun> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** The JSON objects of `--json` output, one per line. */
export function jsonLines(s: string): Record<string, unknown>[] {
  return s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
