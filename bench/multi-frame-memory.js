// Memory cost of one message split into tiny transfer frames: a server engine receives a 1 MB
// message in 1-byte frames (fed in 64 KiB chunks, as a socket would), and the heap and RSS growth
// while the message is in flight are reported per payload byte.
//
//   npm run build && node --expose-gc bench/multi-frame-memory.js [bytes=1048576] [frame=1]
import { ByteWriter } from '../dist/codec/byte-writer.js';
import { encodeComposite } from '../dist/codec/composite.js';
import { Connection } from '../dist/connection/connection.js';
import { beginFrame, endFrame } from '../dist/frames/frame-writer.js';
import { writeProtocolHeader } from '../dist/frames/protocol-header.js';
import { Role } from '../dist/link/link.js';

const total = Number(process.argv[2] ?? 1024 * 1024);
const per = Number(process.argv[3] ?? 1);
const gc = globalThis.gc ?? (() => undefined);

// A window as wide as the message: this script does not read the engine's flows.
const engine = new Connection({
  role: 'server',
  containerId: 'server',
  sessionDefaults: { incomingWindow: 0x7fffffff },
});
engine.tick(0);
const w = new ByteWriter(1 << 17);
const frame = (rec, payload) => {
  const start = beginFrame(w, 0, 0);
  encodeComposite(w, rec);
  if (payload) w.bytes(payload);
  endFrame(w, start);
};
// Fed as a socket would: one fresh chunk at a time (a frame's payload view pins its chunk).
const feed = () => {
  engine.receive(w.copy());
  w.reset();
};
writeProtocolHeader(w, 0);
frame({ type: 'open', containerId: 'peer' });
frame({ type: 'begin', nextOutgoingId: 0, incomingWindow: 0x7fffffff, outgoingWindow: 0x7fffffff });
frame({
  type: 'attach',
  name: 'l',
  handle: 0,
  role: Role.Sender,
  initialDeliveryCount: 0,
  target: { type: 'target', address: 'q' },
});
feed();
for (const e of engine.takeEvents()) {
  if (e.type === 'connection-remote-open') engine.open();
  if (e.type === 'session-remote-open') e.session.begin();
  if (e.type === 'link-remote-open') {
    e.link.attach();
    e.link.setCredit(10);
  }
}
engine.takeOutput();

gc();
const before = process.memoryUsage();
const piece = Buffer.alloc(per, 0x61);
let sent = 0;
for (let id = 0; sent < total; id++) {
  const n = Math.min(per, total - sent);
  sent += n;
  const last = sent === total;
  frame(
    {
      type: 'transfer',
      handle: 0,
      deliveryId: id === 0 ? 0 : undefined,
      deliveryTag: id === 0 ? Buffer.from([1]) : undefined,
      more: !last,
    },
    n === per ? piece : piece.subarray(0, n),
  );
  if (w.pos >= 65536) feed();
  // Every frame but the last is in: the message is fully buffered and not yet complete.
  if (sent + per >= total && !last) {
    feed();
    gc();
  }
}
const during = process.memoryUsage();
feed();
const delivered = engine.takeEvents().filter((e) => e.type === 'delivery');
const mb = (x) => (x / 1048576).toFixed(1);
const perByte = (a, b) => ((a - b) / total).toFixed(1);
console.log(
  `${total} bytes in ${per}-byte frames: heapUsed +${mb(during.heapUsed - before.heapUsed)} MiB` +
    ` (${perByte(during.heapUsed, before.heapUsed)} B/byte), rss +${mb(during.rss - before.rss)} MiB` +
    ` (${perByte(during.rss, before.rss)} B/byte), external+arrayBuffers +` +
    `${mb(during.external + during.arrayBuffers - before.external - before.arrayBuffers)} MiB;` +
    ` delivered ${delivered.length} message of ${delivered[0]?.delivery.payload.length} bytes`,
);
