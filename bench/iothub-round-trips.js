// Direct method and twin round trips over loopback: our DeviceClient against the emulator, both in
// this process, over TLS. A method round trip is the hub's invokeMethod until the device's answer
// resolves it (request link, handler, response link); a twin-patch round trip is the device's
// updateReported until the hub's response (PATCH in, 204 with the version out), in memory.
//
//   npm run bench:iothub                         1000 of each after 100 warm-up calls
//   BENCH_COUNT=5000 node bench/iothub-round-trips.js
//
// Output: median, p90 and p99 in microseconds, and calls per second run one after another.
import { performance } from 'node:perf_hooks';
import { startHub } from '../dist/iothub/emulator/index.js';
import { DeviceClient } from '../dist/iothub/client/index.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 1000);
const WARMUP = 100;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measure(name, fn) {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  const us = [];
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const t = performance.now();
    await fn(i);
    us.push((performance.now() - t) * 1000);
  }
  const total = performance.now() - t0;
  const row = {
    name,
    count: COUNT,
    medianUs: Math.round(pct(us, 50)),
    p90Us: Math.round(pct(us, 90)),
    p99Us: Math.round(pct(us, 99)),
    perSecond: Math.round(COUNT / (total / 1000)),
  };
  console.log(JSON.stringify(row));
  return row;
}

const hub = await startHub({ tlsPort: 0, devices: ['bench-dev'] });
const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('bench-dev'), {
  tls: { ca: hub.caPem },
});
try {
  device.onMethod('echo', (req) => ({ status: 200, payload: req.json() }));
  await device.enableMethods();
  const payload = Buffer.from(JSON.stringify({ n: 1, text: 'hello' }));
  await measure('method round trip', async () => {
    const r = await hub.state.invokeMethod('bench-dev', undefined, 'echo', payload);
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  });
  await measure('twin reported patch round trip', async (i) => {
    await device.updateReported({ counter: i, fw: '1.0.0' });
  });
} finally {
  await device.close();
  await hub.close();
}
