// Profiling driver: runs one amqp-one codec operation in a tight loop, for `node --cpu-prof`.
//
//   node --cpu-prof --cpu-prof-dir=bench/results/prof bench/profile-codec.js decode 5
//   node bench/cpuprofile-summary.js bench/results/prof/<file>.cpuprofile
//
// Operations: encode (encodeMessage), write (writeMessage into a reused ByteWriter), decode
// (decodeMessage), transfer (transfer frame into a reused ByteWriter).
import {
  ByteWriter,
  decodeMessage,
  encodeComposite,
  encodeMessage,
  writeMessage,
} from '../dist/codec/index.js';
import { FRAME_TYPE_AMQP, beginFrame, endFrame } from '../dist/frames/index.js';
import { DELIVERY_TAG, amqpOneMessage } from './fixtures.js';

const op = process.argv[2] ?? 'decode';
const seconds = Number(process.argv[3] ?? 5);
const msg = amqpOneMessage();
const bytes = encodeMessage(msg);
const w = new ByteWriter(4096);

const ops = {
  encode() {
    const b = encodeMessage(msg);
    return b.length;
  },
  write() {
    w.reset();
    writeMessage(w, msg);
    return w.pos;
  },
  decode() {
    const m = decodeMessage(bytes);
    return m.properties.messageId.length + m.body.length;
  },
  transfer(i) {
    w.reset();
    const start = beginFrame(w, FRAME_TYPE_AMQP, 0);
    encodeComposite(w, {
      type: 'transfer',
      handle: 0,
      deliveryId: i,
      deliveryTag: DELIVERY_TAG,
      messageFormat: 0,
      settled: true,
    });
    writeMessage(w, msg);
    return endFrame(w, start);
  },
};
const fn = ops[op];
if (!fn) throw new Error(`unknown op ${op}; one of ${Object.keys(ops).join(', ')}`);

let acc = 0;
let n = 0;
const t0 = performance.now();
const until = t0 + seconds * 1000;
while (performance.now() < until) {
  for (let i = 0; i < 10000; i++) acc += fn(i);
  n += 10000;
}
const dt = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ op, opsPerSec: Math.round(n / dt), checksum: acc }));
