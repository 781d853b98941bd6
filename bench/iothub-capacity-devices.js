// A client process of bench/iothub-capacity.js: connects its share of the devices with our
// DeviceClient, one AMQPS connection each (as the SDKs connect), and opens every link a device
// uses: CBS (at open), the telemetry sender (one event sent), the C2D receiver (the message waiting
// for it received and completed), the methods pair (enableMethods) and the twin pair (getTwin,
// then the desired-property subscription). At most CONCURRENCY devices connect at once. Driven
// over IPC: 'go' starts, 'ready' reports, 'close' closes every client.
import { DeviceClient } from '../dist/iothub/client/index.js';

const CONCURRENCY = 25;
let clients = [];

async function connectOne(cs, ca) {
  const d = DeviceClient.fromConnectionString(cs, { tls: { ca } });
  clients.push(d);
  const c2d = new Promise((resolve, reject) => {
    d.onMessage(() => resolve());
    d.once('error', reject);
  });
  await d.open();
  await d.sendEvent({ body: Buffer.from('{"up":true}') });
  d.onMethod('ping', () => ({ status: 200, payload: {} }));
  await d.enableMethods();
  await d.getTwin();
  await d.enableDesiredUpdates();
  await c2d;
}

process.on('message', async (m) => {
  if (m.type === 'go') {
    const queue = [...m.connectionStrings];
    let failed = 0;
    let firstError;
    const worker = async () => {
      for (let cs = queue.shift(); cs !== undefined; cs = queue.shift())
        await connectOne(cs, m.ca).catch((e) => {
          failed++;
          firstError ??= String(e?.message ?? e);
        });
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const cpu = process.cpuUsage();
    process.send({
      type: 'ready',
      connected: m.connectionStrings.length - failed,
      failed,
      firstError,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  }
  if (m.type === 'close') {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    clients = [];
    process.send({ type: 'closed' });
    process.exit(0);
  }
});
process.send({ type: 'loaded' });
