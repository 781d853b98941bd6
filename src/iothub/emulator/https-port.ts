/**
 * The emulator's HTTPS port (`startHub({ httpsPort })`, `amqp-one hub --https-port`): where the
 * official SDKs connect over WebSockets, `wss://HOST:443/$iothub/websocket` and
 * `/$servicebus/websocket`. It is Node's HTTPS server, so the same port can later serve IoT Hub's
 * REST API too: an upgrade request is checked with `answerUpgrade`, answered 101, wrapped in a
 * server WebSocketStream and handed to the hub's AMQP server with `accept`, which serves it as
 * any client of its own port (limits, SASL, handlers). Any other HTTP request gets a 404 in
 * JSON, as the hub's REST API answers a path it does not have.
 *
 * What a client that has not authenticated can hold here: a request head of MAX_HEAD_BYTES, one
 * socket among `maxConnections` (Node's own count, upgraded sockets included; `accept` counts
 * them again against the AMQP server's), and `deadlineMs` from the end of TLS to a 101 on the
 * injected timers (Node's own header timeout is coarse); past it the socket is destroyed. After
 * the upgrade the AMQP server's handshake deadline takes over.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AmqpServer } from '../../server/server.js';
import { listenOn } from '../../transport/listen-on.js';
import type { Timers } from '../../util/timers.js';
import { WebSocketHandshakeError } from '../../transport/websocket/ws-errors.js';
import {
  answerUpgrade,
  MAX_HEAD_BYTES,
  refusalResponse,
  type HttpHead,
} from '../../transport/websocket/ws-handshake.js';
import { WebSocketStream } from '../../transport/websocket/ws-stream.js';

/** Options of {@link listenHttps}. */
export interface HttpsPortOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string; ca?: string };
  /** The WebSocket endpoints. */
  paths: readonly string[];
  /** The AMQP server upgraded clients are handed to. */
  server: AmqpServer;
  /** Sockets held at once, upgraded or not. */
  maxConnections: number;
  /** From the end of TLS to the 101 (ms). */
  deadlineMs: number;
  timers: Timers;
  /** A refused upgrade or request, for the hub's log. */
  onRefused?: (reason: string) => void;
}

/** A listening HTTPS/WSS port. */
export interface HttpsPort {
  readonly port: number;
  readonly host: string;
  /** Upgrades refused (malformed, wrong path) and plain requests answered 404. */
  readonly refused: number;
  close(): Promise<void>;
}

/** The 404 of any request that is not a WebSocket upgrade (the REST API is not served yet). */
const NOT_FOUND_BODY = JSON.stringify({
  Message:
    'ErrorCode:NotFound;this emulator serves AMQP over WebSockets here (/$iothub/websocket, /$servicebus/websocket), not the REST API',
  ExceptionMessage: '',
});

/** The request head as ws-handshake.ts reads it: header names lower case, repeats joined. */
function headOf(req: IncomingMessage, rest: Buffer): HttpHead {
  const headers = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { start: `${req.method} ${req.url} HTTP/${req.httpVersion}`, headers, rest };
}

/** Starts the HTTPS port; rejects with a ListenError when the port cannot be listened on. */
export async function listenHttps(o: HttpsPortOptions): Promise<HttpsPort> {
  const deadlines = new Map<Duplex, unknown>();
  const sockets = new Set<Duplex>();
  let refused = 0;
  const release = (socket: Duplex): void => {
    const t = deadlines.get(socket);
    if (t !== undefined) o.timers.clearTimeout(t);
    deadlines.delete(socket);
  };
  const refuse = (reason: string): void => {
    refused++;
    o.onRefused?.(reason);
  };

  const server = https.createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      // Client certificates from the emulator's CA identify X.509 devices, as on the TLS port.
      ...(o.tls.ca === undefined ? {} : { ca: o.tls.ca, requestCert: true }),
      rejectUnauthorized: false,
      maxHeaderSize: MAX_HEAD_BYTES,
      // The TLS handshake itself, on Node's clock (the deadline below starts after it).
      handshakeTimeout: o.deadlineMs > 0 ? o.deadlineMs : undefined,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      refuse(`HTTP ${req.method} without a WebSocket upgrade`);
      req.resume();
      res.writeHead(404, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(NOT_FOUND_BODY),
        Connection: 'close',
      });
      res.end(NOT_FOUND_BODY);
    },
  );
  server.maxConnections = o.maxConnections;

  server.on('secureConnection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      release(socket);
    });
    if (o.deadlineMs > 0)
      deadlines.set(
        socket,
        o.timers.setTimeout(() => {
          deadlines.delete(socket);
          socket.destroy();
        }, o.deadlineMs),
      );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // From here the socket is ours; a reset before the stream takes it must not throw.
    const onError = (): void => {};
    socket.on('error', onError);
    let answer;
    try {
      answer = answerUpgrade(headOf(req, head), o.paths);
    } catch (e) {
      const err =
        e instanceof WebSocketHandshakeError ? e : new WebSocketHandshakeError(400, (e as Error).message);
      refuse(err.message);
      // The deadline still runs: a client that does not read the answer cannot keep the socket.
      socket.end(refusalResponse(err));
      return;
    }
    release(socket);
    socket.write(answer.response);
    const stream = new WebSocketStream(socket, 'server', {
      head,
      protocol: answer.protocol,
      path: answer.path,
      timers: o.timers,
    });
    socket.off('error', onError);
    // Full: accept answers with the server's fixed refusal and closes the stream.
    o.server.accept(stream);
  });

  await listenOn(server, o.port, o.host);
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    host: address.address,
    get refused() {
      return refused;
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      for (const t of deadlines.values()) o.timers.clearTimeout(t);
      deadlines.clear();
      await closed;
    },
  };
}
