// A/B harness for codec changes: loads two builds of amqp-one's codec (two dist directories) in
// one process and runs the same operation on both, interleaved, reporting median ops/s and B/A.
//
//   cp -r dist /tmp/dist-before        # before a src change
//   npm run build                      # after it
//   node bench/ab-codec.js decode /tmp/dist-before dist
//
// Operations: encode, write, decode, transfer (see bench/profile-codec.js). Both builds must
// encode the telemetry message to the same bytes and decode it to the same value (set
// AB_NOCHECK=1 to skip the decode comparison, e.g. for a lazy decoder).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { DELIVERY_TAG, amqpOneMessage } from './fixtures.js';

const [op = 'decode', dirA = 'dist', dirB = 'dist'] = process.argv.slice(2);
const SAMPLES = Number(process.env.AB_SAMPLES ?? 11);
const SAMPLE_MS = Number(process.env.AB_SAMPLE_MS ?? 200);

async function load(dir) {
  const base = pathToFileURL(resolve(dir)).href;
  return {
    codec: await import(`${base}/codec/index.js`),
    frames: await import(`${base}/frames/index.js`),
  };
}
const A = await load(dirA);
const B = await load(dirB);

const msg = amqpOneMessage();
const bytes = A.codec.encodeMessage(msg);
if (!B.codec.encodeMessage(msg).equals(bytes))
  throw new Error('the two builds encode the message differently');
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x));
if (
  process.env.AB_NOCHECK !== '1' &&
  json(A.codec.decodeMessage(bytes)) !== json(B.codec.decodeMessage(bytes))
) {
  throw new Error('the two builds decode the message differently');
}

function make({ codec, frames }) {
  const w = new codec.ByteWriter(4096);
  switch (op) {
    case 'encode':
      return (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += codec.encodeMessage(msg).length;
        return acc;
      };
    case 'write':
      return (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          w.reset();
          codec.writeMessage(w, msg);
          acc += w.pos;
        }
        return acc;
      };
    case 'decode':
      return (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          const m = codec.decodeMessage(bytes);
          acc += m.properties.messageId.length + m.body.length;
        }
        return acc;
      };
    case 'transfer':
      return (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          w.reset();
          const start = frames.beginFrame(w, frames.FRAME_TYPE_AMQP, 0);
          codec.encodeComposite(w, {
            type: 'transfer',
            handle: 0,
            deliveryId: i,
            deliveryTag: DELIVERY_TAG,
            messageFormat: 0,
            settled: true,
          });
          codec.writeMessage(w, msg);
          acc += frames.endFrame(w, start);
        }
        return acc;
      };
    default:
      throw new Error(`unknown op ${op}: encode, write, decode or transfer`);
  }
}

let sink = 0;
function sample(f, ms) {
  let ops = 0;
  const t0 = performance.now();
  let t;
  do {
    sink = (sink + f(1000)) | 0;
    ops += 1000;
    t = performance.now();
  } while (t - t0 < ms);
  return (ops * 1000) / (t - t0);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const fa = make(A);
const fb = make(B);
sample(fa, 500);
sample(fb, 500);
const sa = [];
const sb = [];
for (let s = 0; s < SAMPLES; s++) {
  if (s % 2) {
    sa.push(sample(fa, SAMPLE_MS));
    sb.push(sample(fb, SAMPLE_MS));
  } else {
    sb.push(sample(fb, SAMPLE_MS));
    sa.push(sample(fa, SAMPLE_MS));
  }
}
const ma = median(sa);
const mb = median(sb);
console.log(
  JSON.stringify({
    op,
    a: dirA,
    b: dirB,
    aOpsPerSec: Math.round(ma),
    bOpsPerSec: Math.round(mb),
    ratio: Number((mb / ma).toFixed(2)),
    sink,
  }),
);
