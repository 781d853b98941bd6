/** The bench's sender and receiver written with amqp-one's promise API (`connect`, `listen`). */
import { readFileSync } from 'node:fs';
import { connect, type AmqpConnection } from '../client/connect.js';
import type { MessageReceiver } from '../api/receiver.js';
import type { MessageSender } from '../api/sender.js';
import type { Message } from '../codec/message.js';
import type { DeliveryState } from '../codec/spec/records.js';
import { listen } from '../server/server.js';
import { parseAmqpUrl } from '../transport/url.js';
import { SENT_AT, type WorkerConfig } from './options.js';
import type { BenchPeer, LinkBudget } from './peer.js';
import { jsonBody, stampedAnnotations, telemetryMessage } from './telemetry.js';

/** In-flight sends per link beyond which the sender waits for outcomes (bounds memory). */
const WINDOW = 4096;

/** Reports a failure of this worker with its typed code and stops (the parent reports the exit). */
function fail(what: string, e: unknown): never {
  const err = e as { code?: string; message?: string };
  console.error(`bench ${what}: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
  process.exit(2);
}

async function connectTo(cfg: WorkerConfig): Promise<AmqpConnection> {
  let conn: AmqpConnection;
  if (!cfg.url)
    conn = await connect({
      host: '127.0.0.1',
      port: cfg.port,
      sasl: 'none',
      ...(cfg.websocket ? { websocket: { path: '/' } } : {}),
    });
  else {
    const u = parseAmqpUrl(cfg.url);
    const tls = u.tls
      ? { ca: cfg.ca ? readFileSync(cfg.ca) : undefined, rejectUnauthorized: !cfg.insecure }
      : undefined;
    conn = await connect({ url: cfg.url, tls });
  }
  // A connection emits no 'error': a loss the bench did not ask for is 'disconnected'.
  conn.on('disconnected', (e) => fail(`${cfg.role}: the connection failed`, e));
  return conn;
}

/**
 * Reads what an application reads of a telemetry message: the message id, the application
 * properties, the body, and the send-time annotation (returned). rhea decodes all of it anyway;
 * a lazy receiver decodes what is read here, so reading it is what makes the comparison fair.
 */
function sentAt(m: Message): number {
  // Read, not kept: what an application would do with them is not what is measured.
  void m.properties?.messageId;
  void m.applicationProperties;
  void m.body;
  const a = m.messageAnnotations;
  const v = a instanceof Map ? a.get(SENT_AT) : a?.[SENT_AT];
  return Number(v);
}

export const amqpOnePeer: BenchPeer = {
  async receiver(cfg, address, meter) {
    const presettled = cfg.mode === 'presettled';
    const consume = async (r: MessageReceiver): Promise<void> => {
      try {
        for await (const m of r) {
          meter.arrived(sentAt(m.message));
          // Messages still buffered after the link went away cannot be settled; the loop then
          // ends with the reason the link went away, which is what gets reported.
          if (!m.settled && r.link.local === 'attached') m.accept();
        }
      } catch (e) {
        fail('receiver: the link failed', e);
      }
    };
    if (!cfg.url) {
      const server = await listen({
        host: '127.0.0.1',
        port: 0,
        sasl: false,
        ...(cfg.websocket ? { websocket: { path: '/' } } : {}),
        onLink(l) {
          void consume(l.acceptReceiver({ credit: cfg.credit, decode: cfg.decode }));
        },
      });
      return { port: server.port, close: () => server.close() };
    }
    const conns: AmqpConnection[] = [];
    for (let c = 0; c < cfg.connections; c++) {
      const conn = await connectTo(cfg);
      conns.push(conn);
      for (let l = 0; l < cfg.links; l++) {
        void consume(
          await conn.openReceiver({ address, credit: cfg.credit, presettled, decode: cfg.decode }),
        );
      }
    }
    return { close: () => Promise.all(conns.map((c) => c.close())).then(() => undefined) };
  },

  async sender(cfg, address, meter, budgets) {
    const presettled = cfg.mode === 'presettled';
    const template = telemetryMessage(jsonBody(cfg.bodySize));
    const conns: AmqpConnection[] = [];
    const senders: MessageSender[] = [];
    for (let c = 0; c < cfg.connections; c++) {
      const conn = await connectTo(cfg);
      conns.push(conn);
      for (let l = 0; l < cfg.links; l++) senders.push(await conn.openSender({ address, presettled }));
    }
    const onError = (e: unknown): void => fail('sender: a send failed', e);
    const onOutcome = (state: DeliveryState | undefined): void => {
      if (state?.type === 'accepted') meter.accepted++;
      else if (state !== undefined || !presettled) meter.otherOutcomes++;
      meter.tick();
    };
    const run = async (sender: MessageSender, budget: LinkBudget): Promise<void> => {
      let wake: (() => void) | undefined;
      const done = (state: DeliveryState | undefined): void => {
        onOutcome(state);
        if (wake !== undefined && sender.pending <= WINDOW >> 1) {
          const w = wake;
          wake = undefined;
          w();
        }
      };
      // post(): a callback per message rather than a promise and its reactions.
      const posted = (err: Error | undefined, state?: DeliveryState): void =>
        err === undefined ? done(state) : onError(err);
      while (budget.more()) {
        await sender.ready();
        for (let room = WINDOW - sender.pending; room > 0 && budget.more(); room--) {
          const m: Message = {
            messageAnnotations: stampedAnnotations(budget.stamp()),
            properties: template.properties,
            applicationProperties: template.applicationProperties,
            body: template.body,
          };
          sender.post(m, posted);
        }
        if (sender.pending >= WINDOW) await new Promise<void>((r) => (wake = r));
      }
    };
    return {
      go: () => Promise.all(senders.map((s, i) => run(s, budgets[i]!))).then(() => undefined),
      close: () => Promise.all(conns.map((c) => c.close())).then(() => undefined),
    };
  },
};
