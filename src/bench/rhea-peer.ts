/**
 * The same sender and receiver written with rhea, so that `amqp-one bench --impl rhea` runs the
 * same scenario with the library most Node users have. rhea is not a dependency of amqp-one: it is
 * loaded when asked for, with a typed error when it is not installed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AmqpOneError } from '../codec/errors.js';
import { parseAmqpUrl } from '../transport/url.js';
import { SENT_AT, type WorkerConfig } from './options.js';
import type { BenchPeer, LinkBudget } from './peer.js';
import { jsonBody, stampedAnnotations, TELEMETRY } from './telemetry.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- rhea ships no types */
type Rhea = any;

function loadRhea(): Rhea {
  return loadModule('rhea', '--impl rhea');
}

/** A package the rhea peer needs, or a typed error saying what to install. */
function loadModule(name: string, forWhat: string): Rhea {
  try {
    return createRequire(import.meta.url)(name);
  } catch (e) {
    throw new AmqpOneError(
      'AMQP_BENCH_RHEA_MISSING',
      `${forWhat} needs the ${name} package (npm install ${name}): ${(e as Error).message}`,
    );
  }
}

/** The telemetry message in rhea's shape (flat property names, a data-section body). */
export function rheaTelemetry(rhea: Rhea, body: Buffer): Record<string, unknown> {
  return {
    message_annotations: { ...TELEMETRY.messageAnnotations },
    message_id: TELEMETRY.messageId,
    to: TELEMETRY.to,
    content_type: TELEMETRY.contentType,
    creation_time: TELEMETRY.creationTime,
    application_properties: { ...TELEMETRY.applicationProperties },
    body: rhea.message.data_section(body),
  };
}

function connectTo(rhea: Rhea, cfg: WorkerConfig, id: string): Rhea {
  const container = rhea.create_container({ id });
  container.on('error', (e: unknown) => console.error(`bench ${id}: error`, e));
  if (!cfg.url) {
    if (cfg.websocket) {
      const ws = container.websocket_connect(loadModule('ws', 'rhea over WebSockets'));
      return container.connect({
        connection_details: ws(`ws://127.0.0.1:${cfg.port}/`, ['AMQPWSB10'], {}),
        reconnect: false,
      });
    }
    return container.connect({ host: '127.0.0.1', port: cfg.port, tcp_no_delay: true, reconnect: false });
  }
  const u = parseAmqpUrl(cfg.url);
  const ca = u.tls && cfg.ca ? readFileSync(cfg.ca) : undefined;
  const common = { username: u.username, password: u.password, reconnect: false };
  if (u.websocket !== undefined) {
    // rhea over WebSockets runs on the ws package (a dev dependency, like rhea itself).
    const WebSocket = loadModule('ws', 'rhea over WebSockets');
    const url = `${u.tls ? 'wss' : 'ws'}://${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}${u.websocket}`;
    const ws = container.websocket_connect(WebSocket);
    return container.connect({
      ...common,
      hostname: u.host,
      connection_details: ws(url, ['AMQPWSB10'], { ca, rejectUnauthorized: !cfg.insecure }),
    });
  }
  return container.connect({
    ...common,
    host: u.host,
    port: u.port,
    transport: u.tls ? 'tls' : 'tcp',
    ca,
    rejectUnauthorized: !cfg.insecure,
    servername: u.host,
    tcp_no_delay: true,
  });
}

function closed(conn: Rhea): Promise<void> {
  return new Promise((resolve) => {
    if (!conn.is_open()) return resolve();
    conn.once('connection_close', () => resolve());
    conn.once('disconnected', () => resolve());
    conn.close();
  });
}

const sentAt = (m: Rhea): number => Number(m.message_annotations?.[SENT_AT]);

export const rheaPeer: BenchPeer = {
  async receiver(cfg, address, meter) {
    const rhea = loadRhea();
    const presettled = cfg.mode === 'presettled';
    if (!cfg.url) {
      const container = rhea.create_container({ id: 'bench-receiver' });
      container.on('message', (ctx: Rhea) => meter.arrived(sentAt(ctx.message)));
      container.on('error', (e: unknown) => console.error('bench receiver: error', e));
      const options = {
        credit_window: cfg.credit,
        // rhea's auto-accept also settles presettled deliveries locally; without it rhea never
        // frees its incoming session window and stalls.
        autoaccept: true,
      };
      if (cfg.websocket) {
        // rhea serves WebSockets through the ws package's server and websocket_accept.
        const WebSocket = loadModule('ws', 'rhea over WebSockets');
        const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0 });
        wss.on('connection', (socket: Rhea) => container.websocket_accept(socket, options));
        await new Promise((resolve, reject) => {
          wss.once('listening', resolve);
          wss.once('error', reject);
        });
        return {
          port: wss.address().port as number,
          close: () =>
            new Promise<void>((resolve) => {
              for (const c of wss.clients) c.terminate();
              wss.close(() => resolve());
            }),
        };
      }
      const server = container.listen({ host: '127.0.0.1', port: 0, tcp_no_delay: true, ...options });
      await new Promise((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      return {
        port: server.address().port as number,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }
    const conns: Rhea[] = [];
    for (let c = 0; c < cfg.connections; c++) {
      const conn = connectTo(rhea, cfg, `bench-receiver-${c}`);
      conn.on('message', (ctx: Rhea) => meter.arrived(sentAt(ctx.message)));
      conns.push(conn);
      const attached: Promise<unknown>[] = [];
      for (let l = 0; l < cfg.links; l++) {
        const r = conn.open_receiver({
          source: { address },
          credit_window: cfg.credit,
          autoaccept: true,
          snd_settle_mode: presettled ? 1 : 0,
        });
        attached.push(new Promise((resolve) => r.once('receiver_open', resolve)));
      }
      await Promise.all(attached);
    }
    return { close: () => Promise.all(conns.map(closed)).then(() => undefined) };
  },

  async sender(cfg, address, meter, budgets) {
    const rhea = loadRhea();
    const presettled = cfg.mode === 'presettled';
    const template = rheaTelemetry(rhea, jsonBody(cfg.bodySize));
    const conns: Rhea[] = [];
    const links = new Map<Rhea, LinkBudget>();
    let going = false;
    let spent = 0;
    let allSpent: () => void = () => undefined;
    const pump = (s: Rhea): void => {
      const budget = links.get(s);
      if (!going || !budget) return;
      while (s.sendable() && budget.more()) {
        s.send({
          message_annotations: stampedAnnotations(budget.stamp()),
          message_id: template.message_id,
          to: template.to,
          content_type: template.content_type,
          creation_time: template.creation_time,
          application_properties: template.application_properties,
          body: template.body,
        });
        if (presettled) meter.tick();
      }
      if (!budget.more() && !(s as { spent?: boolean }).spent) {
        (s as { spent?: boolean }).spent = true;
        if (++spent === budgets.length) allSpent();
      }
    };
    const opened: Promise<unknown>[] = [];
    let b = 0;
    for (let c = 0; c < cfg.connections; c++) {
      const conn = connectTo(rhea, cfg, `bench-sender-${c}`);
      conns.push(conn);
      conn.on('sendable', (ctx: Rhea) => pump(ctx.sender));
      conn.on('accepted', () => {
        meter.accepted++;
        meter.tick();
      });
      for (const ev of ['rejected', 'released', 'modified']) {
        conn.on(ev, () => {
          meter.otherOutcomes++;
          meter.tick();
        });
      }
      for (let l = 0; l < cfg.links; l++) {
        const s = conn.open_sender({ target: { address }, snd_settle_mode: presettled ? 1 : 0 });
        links.set(s, budgets[b++]!);
        opened.push(new Promise((resolve) => s.once('sender_open', resolve)));
      }
    }
    await Promise.all(opened);
    return {
      go: () =>
        new Promise<void>((resolve) => {
          allSpent = resolve;
          going = true;
          for (const s of links.keys()) pump(s);
          // A duration run may end while no 'sendable' comes: look again now and then.
          const t = setInterval(() => {
            for (const s of links.keys()) pump(s);
          }, 50);
          const done = allSpent;
          allSpent = () => {
            clearInterval(t);
            done();
          };
        }),
      close: () => Promise.all(conns.map(closed)).then(() => undefined),
    };
  },
};
