/**
 * One process of an `amqp-one bench` run, the sender or the receiver, forked by run.ts with its
 * config in AMQP_ONE_BENCH_WORKER. It talks to the parent over IPC: 'ready'/'attached' once set
 * up, 'progress' every progressMs, 'sent' (sender: how many it sent) and 'done' with its report.
 * The parent says 'go', 'expect' (receiver: the total), 'finish' (report now) and 'exit'.
 */
import { parseAmqpUrl } from '../transport/url.js';
import { amqpOnePeer } from './amqp-one-peer.js';
import { Meter } from './meter.js';
import { P2P_ADDRESS, split, type WorkerConfig } from './options.js';
import { Deadline, LinkBudget, type BenchPeer } from './peer.js';

type ParentMessage = { type: 'go' | 'finish' | 'exit' } | { type: 'expect'; total: number };

const raw = process.env.AMQP_ONE_BENCH_WORKER;
if (!raw || !process.send) throw new Error('the bench worker is started by `amqp-one bench`');
const cfg = JSON.parse(raw) as WorkerConfig;
const send = (m: object): void => void process.send!(m);

const peer: BenchPeer = cfg.impl === 'rhea' ? (await import('./rhea-peer.js')).rheaPeer : amqpOnePeer;
const address = cfg.url ? (cfg.address ?? parseAmqpUrl(cfg.url).path ?? '') : P2P_ADDRESS;
const meter = new Meter(cfg.role, cfg.warmup, (report) => send({ type: 'done', report }));
const progress = (): void => send({ type: 'progress', progress: meter.progress() });
setInterval(progress, cfg.progressMs).unref();

let onGo: () => void = () => undefined;
const go = new Promise<void>((resolve) => (onGo = resolve));
let close: () => Promise<void> = () => Promise.resolve();
process.on('message', (m: ParentMessage) => {
  if (m.type === 'go') onGo();
  else if (m.type === 'expect') meter.expect(m.total);
  else if (m.type === 'finish') meter.finish();
  else if (m.type === 'exit') void exit();
});
// The parent is gone (killed, or crashed): nothing left to report to.
process.on('disconnect', () => process.exit(0));

async function exit(): Promise<void> {
  setTimeout(() => process.exit(0), 1000).unref();
  await Promise.race([close().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  process.exit(0);
}

try {
  if (cfg.role === 'receiver') {
    if (cfg.expect !== undefined) meter.expect(cfg.expect);
    const r = await peer.receiver(cfg, address, meter);
    close = r.close;
    send({ type: 'ready', port: r.port });
    progress();
  } else {
    const total = cfg.count !== undefined ? cfg.warmup + cfg.count : Infinity;
    const deadline = new Deadline(meter, cfg.durationS === undefined ? undefined : cfg.durationS * 1000);
    const links = cfg.connections * cfg.links;
    const quotas = Number.isFinite(total) ? split(total, links) : Array<number>(links).fill(Infinity);
    const budgets = quotas.map((q) => new LinkBudget(q, deadline));
    const s = await peer.sender(cfg, address, meter, budgets);
    close = s.close;
    send({ type: 'attached' });
    await go;
    progress(); // the baseline the first rate on the progress line is computed from
    if (cfg.warmup === 0) meter.begin();
    await s.go();
    const sent = budgets.reduce((n, b) => n + b.sent, 0);
    send({ type: 'sent', total: sent });
    meter.expect(sent);
  }
} catch (e) {
  const err = e as { code?: string; message?: string };
  console.error(`bench ${cfg.role}: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
  process.exit(2);
}
