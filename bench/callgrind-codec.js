// Instructions per codec operation, counted by valgrind's callgrind: unlike a rate, the count does
// not move with the machine's load, so two builds can be compared on a busy machine.
//
//   node bench/callgrind-codec.js encode /tmp/dist-before dist
//
// For each build it runs the operation N1 and N2 times (CG_N1, CG_N2: 20,000 and 220,000) in
// `node --single-threaded` (no concurrent compiler or GC threads, so a count repeats within 0.05 %)
// under callgrind, and reports (count(N2) - count(N1)) / (N2 - N1): start-up and warm-up cancel out.
// Operations: encode, decode, transfer (as in bench/ab-codec.js), read (readMessage, then the
// message id, one application property and the body, as codec-cases.js telemetry-read-lazy), and
// check (readMessage alone: the up-front check).
// Needs valgrind on the PATH.
//
// To see where the instructions go, run one child by hand with V8's symbols:
//   valgrind --tool=callgrind node --single-threaded --no-short-builtin-calls --perf-basic-prof \
//     bench/callgrind-codec.js --child encode dist 220000
// then match callgrind_annotate's `???:0x...` addresses against /tmp/perf-<pid>.map.
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { callgrindCount } from './callgrind-count.js';

import { DELIVERY_TAG, amqpOneMessage } from './fixtures.js';

async function child(op, dir, n) {
  const base = pathToFileURL(resolve(dir)).href;
  const codec = await import(`${base}/codec/index.js`);
  const frames = await import(`${base}/frames/index.js`);
  const msg = amqpOneMessage();
  const bytes = codec.encodeMessage(msg);
  const w = new codec.ByteWriter(4096);
  const ops = {
    encode: () => codec.encodeMessage(msg).length,
    decode: () => codec.decodeMessage(bytes).body.length,
    // As the telemetry-read-lazy case of codec-cases.js: the id, one application property, the body.
    read: () => {
      const m = codec.readMessage(bytes);
      return m.properties.messageId.length + m.applicationProperties.deviceId.length + m.body.length;
    },
    // readMessage alone: its up-front check and the view, nothing read.
    check: () => (codec.readMessage(bytes) === undefined ? 0 : 1),
    transfer: () => {
      w.reset();
      const start = frames.beginFrame(w, frames.FRAME_TYPE_AMQP, 0);
      codec.encodeComposite(w, {
        type: 'transfer',
        handle: 0,
        deliveryId: 7,
        deliveryTag: DELIVERY_TAG,
        messageFormat: 0,
        settled: true,
      });
      codec.writeMessage(w, msg);
      return frames.endFrame(w, start);
    },
  };
  const f = ops[op];
  if (!f) throw new Error(`unknown op ${op}: encode, decode, read, check or transfer`);
  let acc = 0;
  for (let i = 0; i < n; i++) acc += f();
  console.log(JSON.stringify({ op, dir, n, acc }));
}

/** Instructions of one child run under callgrind. */
function count(op, dir, n) {
  return callgrindCount(fileURLToPath(import.meta.url), ['--child', op, dir, String(n)]);
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await child(args[1], args[2], Number(args[3]));
} else {
  const [op = 'encode', ...dirs] = args;
  const n1 = Number(process.env.CG_N1 ?? 20000);
  const n2 = Number(process.env.CG_N2 ?? 220000);
  for (const dir of dirs.length ? dirs : ['dist']) {
    const c1 = count(op, dir, n1);
    const c2 = count(op, dir, n2);
    const perOp = Math.round((c2 - c1) / (n2 - n1));
    console.log(JSON.stringify({ op, dir, n1, n2, instructions1: c1, instructions2: c2, perOp }));
  }
}
