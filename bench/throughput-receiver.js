// Receiver process of the throughput benchmark (forked by bench/throughput.js): an AMQP server that
// takes one incoming link with a prefetch credit window, counts messages and, unless they come
// presettled, accepts each one. It reports over IPC when the expected count has arrived.
//
// Config (JSON in THROUGHPUT_CONFIG): { impl: 'amqp-one'|'rhea', mode: 'presettled'|'unsettled',
//   warmup, count, credit, rssEvery, decode }
import { importAmqpOne, childConfig, Marks, parentSays, rhea } from './throughput-common.js';

const cfg = childConfig('receiver');
const presettled = cfg.mode === 'presettled';
let received = 0;
let bodyBytes = 0;

const marks = new Marks(cfg, (report) => {
  process.send({ type: 'done', role: 'receiver', received, bodyBytes, ...report });
});

async function amqpOne() {
  const { listen } = await importAmqpOne();
  const server = await listen({
    port: 0,
    host: '127.0.0.1',
    sasl: false,
    onLink(l) {
      const r = l.acceptReceiver({ credit: cfg.credit });
      void consume(r);
    },
  });
  async function consume(r) {
    for await (const m of r) {
      received++;
      // Optionally decode, as rhea always does (amqp-one decodes lazily, on first use of .message).
      if (cfg.decode) bodyBytes += m.message.body.length;
      if (!presettled) m.accept();
      marks.tick(received);
    }
  }
  return { port: server.port, close: () => server.close() };
}

async function rheaServer() {
  const container = rhea.create_container({ id: 'throughput-receiver' });
  container.on('message', (ctx) => {
    received++;
    if (cfg.decode) bodyBytes += ctx.message.body.content.length;
    marks.tick(received);
  });
  container.on('error', (e) => console.error('receiver error', e));
  const server = container.listen({
    port: 0,
    host: '127.0.0.1',
    credit_window: cfg.credit,
    // rhea's auto-accept (a link observer) also settles presettled deliveries locally, without a
    // disposition; without it rhea never frees its incoming session window and stalls at 2048.
    autoaccept: true,
    tcp_no_delay: true,
  });
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const srv = cfg.impl === 'rhea' ? await rheaServer() : await amqpOne();
process.send({ type: 'ready', port: srv.port });
await parentSays('exit');
// The sender closes its connection first; do not wait long for anything else.
setTimeout(() => process.exit(0), 500).unref();
await Promise.race([srv.close().catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
process.exit(0);
