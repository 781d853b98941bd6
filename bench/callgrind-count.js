// The instruction count of one node run under valgrind's callgrind, for bench/callgrind-codec.js
// and bench/callgrind-send.js. Node runs with --single-threaded (no concurrent compiler or GC
// threads) and fixed hash and random seeds, so that a count repeats from run to run.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODE_FLAGS = ['--single-threaded', '--hash-seed=1', '--random-seed=1'];

/** Instructions callgrind counts for `node <script> ...args`. Needs valgrind on the PATH. */
export function callgrindCount(script, args) {
  const out = join(tmpdir(), `callgrind-count-${process.pid}.out`);
  const r = spawnSync(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, script, ...args],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`valgrind failed (${r.status}): ${r.stderr.slice(-500)}`);
  const summary = readFileSync(out, 'utf8').match(/^summary: (\d+)/m);
  rmSync(out, { force: true });
  if (!summary) throw new Error('no summary line in the callgrind output');
  return Number(summary[1]);
}
