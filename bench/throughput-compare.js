// A/B of amqp-one builds on the end-to-end throughput benchmark: the same amqp-one -> amqp-one runs
// with each build, interleaved (A B C, C B A, ...), medians side by side. Use it to check that a
// change to src/ pays: copy dist/ aside before the change, rebuild, compare.
//
//   cp -r dist /tmp/before && (change src) && npm run build
//   BUILDS=before=/tmp/before,after=dist node bench/throughput-compare.js
//
// Also: MODES=presettled,unsettled (default both), BENCH_REPS (default 5) and every BENCH_* knob of
// bench/throughput.js. CPU us/msg (per process, over the measured interval) is the steadier figure
// on a busy machine; msgs/s is what a user sees.
import { median, round2, runOnce, settings } from './throughput-run.js';

const env = process.env;
const builds = (env.BUILDS ?? `current=${settings.dist ?? 'dist'}`).split(',').map((b) => {
  const [name, dir] = b.includes('=') ? b.split('=') : [b, b];
  return { name, dir };
});
const modes = (env.MODES ?? 'presettled,unsettled').split(',');
const reps = Number(env.BENCH_REPS ?? 5);

const runs = new Map();
for (let rep = 1; rep <= reps; rep++) {
  const order = rep % 2 ? builds : [...builds].reverse();
  for (const mode of modes) {
    for (const b of order) {
      const r = await runOnce({ impl: 'amqp-one', mode }, { dist: b.dir });
      const key = `${b.name} ${mode}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push(r);
      console.log(
        JSON.stringify({
          kind: 'run',
          build: b.name,
          rep,
          mode,
          msgsPerSec: r.msgsPerSec,
          senderUsPerMsg: r.senderUsPerMsg,
          receiverUsPerMsg: r.receiverUsPerMsg,
          loadAvg1m: r.loadAvg1m,
          ...(r.senderGc ? { senderGc: r.senderGc, receiverGc: r.receiverGc } : {}),
        }),
      );
    }
  }
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log('');
console.log(
  `${pad('build / mode', 28)}${lpad('msgs/s', 10)}${lpad('vs 1st', 8)}${lpad('snd us/msg', 12)}${lpad('vs 1st', 8)}${lpad('rcv us/msg', 12)}`,
);
for (const mode of modes) {
  let base;
  for (const b of builds) {
    const rs = runs.get(`${b.name} ${mode}`);
    const m = {
      rate: median(rs.map((r) => r.msgsPerSec)),
      snd: median(rs.map((r) => r.senderUsPerMsg)),
      rcv: median(rs.map((r) => r.receiverUsPerMsg)),
    };
    base ??= m;
    console.log(
      `${pad(`${b.name} ${mode}`, 28)}${lpad(Math.round(m.rate), 10)}${lpad(`${round2(m.rate / base.rate)}x`, 8)}` +
        `${lpad(m.snd.toFixed(2), 12)}${lpad(`${round2(m.snd / base.snd)}x`, 8)}${lpad(m.rcv.toFixed(2), 12)}`,
    );
    console.log(JSON.stringify({ kind: 'build', build: b.name, dir: b.dir, mode, ...m }));
  }
}
