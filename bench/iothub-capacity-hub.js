// The emulator's side of bench/iothub-capacity.js, in a process of its own so that its memory is
// the emulator's alone: N devices registered (cap-0 .. cap-N-1), each with one C2D message waiting
// (its arrival tells the device that its C2D receiver is attached), TLS on a free port and
// maxConnections raised to N. Driven over IPC: 'measure' answers the process's memory after a full
// GC (run with --expose-gc) and what the hub sees connected; 'close' stops.
import { startHub } from '../dist/iothub/emulator/index.js';

const n = Number(process.argv[2]);
const devices = Array.from({ length: n }, (_, i) => `cap-${i}`);
// Room above N for the process's own probes; the default (1000) is the bound this raises.
const hub = await startHub({ tlsPort: 0, devices, maxConnections: n + 16 });
for (const id of devices)
  await hub.state.sendC2d({
    properties: { to: `/devices/${id}/messages/devicebound` },
    body: Buffer.from('hi'),
  });

function memory() {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function seen() {
  let methods = 0;
  let twins = 0;
  for (const id of devices) {
    if (hub.state.methods.isSubscribed(id)) methods++;
    if (hub.state.twins.subscriberCount(id) > 0) twins++;
  }
  return {
    connections: hub.connectionCount,
    methodsSubscribed: methods,
    desiredSubscribed: twins,
    c2dDelivered: devices.filter((id) => hub.state.c2d.depth(id) === 0).length,
  };
}

process.on('message', async (m) => {
  if (m.type === 'measure') process.send({ type: 'measured', memory: memory(), seen: seen() });
  if (m.type === 'close') {
    await hub.close();
    process.exit(0);
  }
});
process.send({
  type: 'ready',
  ca: hub.caPem,
  connectionStrings: devices.map((id) => hub.deviceConnectionString(id)),
  memory: memory(),
});
