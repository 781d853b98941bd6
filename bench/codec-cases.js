// The codec comparison cases, amqp-one against rhea, shared by the two harnesses that time them:
// bench/codec.js (interleaved samples, medians) and bench/codec-benchmarkjs.js (benchmark.js
// suites). Importing this module builds the fixtures and runs the sanity checks, so neither harness
// can time two implementations that disagree on what they produce.
import { cpus } from 'node:os';
import { createRequire } from 'node:module';

import {
  ByteWriter,
  AmqpSymbol,
  Typed,
  decodeComposite,
  decodeMessage,
  encodeComposite,
  encodeMessage,
  readMessage,
  writeMessage,
} from '../dist/codec/index.js';
import { FRAME_TYPE_AMQP, beginFrame, endFrame } from '../dist/frames/index.js';
import {
  BODY_SIZE,
  CONTENT_TYPE,
  CREATION_TIME,
  DELIVERY_TAG,
  MESSAGE_ID,
  TO,
  amqpOneMessage,
  jsonBody,
  rhea,
  rheaFrames,
  rheaMessage,
} from './fixtures.js';

const require = createRequire(import.meta.url);
const BufferLayout = require('buffer-layout');

// ---------------------------------------------------------------- sanity checks

function fail(msg) {
  console.error(`bench/codec-cases.js: SANITY CHECK FAILED: ${msg}`);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) fail(msg);
}

/** amqp-one's and rhea's decoded values as plain JSON-able data, for comparing content. */
function plain(v) {
  if (v instanceof Typed) return plain(v.value);
  if (v instanceof AmqpSymbol) return v.value;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (v instanceof Map) return plain(Object.fromEntries(v));
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = plain(v[k]);
    return o;
  }
  return v;
}
const same = (a, b) => JSON.stringify(plain(a)) === JSON.stringify(plain(b));

/** What a decoded message must hold, from either library's decoding. */
function checkAmqpOneDecoded(m, body, what) {
  check(m.properties?.messageId === MESSAGE_ID, `${what}: messageId ${m.properties?.messageId}`);
  check(m.properties.to === TO, `${what}: to`);
  check(m.properties.contentType === CONTENT_TYPE, `${what}: contentType`);
  check(m.properties.creationTime?.getTime() === CREATION_TIME.getTime(), `${what}: creationTime`);
  check(Buffer.isBuffer(m.body) && m.body.equals(body), `${what}: body differs`);
  check(m.bodyType === 'data', `${what}: bodyType ${m.bodyType}`);
  check(
    same(m.applicationProperties, amqpOneMessage().applicationProperties),
    `${what}: applicationProperties`,
  );
  check(same(m.messageAnnotations, amqpOneMessage().messageAnnotations), `${what}: messageAnnotations`);
}

function checkRheaDecoded(m, body, what) {
  check(m.message_id === MESSAGE_ID, `${what}: message_id ${m.message_id}`);
  check(m.to === TO, `${what}: to`);
  check(m.content_type === CONTENT_TYPE, `${what}: content_type`);
  check(m.creation_time?.getTime() === CREATION_TIME.getTime(), `${what}: creation_time`);
  check(
    m.body?.typecode === 0x75 && Buffer.isBuffer(m.body.content) && m.body.content.equals(body),
    `${what}: body differs`,
  );
  check(
    same(m.application_properties, amqpOneMessage().applicationProperties),
    `${what}: application_properties`,
  );
  check(same(m.message_annotations, amqpOneMessage().messageAnnotations), `${what}: message_annotations`);
}

// ---------------------------------------------------------------- fixtures

const body = jsonBody();
check(body.length === BODY_SIZE, 'body size');
const oneMsg = amqpOneMessage(body);
const rheaMsg = rheaMessage(body);

const oneBytes = encodeMessage(oneMsg);
const rheaBytes = rhea.message.encode(rheaMsg);

// Each side decodes its own and the other's encoding to the same message.
checkAmqpOneDecoded(decodeMessage(oneBytes), body, 'amqp-one decoding amqp-one');
checkAmqpOneDecoded(decodeMessage(rheaBytes), body, 'amqp-one decoding rhea');
checkRheaDecoded(rhea.message.decode(oneBytes), body, 'rhea decoding amqp-one');
checkRheaDecoded(rhea.message.decode(rheaBytes), body, 'rhea decoding rhea');

// The lazy reader: the same message as the eager decode, and malformed bytes still throw on the
// read itself, before any field is handed out (what lets its figure count as a decode).
checkAmqpOneDecoded(readMessage(oneBytes), body, 'amqp-one lazily reading amqp-one');
checkAmqpOneDecoded(readMessage(rheaBytes), body, 'amqp-one lazily reading rhea');
check(same(readMessage(oneBytes).toMessage(), decodeMessage(oneBytes)), 'readMessage vs decodeMessage');
for (const bad of [
  oneBytes.subarray(0, oneBytes.length - 1),
  Buffer.concat([oneBytes, Buffer.from([0x00])]),
]) {
  let threw;
  try {
    readMessage(bad);
  } catch (e) {
    threw = e;
  }
  check(threw?.name === 'DecodeError', `readMessage of malformed bytes: ${threw ?? 'no error'}`);
}

// 1 MiB data section: both decode amqp-one's encoding; amqp-one must not copy the body.
const bigBody = Buffer.alloc(1 << 20);
for (let i = 0; i < bigBody.length; i++) bigBody[i] = (i * 31 + 7) & 0xff;
const bigBytes = encodeMessage(amqpOneMessage(bigBody));
check(rhea.message.encode(rheaMessage(bigBody)).length > bigBody.length, 'rhea encodes the 1 MiB message');
{
  const m = decodeMessage(bigBytes);
  checkAmqpOneDecoded(m, bigBody, 'amqp-one decoding 1 MiB');
  check(m.body.buffer === bigBytes.buffer, 'amqp-one copied the 1 MiB body (body.buffer !== input.buffer)');
  check(
    m.body.byteOffset >= bigBytes.byteOffset &&
      m.body.byteOffset + m.body.length <= bigBytes.byteOffset + bigBytes.length,
    'amqp-one 1 MiB body is not a view inside the input',
  );
  checkRheaDecoded(rhea.message.decode(bigBytes), bigBody, 'rhea decoding 1 MiB');
}
const rheaBigZeroCopy = rhea.message.decode(bigBytes).body.content.buffer === bigBytes.buffer;

// Transfer frames: amqp-one into one reused ByteWriter; rhea the way session.js + transport.js do it.
const frameWriter = new ByteWriter(4096);
function oneTransferFrame(deliveryId) {
  const w = frameWriter;
  w.reset();
  const start = beginFrame(w, FRAME_TYPE_AMQP, 0);
  encodeComposite(w, {
    type: 'transfer',
    handle: 0,
    deliveryId,
    deliveryTag: DELIVERY_TAG,
    messageFormat: 0,
    settled: true,
  });
  writeMessage(w, oneMsg);
  return endFrame(w, start);
}
function rheaTransferFrame(deliveryId) {
  // lib/link.js Sender.send: message.encode; lib/session.js: frames.transfer(...) with these very
  // fields, then Session.output -> connection._write_frame -> frames.amqp_frame -> transport
  // encode/write -> frames.write_frame.
  const payload = rhea.message.encode(rheaMsg);
  const transfer = rheaFrames.transfer({
    handle: 0,
    message_format: 0,
    delivery_id: deliveryId,
    delivery_tag: DELIVERY_TAG,
    settled: true,
    more: false,
  });
  return rheaFrames.write_frame(rheaFrames.amqp_frame(0, transfer, payload));
}

function parseOneFrame(buf) {
  const size = buf.readUInt32BE(0);
  check(size === buf.length, `frame size ${size} vs ${buf.length}`);
  const doff = buf[4];
  check(buf[5] === 0 && buf.readUInt16BE(6) === 0, 'frame type/channel');
  const { value, offset } = decodeComposite(buf, doff * 4, size);
  return { transfer: value, payload: buf.subarray(offset, size) };
}
{
  const oneFrameLen = oneTransferFrame(77);
  const oneFrame = Buffer.from(frameWriter.view());
  check(oneFrame.length === oneFrameLen, 'endFrame size');
  const rheaFrame = rheaTransferFrame(77);
  for (const [who, f] of [
    ['amqp-one', oneFrame],
    ['rhea', rheaFrame],
  ]) {
    const { transfer, payload } = parseOneFrame(f);
    check(
      transfer.type === 'transfer' && transfer.handle === 0 && transfer.deliveryId === 77,
      `${who} transfer fields`,
    );
    check(transfer.settled === true && transfer.messageFormat === 0, `${who} transfer settled/format`);
    check(Buffer.from(transfer.deliveryTag).equals(DELIVERY_TAG), `${who} delivery tag`);
    checkAmqpOneDecoded(decodeMessage(payload), body, `amqp-one decoding ${who} transfer payload`);
    const rf = rheaFrames.read_frame(f);
    check(rf.performative.delivery_id === 77 && rf.channel === 0, `rhea reading ${who} transfer`);
    checkRheaDecoded(rhea.message.decode(rf.payload), body, `rhea decoding ${who} transfer payload`);
  }
}

// Frame headers: a chunk of 64 back-to-back transfer frames; each op decodes the header at the
// next frame's offset.
const HEADER_FRAMES = 64;
const headerChunk = (() => {
  const parts = [];
  for (let i = 0; i < HEADER_FRAMES; i++) {
    oneTransferFrame(i * 1000);
    parts.push(Buffer.from(frameWriter.view()));
  }
  return Buffer.concat(parts);
})();
const headerOffsets = new Int32Array(HEADER_FRAMES);
for (let i = 0, off = 0; i < HEADER_FRAMES; i++) {
  headerOffsets[i] = off;
  off += headerChunk.readUInt32BE(off);
}
const FrameHeader = BufferLayout.struct([
  BufferLayout.u32be('size'),
  BufferLayout.u8('doff'),
  BufferLayout.u8('type'),
  BufferLayout.u16be('channel'),
]);
function directHeader(b, off) {
  return { size: b.readUInt32BE(off), doff: b[off + 4], type: b[off + 5], channel: b.readUInt16BE(off + 6) };
}
{
  for (let i = 0; i < HEADER_FRAMES; i++) {
    const a = FrameHeader.decode(headerChunk, headerOffsets[i]);
    const b = directHeader(headerChunk, headerOffsets[i]);
    check(
      a.size === b.size && a.doff === b.doff && a.type === b.type && a.channel === b.channel && b.doff === 2,
      'frame header decoders disagree',
    );
  }
}

// ---------------------------------------------------------------- cases

/** rhea decoding the telemetry message n times, reading every field (both all-fields cases). */
function rheaAllFields(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const m = rhea.message.decode(oneBytes);
    const ap = m.application_properties;
    acc +=
      m.message_id.length +
      m.to.length +
      m.content_type.length +
      (m.creation_time.getTime() & 0xff) +
      m.body.content.length;
    acc += ap.deviceId.length + ap.sequence + ap.region.length;
    acc += m.message_annotations['x-opt-partition-key'].length + m.message_annotations['x-opt-enqueued-seq'];
  }
  return acc;
}

// Each case lists its subject first and its baseline second; ratio = subject / baseline.
export const CASES = [
  {
    name: 'telemetry-encode',
    note: 'encodeMessage -> new Buffer vs rhea.message.encode',
    target: 10,
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const b = encodeMessage(oneMsg);
            acc += b.length + b[b.length - 1];
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const b = rhea.message.encode(rheaMsg);
            acc += b.length + b[b.length - 1];
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'telemetry-decode',
    note: 'both decode the same (amqp-one-encoded) bytes; read messageId + body.length',
    target: 10,
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = decodeMessage(oneBytes);
            acc += m.properties.messageId.length + m.body.length;
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = rhea.message.decode(oneBytes);
            acc += m.message_id.length + m.body.content.length;
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'telemetry-read-lazy',
    note: 'amqp-one readMessage (the whole message checked, then only what is read decoded) vs rhea.message.decode; both read messageId, one application property and body.length',
    target: 10,
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = readMessage(oneBytes);
            acc += m.properties.messageId.length + m.applicationProperties.deviceId.length + m.body.length;
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = rhea.message.decode(oneBytes);
            acc += m.message_id.length + m.application_properties.deviceId.length + m.body.content.length;
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'telemetry-read-lazy-all-fields',
    note: 'as telemetry-decode-all-fields, through readMessage: every field read, so laziness only costs here',
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = readMessage(oneBytes);
            const p = m.properties;
            const ap = m.applicationProperties;
            const ma = m.messageAnnotations;
            acc +=
              p.messageId.length +
              p.to.length +
              p.contentType.length +
              (p.creationTime.getTime() & 0xff) +
              m.body.length;
            acc += ap.deviceId.length + ap.sequence + ap.region.length;
            acc += ma['x-opt-partition-key'].length + ma['x-opt-enqueued-seq'];
          }
          return acc;
        },
      },
      { impl: 'rhea', run: rheaAllFields },
    ],
  },
  {
    name: 'telemetry-decode-all-fields',
    note: 'same bytes as telemetry-decode, but the reader touches every field (keeps lazy decoding honest)',
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = decodeMessage(oneBytes);
            const p = m.properties;
            const ap = m.applicationProperties;
            acc +=
              p.messageId.length +
              p.to.length +
              p.contentType.length +
              (p.creationTime.getTime() & 0xff) +
              m.body.length;
            acc += ap.deviceId.length + ap.sequence + ap.region.length;
            acc +=
              m.messageAnnotations['x-opt-partition-key'].length + m.messageAnnotations['x-opt-enqueued-seq'];
          }
          return acc;
        },
      },
      { impl: 'rhea', run: rheaAllFields },
    ],
  },
  {
    name: 'telemetry-decode-rhea-bytes',
    note: 'both decode rhea-encoded bytes (header section, list32/map32, uint app props)',
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = decodeMessage(rheaBytes);
            acc += m.properties.messageId.length + m.body.length;
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = rhea.message.decode(rheaBytes);
            acc += m.message_id.length + m.body.content.length;
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'decode-1mib',
    note: `1 MiB data section; amqp-one zero-copy checked${rheaBigZeroCopy ? ', rhea is zero-copy too' : ', rhea copies'}`,
    impls: [
      {
        impl: 'amqp-one',
        extra: { zeroCopy: true },
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = decodeMessage(bigBytes);
            acc += m.properties.messageId.length + m.body.length + m.body[m.body.length - 1];
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        extra: { zeroCopy: rheaBigZeroCopy },
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const m = rhea.message.decode(bigBytes);
            acc += m.message_id.length + m.body.content.length + m.body.content[m.body.content.length - 1];
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'transfer-encode',
    note: 'amqp-one: beginFrame+transfer+writeMessage+endFrame in one reused ByteWriter; rhea: message.encode+frames.transfer+write_frame',
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            acc += oneTransferFrame(i) + frameWriter.buf[13];
          }
          return acc;
        },
      },
      {
        impl: 'rhea',
        run(n) {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            const f = rheaTransferFrame(i);
            acc += f.length + f[13];
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'frame-header-decode',
    note: '8-byte frame header (size u32be, doff u8, type u8, channel u16be) to an object',
    impls: [
      {
        impl: 'direct',
        run(n) {
          let acc = 0;
          const b = headerChunk;
          for (let i = 0; i < n; i++) {
            const h = directHeader(b, headerOffsets[i & (HEADER_FRAMES - 1)]);
            acc += h.size + h.doff + h.type + h.channel;
          }
          return acc;
        },
      },
      {
        impl: 'buffer-layout',
        run(n) {
          let acc = 0;
          const b = headerChunk;
          for (let i = 0; i < n; i++) {
            const h = FrameHeader.decode(b, headerOffsets[i & (HEADER_FRAMES - 1)]);
            acc += h.size + h.doff + h.type + h.channel;
          }
          return acc;
        },
      },
    ],
  },
  {
    name: 'telemetry-write-reused',
    note: 'amqp-one only: writeMessage into a reused ByteWriter (no copy-out), for comparison with telemetry-encode',
    impls: [
      {
        impl: 'amqp-one',
        run(n) {
          let acc = 0;
          const w = new ByteWriter(1024);
          for (let i = 0; i < n; i++) {
            w.reset();
            writeMessage(w, oneMsg);
            acc += w.pos + w.buf[w.pos - 1];
          }
          return acc;
        },
      },
    ],
  },
];

/** Encoded sizes of the telemetry message, for the harnesses' banners and results. */
export const ENCODED_BYTES = { amqpOne: oneBytes.length, rhea: rheaBytes.length };

/** Prints a table (its first row the header); the columns in `leftAligned` are padded on the right. */
export function printTable(table, leftAligned) {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r) =>
    r.map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log('');
  console.log(line(table[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table.slice(1)) console.log(line(r));
  console.log('');
}

/** The machine line every codec report ends with: how busy it was while measuring. */
export function machineLine(loadBefore, loadAfter) {
  return `  machine: ${cpus().length} CPUs, load average ${loadBefore[0]} before / ${loadAfter[0]} after (a load above the CPU count means the figures are noisy)`;
}
