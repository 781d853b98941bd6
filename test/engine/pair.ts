/** Runs a client engine and a server engine against each other in memory, with an injected clock. */
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import type { EngineEvent } from '../../src/connection/events.js';
import type { Delivery } from '../../src/link/delivery.js';
import type { Link } from '../../src/link/link.js';
import { WireTap } from './wire.js';

export interface PairOptions {
  /** Feed each output in chunks of this many bytes (1: every byte boundary). Default: whole. */
  split?: number;
}

export interface Pair {
  client: Connection;
  server: Connection;
  clientEvents: EngineEvent[];
  serverEvents: EngineEvent[];
  /** What the client wrote (checked against the server's max-frame-size) and what the server wrote. */
  toServer: WireTap;
  toClient: WireTap;
  /** Moves bytes both ways until neither side has anything to say. Returns the bytes moved. */
  pump(maxRounds?: number): number;
  /** Advances the clock on both sides (no bytes move). */
  tick(ms: number): void;
  now: number;
}

export function makePair(
  clientOptions: ConnectionOptions = {},
  serverOptions: ConnectionOptions = {},
  onServerEvent?: (e: EngineEvent, server: Connection) => void,
  pairOptions: PairOptions = {},
): Pair {
  const client = new Connection({ containerId: 'client', ...clientOptions, role: 'client' });
  const server = new Connection({ containerId: 'server', ...serverOptions, role: 'server' });
  const toServer = new WireTap('client->server', server.maxFrameSize);
  const toClient = new WireTap('server->client', client.maxFrameSize);
  const deliver = (to: Connection, bytes: Buffer): void => {
    const n = pairOptions.split ?? bytes.length;
    for (let i = 0; i < bytes.length; i += n) to.receive(bytes.subarray(i, i + n));
  };
  const watchSasl = (_tap: WireTap, other: WireTap, got: ReturnType<WireTap['feed']>): void => {
    // After sasl-outcome ok, the client's next bytes are an AMQP header too (the tap handles its own).
    for (const it of got) {
      if (it.kind === 'frame' && it.rec?.type === 'sasl-outcome' && it.rec.code === 0) other.expectHeader();
    }
  };
  const pair: Pair = {
    client,
    server,
    clientEvents: [],
    serverEvents: [],
    toServer,
    toClient,
    now: 1000,
    pump(maxRounds = 100_000) {
      let moved = 0;
      for (let i = 0; i < maxRounds; i++) {
        const clientPreOpen = client.remote === 'unopened';
        const a = client.takeOutput();
        if (a) {
          watchSasl(toServer, toClient, toServer.feed(a, clientPreOpen));
          deliver(server, a);
        }
        for (const e of server.takeEvents()) {
          pair.serverEvents.push(e);
          (onServerEvent ?? autoAccept)(e, server);
        }
        const serverPreOpen = server.remote === 'unopened';
        const b = server.takeOutput();
        if (b) {
          watchSasl(toClient, toServer, toClient.feed(b, serverPreOpen));
          deliver(client, b);
        }
        pair.clientEvents.push(...client.takeEvents());
        if (!a && !b) return moved;
        moved += (a?.length ?? 0) + (b?.length ?? 0);
      }
      throw new Error('pump did not settle');
    },
    tick(ms: number) {
      pair.now += ms;
      client.tick(pair.now);
      server.tick(pair.now);
    },
  };
  client.tick(pair.now);
  server.tick(pair.now);
  return pair;
}

/** A minimal server policy: answer opens, begins and attaches as they come, mirroring the terminus. */
export function autoAccept(e: EngineEvent, server: Connection): void {
  if (e.type === 'connection-remote-open') server.open();
  else if (e.type === 'session-remote-open') e.session.begin();
  else if (e.type === 'link-remote-open') {
    const a = e.link.remoteAttach!;
    Object.assign(e.link.options, {
      source: a.source && a.source.type === 'source' ? { ...a.source } : a.source,
      target: a.target && a.target.type === 'target' ? { ...a.target } : a.target,
      rcvSettleMode: a.rcvSettleMode,
      sndSettleMode: a.sndSettleMode,
    });
    e.link.attach();
  }
}

/** Events of one type, typed. */
export function eventsOf<T extends EngineEvent['type']>(
  events: EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
}

/** Deliveries that arrived complete, in order. */
export function deliveries(events: EngineEvent[]): Delivery[] {
  return eventsOf(events, 'delivery').map((e) => e.delivery);
}

/** An open client+server pair with one session each and a link of the given role on the client. */
export function linkedPair<L extends 'sender' | 'receiver'>(
  role: L,
  linkOptions: Parameters<import('../../src/session/session.js').Session['openSender']>[0] = {},
  clientOptions: ConnectionOptions = {},
  serverOptions: ConnectionOptions = {},
  pairOptions: PairOptions = {},
) {
  const p = makePair(clientOptions, serverOptions, undefined, pairOptions);
  p.client.open();
  const session = p.client.beginSession();
  const link = role === 'sender' ? session.openSender(linkOptions) : session.openReceiver(linkOptions);
  p.pump();
  const peer: Link = p.server.allSessions[0]!.allLinks[0]!;
  return { ...p, session, link, peer } as Pair & {
    session: typeof session;
    link: L extends 'sender'
      ? import('../../src/link/sender.js').Sender
      : import('../../src/link/receiver.js').Receiver;
    peer: L extends 'sender'
      ? import('../../src/link/receiver.js').Receiver
      : import('../../src/link/sender.js').Sender;
  };
}
