// Instructions per message through a whole connection, counted by valgrind's callgrind: a sender
// and a receiver in one process over loopback TCP, the telemetry message, 4,096 sends in flight.
// Unlike a rate, the count hardly moves with the machine's load, so two send paths (or two builds)
// can be compared on a busy machine. It counts both ends and the kernel calls' user side, not the
// split between them: bench:proton-c gives that.
//
//   node bench/callgrind-send.js                       post and promise, both modes, dist/
//   node bench/callgrind-send.js post unsettled dist /tmp/dist-before
//
// For each case it runs N1 and N2 messages (CG_N1, CG_N2: 20,000 and 120,000) under callgrind in
// `node --single-threaded` and reports (count(N2) - count(N1)) / (N2 - N1), so start-up and JIT
// warm-up cancel out. The batching of socket reads and writes varies from run to run, so a count
// repeats within about 5 %, not exactly: compare medians of a few runs (CG_REPS, default 1).
// Needs valgrind on the PATH.
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { callgrindCount } from './callgrind-count.js';

const WINDOW = 4096;

/** Sends `n` telemetry messages with post() or send() and waits for every outcome (or arrival). */
async function child(api, mode, dir, n) {
  const base = pathToFileURL(resolve(dir)).href;
  const { connect } = await import(`${base}/client/index.js`);
  const { listen } = await import(`${base}/server/index.js`);
  const { telemetryMessage } = await import(`${base}/bench/telemetry.js`);
  const presettled = mode === 'presettled';
  let arrived = 0;
  let finished;
  const all = new Promise((r) => (finished = r));
  const server = await listen({
    port: 0,
    sasl: { anonymous: true },
    onLink(l) {
      const r = l.acceptReceiver({ credit: 1000 });
      void (async () => {
        for await (const m of r) {
          if (!m.settled) m.accept();
          if (++arrived === n && presettled) finished();
        }
      })();
    },
  });
  const conn = await connect({ host: '127.0.0.1', port: server.port });
  const sender = await conn.openSender({ address: 'q', presettled });
  const message = telemetryMessage();
  let done = 0;
  let wake;
  const tick = () => {
    if (++done === n && !presettled) finished();
    if (wake !== undefined && sender.pending <= WINDOW >> 1) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const fail = (e) => {
    console.error('send failed:', e);
    process.exit(2);
  };
  const posted = (err) => (err === undefined ? tick() : fail(err));
  let sent = 0;
  while (sent < n) {
    await sender.ready();
    for (let room = WINDOW - sender.pending; room > 0 && sent < n; room--, sent++) {
      if (api === 'post') sender.post(message, posted);
      else sender.send(message).then(tick, fail);
    }
    if (sent < n && sender.pending >= WINDOW) await new Promise((r) => (wake = r));
  }
  await all;
  await conn.close();
  await server.close();
  console.log(JSON.stringify({ api, mode, n, arrived, done }));
}

/** Instructions of one child run under callgrind. */
function count(api, mode, dir, n) {
  return callgrindCount(fileURLToPath(import.meta.url), ['--child', api, mode, dir, String(n)]);
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await child(args[1], args[2], args[3], Number(args[4]));
} else {
  const [apiArg, modeArg, ...dirs] = args;
  const n1 = Number(process.env.CG_N1 ?? 20000);
  const n2 = Number(process.env.CG_N2 ?? 120000);
  const reps = Number(process.env.CG_REPS ?? 1);
  for (const mode of modeArg ? [modeArg] : ['presettled', 'unsettled']) {
    for (const dir of dirs.length ? dirs : ['dist']) {
      // The two send paths alternate, so a slow stretch of the machine does not fall on one.
      for (let rep = 0; rep < reps; rep++) {
        for (const api of apiArg ? [apiArg] : ['promise', 'post']) {
          const perMessage = Math.round((count(api, mode, dir, n2) - count(api, mode, dir, n1)) / (n2 - n1));
          console.log(JSON.stringify({ api, mode, dir, n1, n2, perMessage }));
        }
      }
    }
  }
}
