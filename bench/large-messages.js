// Large messages peer to peer: one message of 1 MiB, 16 MiB and 256 MiB, sender and receiver in
// two processes over loopback TCP. amqp-one streams both ways (the sender's sendStream from a
// generator of 64 KiB chunks with the length given, the receiver's openStreamingReceiver with its
// default window of 16 frames); rhea, which has no streaming API, sends and receives the message
// whole. Reported per run: MB/s (10^6 bytes, from the receiver's credit to its last byte) and each
// process's RSS when idle (listening or connected, before the transfer) and its peak (maxRSS).
//
//   npm run bench:large
//   BENCH_SIZES=1,16 node bench/large-messages.js     sizes in MiB (default 1,16,256)
//   BENCH_REPS=1                                      runs per case (default 3; 256 MiB runs once)
//   BENCH_RHEA_MAX=256                                largest size rhea runs (default 16 MiB: it
//                                                     holds the whole message, several times over)
//
// Output: one JSON line per run, then a table; also bench/results/large-messages-latest.json.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const env = process.env;
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

const [role, impl, sizeArg, portArg] = process.argv.slice(2);
if (role === 'sender') await sender(impl, Number(sizeArg));
else if (role === 'receiver') await receiver(impl, Number(sizeArg), Number(portArg));
else await main();

function rss() {
  return process.memoryUsage().rss;
}

function peakRss() {
  return process.resourceUsage().maxRSS * 1024;
}

function report(o) {
  process.send(o);
}

/** The body, produced as it is sent: 64 KiB chunks, each fresh (the sender keeps them until written). */
function* body(size) {
  for (let sent = 0; sent < size; sent += CHUNK) {
    const n = Math.min(CHUNK, size - sent);
    yield Buffer.allocUnsafe(n).fill(sent / CHUNK);
  }
}

async function sender(impl, size) {
  if (impl === 'amqp-one') {
    const { listen } = await import('../dist/index.js');
    let idle = 0;
    const server = await listen({
      port: 0,
      host: '127.0.0.1',
      sasl: { anonymous: true },
      onLink(l) {
        if (l.role !== 'sender')
          return l.refuse({ condition: 'amqp:not-allowed', description: 'sender only' });
        const s = l.acceptSender();
        s.sendStream(body(size), { length: size }).then(
          (outcome) => report({ done: true, outcome: outcome?.type, idleRss: idle, peakRss: peakRss() }),
          (e) => report({ error: String(e) }),
        );
      },
    });
    idle = rss();
    report({ port: server.port });
    return;
  }
  const rhea = createRequire(import.meta.url)('rhea');
  const c = rhea.create_container({ id: 'rhea-large-sender' });
  c.sasl_server_mechanisms.enable_anonymous();
  let idle = 0;
  let sent = false;
  c.on('sender_open', (ctx) => ctx.sender.set_source({ address: ctx.sender.remote.attach.source?.address }));
  c.on('sendable', (ctx) => {
    if (sent) return;
    sent = true;
    ctx.sender.send({ body: rhea.message.data_section(Buffer.concat([...body(size)])) });
  });
  c.on('accepted', () => report({ done: true, outcome: 'accepted', idleRss: idle, peakRss: peakRss() }));
  const listener = c.listen({ port: 0, host: '127.0.0.1' });
  listener.once('listening', () => {
    idle = rss();
    report({ port: listener.address().port });
  });
}

async function receiver(impl, size, port) {
  if (impl === 'amqp-one') {
    const { connect } = await import('../dist/index.js');
    const conn = await connect({ host: '127.0.0.1', port });
    const r = await conn.openStreamingReceiver({ address: 'big' });
    const idle = rss();
    const t0 = performance.now();
    const m = await r.receive();
    let n = 0;
    for await (const chunk of m.body) n += chunk.length;
    const ms = performance.now() - t0;
    m.accept();
    report({ done: true, bytes: n, ms, idleRss: idle, peakRss: peakRss() });
    await conn.close();
    return;
  }
  const rhea = createRequire(import.meta.url)('rhea');
  const c = rhea.create_container({ id: 'rhea-large-receiver' });
  let idle = 0;
  let t0 = 0;
  c.on('receiver_open', () => {
    idle = rss();
    t0 = performance.now();
  });
  c.on('message', (ctx) => {
    const ms = performance.now() - t0;
    const n = ctx.message.body.content.length;
    ctx.delivery.accept();
    report({ done: true, bytes: n, ms, idleRss: idle, peakRss: peakRss() });
    setTimeout(() => ctx.connection.close(), 50);
  });
  const conn = c.connect({ host: '127.0.0.1', port });
  conn.open_receiver('big');
}

/** One run: the sender listens, the receiver connects; both report. */
function runOnce(impl, size) {
  return new Promise((resolve, reject) => {
    const me = fileURLToPath(import.meta.url);
    const s = fork(me, ['sender', impl, String(size)], { stdio: 'inherit' });
    let rcv;
    const results = {};
    const timer = setTimeout(() => fail(new Error('run timed out')), Number(env.BENCH_TIMEOUT_MS ?? 600_000));
    const fail = (e) => {
      clearTimeout(timer);
      s.kill();
      rcv?.kill();
      reject(e);
    };
    const check = () => {
      if (!results.sender || !results.receiver) return;
      clearTimeout(timer);
      s.kill();
      rcv.kill();
      resolve(results);
    };
    s.on('message', (m) => {
      if (m.error) return fail(new Error(`sender: ${m.error}`));
      if (m.port) {
        rcv = fork(me, ['receiver', impl, String(size), String(m.port)], { stdio: 'inherit' });
        rcv.on('message', (r) => {
          if (r.error) return fail(new Error(`receiver: ${r.error}`));
          results.receiver = r;
          check();
        });
        return;
      }
      results.sender = m;
      check();
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const sizes = (env.BENCH_SIZES ?? '1,16,256').split(',').map(Number);
  const reps = Number(env.BENCH_REPS ?? 3);
  const rheaMax = Number(env.BENCH_RHEA_MAX ?? 16);
  const load = { before: loadavg() };
  const rows = [];
  for (const mib of sizes) {
    const impls = mib <= rheaMax ? ['amqp-one', 'rhea'] : ['amqp-one'];
    const runs = new Map(impls.map((i) => [i, []]));
    const n = mib >= 256 ? 1 : reps;
    for (let rep = 0; rep < n; rep++) {
      for (const impl of rep % 2 ? [...impls].reverse() : impls) {
        const r = await runOnce(impl, mib * MiB);
        const line = {
          impl,
          mib,
          mbPerS: (mib * MiB) / 1e6 / (r.receiver.ms / 1000),
          senderOverIdleMiB: (r.sender.peakRss - r.sender.idleRss) / MiB,
          receiverOverIdleMiB: (r.receiver.peakRss - r.receiver.idleRss) / MiB,
          senderPeakMiB: r.sender.peakRss / MiB,
          receiverPeakMiB: r.receiver.peakRss / MiB,
          bytes: r.receiver.bytes,
        };
        if (line.bytes !== mib * MiB)
          throw new Error(`${impl}: received ${line.bytes} bytes of ${mib * MiB}`);
        console.log(JSON.stringify(line));
        runs.get(impl).push(line);
      }
    }
    for (const [impl, rs] of runs) {
      rows.push({
        impl,
        mib,
        runs: rs.length,
        mbPerS: median(rs.map((r) => r.mbPerS)),
        senderOverIdleMiB: Math.max(...rs.map((r) => r.senderOverIdleMiB)),
        receiverOverIdleMiB: Math.max(...rs.map((r) => r.receiverOverIdleMiB)),
      });
    }
  }
  load.after = loadavg();
  console.log(
    `\nlarge messages, peer to peer (${cpus().length} CPUs, Node ${process.version}, load ${load.before[0].toFixed(2)} -> ${load.after[0].toFixed(2)})`,
  );
  console.log(
    'size     impl       MB/s (median)  sender peak-idle MiB  receiver peak-idle MiB  (max over runs)',
  );
  for (const r of rows) {
    console.log(
      `${String(r.mib).padStart(4)} MiB ${r.impl.padEnd(10)} ${r.mbPerS.toFixed(1).padStart(13)}  ${r.senderOverIdleMiB.toFixed(1).padStart(20)}  ${r.receiverOverIdleMiB.toFixed(1).padStart(22)}`,
    );
  }
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'large-messages-latest.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, load, rows }, null, 2) + '\n',
  );
}
