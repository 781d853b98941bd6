// The honest second client, in a process of its own so that neither the attacker's event loop nor
// the server's stalls hide in the other's figures. Plain JavaScript importing dist/ (as bench/
// does) because it is forked both by `npm run attack` and by the vitest test, which runs the rest
// of scripts/attack from source.
//
// argv[2] is JSON: { kind: 'broker', host, port, username, password } or
// { kind: 'hub', connectionString }. It connects, then does one round trip after another (a
// send and its receive on the broker; a telemetry send and its accepted outcome on the hub), each
// 20 ms apart, and reports over IPC: { type: 'ready' }, { type: 'rtt', ms }, { type: 'error',
// message } (a failed round trip; it reconnects and goes on). The message 'stop' ends it.
import { performance } from 'node:perf_hooks';
import { connect } from '../../dist/index.js';
import { DeviceClient } from '../../dist/iothub/index.js';

const cfg = JSON.parse(process.argv[2]);
const TIMEOUT_MS = 30_000;
const PAUSE_MS = 20;
let stopping = false;
let closeCurrent = async () => {};

process.on('message', (m) => {
  if (m === 'stop') {
    stopping = true;
    void closeCurrent().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (msg) => process.send?.(msg);

async function brokerLoop() {
  const conn = await connect({
    host: cfg.host,
    port: cfg.port,
    username: cfg.username,
    password: cfg.password,
    connectTimeoutMs: TIMEOUT_MS,
  });
  closeCurrent = () => conn.close().catch(() => {});
  const receiver = await conn.openReceiver({ address: 'attack-probe', credit: 10 });
  const sender = await conn.openSender({ address: 'attack-probe', sendTimeoutMs: TIMEOUT_MS });
  return async () => {
    await sender.send({ body: 'probe' });
    const m = await receiver.receive({ timeoutMs: TIMEOUT_MS });
    if (!m) throw new Error(`no message back within ${TIMEOUT_MS} ms`);
    m.accept();
  };
}

async function hubLoop() {
  const device = DeviceClient.fromConnectionString(cfg.connectionString, {
    tls: false,
    reconnect: false,
    retryPolicy: { maxAttempts: 1 },
    sendTimeoutMs: TIMEOUT_MS,
    connectTimeoutMs: TIMEOUT_MS,
  });
  closeCurrent = () => device.close().catch(() => {});
  await device.open();
  return () => device.sendEvent('probe');
}

let announced = false;
while (!stopping) {
  let roundTrip;
  try {
    roundTrip = cfg.kind === 'broker' ? await brokerLoop() : await hubLoop();
  } catch (e) {
    report({ type: 'error', message: `connect: ${e.code ? `[${e.code}] ` : ''}${e.message}` });
    await sleep(200);
    continue;
  }
  if (!announced) report({ type: 'ready' });
  announced = true;
  while (!stopping) {
    const t0 = performance.now();
    try {
      await roundTrip();
      report({ type: 'rtt', ms: performance.now() - t0 });
    } catch (e) {
      if (stopping) break;
      report({ type: 'error', message: `${e.code ? `[${e.code}] ` : ''}${e.message}` });
      await closeCurrent();
      break;
    }
    await sleep(PAUSE_MS);
  }
}
