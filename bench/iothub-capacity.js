// How many devices with every link open one emulator holds, and what each costs it. For each N,
// the emulator runs in a process of its own (bench/iothub-capacity-hub.js) and N devices connect
// from CLIENTS other processes (bench/iothub-capacity-devices.js), each device on its own AMQPS
// connection with its 8 links: CBS sender and receiver, telemetry sender, C2D receiver, methods
// receiver and sender, twin receiver and sender (and the desired-property subscription).
//
//   npm run bench:capacity                       N = 100, 1000, 5000 with 2 client processes
//   BENCH_DEVICES=100,2000 BENCH_CLIENTS=4 node bench/iothub-capacity.js
//
// Output, one JSON line per N:
// - connectMs: from 'go' to the last device with every link open; devicesPerSecond;
// - hubRssBeforeMiB, hubHeapBeforeMiB: the emulator with N devices registered, none connected;
//   hubRssMiB, hubHeapMiB: with all of them connected (each after a full GC);
// - rssPerDeviceKiB, heapPerDeviceKiB: the difference, per device connected;
// - hubCpuMsPerDevice: the emulator's CPU time per device (TLS handshake, CBS, 8 attaches, the
//   first messages); clientCpuMsPerDevice: the client processes' whole time, loading included;
// - seen: what the emulator counts (connections, methods and desired subscriptions, C2D messages
//   taken), which must equal N; loadAverage1m: the machine's load, which connect times follow.
//
// Bounds met on the way: the emulator's maxConnections (1000 per listener by default; the hub
// process raises it to N + 16), and the client processes' file descriptors (ulimit -n).
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const SIZES = (process.env.BENCH_DEVICES ?? '100,1000,5000').split(',').map(Number);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2);
const MiB = 1024 * 1024;

/** The next IPC message of `type` from `child` (the child's exit is an error). */
function next(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`a bench process exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function run(n) {
  const hub = fork(here('./iothub-capacity-hub.js'), [String(n)], { execArgv: ['--expose-gc'] });
  try {
    const ready = await next(hub, 'ready');
    const clients = Array.from({ length: Math.min(CLIENTS, n) }, () =>
      fork(here('./iothub-capacity-devices.js'), [], { execArgv: [] }),
    );
    try {
      await Promise.all(clients.map((c) => next(c, 'loaded')));
      const t0 = performance.now();
      const done = clients.map((c, i) => {
        const share = ready.connectionStrings.filter((_, j) => j % clients.length === i);
        const r = next(c, 'ready');
        c.send({ type: 'go', ca: ready.ca, connectionStrings: share });
        return r;
      });
      const results = await Promise.all(done);
      const connectMs = performance.now() - t0;
      hub.send({ type: 'measure' });
      const { memory, seen } = await next(hub, 'measured');
      const failed = results.reduce((s, r) => s + r.failed, 0);
      const before = ready.memory;
      return {
        devices: n,
        clientProcesses: clients.length,
        linksPerDevice: 8,
        connected: n - failed,
        failed,
        ...(failed > 0 ? { firstError: results.find((r) => r.firstError)?.firstError } : {}),
        connectMs: Math.round(connectMs),
        devicesPerSecond: Math.round((n - failed) / (connectMs / 1000)),
        hubCpuMsPerDevice: +((memory.cpuMs - before.cpuMs) / Math.max(1, n - failed)).toFixed(2),
        clientCpuMsPerDevice: +(results.reduce((s, r) => s + r.cpuMs, 0) / Math.max(1, n - failed)).toFixed(
          2,
        ),
        hubRssBeforeMiB: +(before.rss / MiB).toFixed(1),
        hubRssMiB: +(memory.rss / MiB).toFixed(1),
        hubHeapBeforeMiB: +(before.heapUsed / MiB).toFixed(1),
        hubHeapMiB: +(memory.heapUsed / MiB).toFixed(1),
        rssPerDeviceKiB: +((memory.rss - before.rss) / 1024 / Math.max(1, n - failed)).toFixed(1),
        heapPerDeviceKiB: +((memory.heapUsed - before.heapUsed) / 1024 / Math.max(1, n - failed)).toFixed(1),
        seen,
        // The machine's load while it ran: connect times depend on it, memory does not.
        loadAverage1m: +loadavg()[0].toFixed(2),
      };
    } finally {
      await Promise.all(
        clients.map((c) => {
          if (c.exitCode !== null) return undefined;
          const closed = next(c, 'closed').catch(() => undefined);
          c.send({ type: 'close' });
          return closed;
        }),
      );
    }
  } finally {
    if (hub.exitCode === null) {
      const exited = new Promise((r) => hub.once('exit', r));
      hub.send({ type: 'close' });
      await exited;
    }
  }
}

for (const n of SIZES) console.log(JSON.stringify(await run(n)));
