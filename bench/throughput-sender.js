// Sender process of the throughput benchmark (forked by bench/throughput.js): connects to the
// receiver process, waits for 'go', then sends warmup + count messages as fast as flow control
// allows, and reports (over IPC) when the last one is done: written (presettled) or accepted by the
// receiver (unsettled).
//
// Config (JSON in THROUGHPUT_CONFIG): { impl, mode, port, warmup, count, window, maxQueued, rssEvery }
import {
  amqpOneTelemetry,
  importAmqpOne,
  childConfig,
  Marks,
  parentSays,
  rhea,
  rheaTelemetry,
  ADDRESS,
} from './throughput-common.js';

const cfg = childConfig('sender');
const presettled = cfg.mode === 'presettled';
const total = cfg.warmup + cfg.count;
let sent = 0;
let done = 0; // written (presettled) or with an outcome (unsettled)
let accepted = 0;
let otherOutcomes = 0;

const marks = new Marks(cfg, (report) => {
  process.send({ type: 'done', role: 'sender', sent, done, accepted, otherOutcomes, ...report });
});

async function amqpOne() {
  const { connect, encodeMessage } = await importAmqpOne();
  const conn = await connect({ host: '127.0.0.1', port: cfg.port, sasl: 'none' });
  const sender = await conn.openSender({ address: ADDRESS, presettled, maxQueued: cfg.maxQueued });
  // BENCH_PREENCODED=1: send the encoded bytes (the engine and transport alone, without the codec).
  const message = cfg.preencoded ? encodeMessage(amqpOneTelemetry()) : amqpOneTelemetry();
  const window = cfg.window;
  const lowWater = window >> 1;
  let wake;

  const onOutcome = (state) => {
    done++;
    if (state === undefined) {
      if (!presettled) otherOutcomes++;
    } else if (state.type === 'accepted') accepted++;
    else otherOutcomes++;
    marks.tick(done);
    if (wake !== undefined && sender.pending <= lowWater) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const onError = (e) => {
    console.error('send failed:', e);
    process.exit(2);
  };
  // post() calls back without a promise per message; send() is the promise API (BENCH_SEND_API).
  const post = cfg.sendApi !== 'promise';
  if (post && typeof sender.post !== 'function')
    throw new Error('this build has no post(): BENCH_SEND_API=promise');
  const onDone = (err, state) => (err === undefined ? onOutcome(state) : onError(err));

  async function run() {
    while (sent < total) {
      // Keep the pipeline full: room in the sender's bounded queue, at most `window` outstanding.
      await sender.ready();
      let room = Math.min(window - sender.pending, total - sent);
      for (; room > 0; room--) {
        if (post) sender.post(message, onDone);
        else sender.send(message).then(onOutcome, onError);
        sent++;
      }
      if (sent < total && sender.pending >= window) await new Promise((r) => (wake = r));
    }
  }
  return {
    go: () => void run(),
    close: () => conn.close(),
  };
}

async function rheaClient() {
  const container = rhea.create_container({ id: 'throughput-sender' });
  const message = cfg.preencoded ? rhea.message.encode(rheaTelemetry()) : rheaTelemetry();
  let going = false;
  const pump = (s) => {
    if (!going) return;
    while (sent < total && s.sendable()) {
      if (cfg.preencoded) s.send(message, undefined, 0);
      else s.send(message);
      sent++;
      if (presettled) {
        done++;
        marks.tick(done);
      }
    }
  };
  container.on('sendable', (ctx) => pump(ctx.sender));
  container.on('accepted', () => {
    done++;
    accepted++;
    marks.tick(done);
  });
  for (const ev of ['rejected', 'released', 'modified']) {
    container.on(ev, () => {
      done++;
      otherOutcomes++;
      marks.tick(done);
    });
  }
  container.on('error', (e) => console.error('sender error', e));
  const conn = container.connect({ host: '127.0.0.1', port: cfg.port, tcp_no_delay: true, reconnect: false });
  const opened = new Promise((resolve) => container.once('sendable', resolve));
  const sender = conn.open_sender({ target: { address: ADDRESS }, snd_settle_mode: presettled ? 1 : 0 });
  await opened;
  return {
    go: () => {
      going = true;
      pump(sender);
    },
    close: () =>
      new Promise((resolve) => {
        conn.once('connection_close', resolve);
        conn.close();
      }),
  };
}

const client = cfg.impl === 'rhea' ? await rheaClient() : await amqpOne();
process.send({ type: 'attached' });
await parentSays('go');
client.go();
await parentSays('exit');
setTimeout(() => process.exit(0), 500).unref();
await Promise.race([client.close().catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
process.exit(0);
