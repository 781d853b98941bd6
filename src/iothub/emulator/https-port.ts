/**
 * The emulator's HTTPS port (`startHub({ httpsPort })`, `amqp-one hub --https-port`): where the
 * official SDKs connect over WebSockets, `wss://HOST:443/$iothub/websocket` and
 * `/$servicebus/websocket`, and where IoT Hub's REST API is served. It is Node's HTTPS server: an
 * upgrade request is checked with `answerUpgrade`, answered 101, wrapped in a server
 * WebSocketStream and handed to the hub's AMQP server with `accept`, which serves it as any
 * client of its own port (limits, SASL, handlers). Any other request goes to `rest`
 * (rest-server.ts), or without it gets a 404 in JSON.
 *
 * What a client that has not authenticated can hold here: a request head of MAX_HEAD_BYTES, one
 * socket among `maxConnections` (Node's own count, upgraded sockets included; `accept` counts
 * them again against the AMQP server's), and `deadlineMs` from the end of TLS to its first request
 * head (a 101 or a REST request) on the injected timers (Node's own header timeout is coarse);
 * past it the socket is destroyed. After the upgrade the AMQP server's handshake deadline takes
 * over; a REST request has its own deadline (rest-server.ts), and between two requests on one
 * kept-alive socket `keepAliveMs` of silence closes it, as do `maxRequestsPerSocket` requests.
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
  /**
   * `ca`: the CAs client certificates may chain to (X.509 devices); `requestCert`: whether every
   * client is asked for a certificate (default true).
   */
  tls: { cert: string; key: string; ca?: string[]; requestCert?: boolean };
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
  /** The REST API's handler (rest-server.ts); without it, requests get a 404. */
  rest?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Silence allowed between two requests on a kept-alive socket (ms, default {@link KEEP_ALIVE_MS}). */
  keepAliveMs?: number;
  /** Requests one socket may carry (default {@link MAX_REQUESTS_PER_SOCKET}); the last is answered with `Connection: close`. */
  maxRequestsPerSocket?: number;
}

/** Default silence between two requests on a kept-alive socket: 5 s, Node's own default. */
export const KEEP_ALIVE_MS = 5_000;
/** Default requests per kept-alive socket. */
export const MAX_REQUESTS_PER_SOCKET = 1000;

/** A listening HTTPS/WSS port. */
export interface HttpsPort {
  readonly port: number;
  readonly host: string;
  /** Upgrades refused (malformed, wrong path) and plain requests answered 404. */
  readonly refused: number;
  close(): Promise<void>;
}

/** The 404 of any request that is not a WebSocket upgrade, when no REST handler is given. */
const NOT_FOUND_BODY = JSON.stringify({
  Message:
    'ErrorCode:NotFound;this port serves AMQP over WebSockets here (/$iothub/websocket, /$servicebus/websocket), not the REST API',
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
  const requestCounts = new WeakMap<Duplex, number>();
  const maxRequests = o.maxRequestsPerSocket ?? MAX_REQUESTS_PER_SOCKET;
  const sockets = new Set<Duplex>();
  let refused = 0;
  const release = (socket: Duplex): void => {
    const t = deadlines.get(socket);
    if (t !== undefined) o.timers.clearTimeout(t);
    deadlines.delete(socket);
  };
  /** Destroys `socket` unless a request head (or a 101) comes within `ms`. */
  const arm = (socket: Duplex, ms: number): void => {
    release(socket);
    if (ms <= 0 || socket.destroyed) return;
    deadlines.set(
      socket,
      o.timers.setTimeout(() => {
        deadlines.delete(socket);
        socket.destroy();
      }, ms),
    );
  };
  const refuse = (reason: string): void => {
    refused++;
    o.onRefused?.(reason);
  };

  const server = https.createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      // A client certificate identifies an X.509 device, as on the TLS port: asked of every client
      // and judged by the hub (x509.ts), since SAS devices and REST callers come without one.
      ...(o.tls.ca === undefined ? {} : { ca: o.tls.ca }),
      requestCert: o.tls.requestCert ?? true,
      rejectUnauthorized: false,
      maxHeaderSize: MAX_HEAD_BYTES,
      // The TLS handshake itself, on Node's clock (the deadline below starts after it).
      handshakeTimeout: o.deadlineMs > 0 ? o.deadlineMs : undefined,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      // The request has its own deadline; once answered, the socket may wait for the next one.
      const socket = req.socket;
      release(socket);
      // The last request a socket may carry says so, and the socket closes after its answer
      // (Node's maxRequestsPerSocket alone sends the header but keeps the socket open).
      const count = (requestCounts.get(socket) ?? 0) + 1;
      requestCounts.set(socket, count);
      if (count >= maxRequests) res.setHeader('Connection', 'close');
      res.once('close', () => {
        if (sockets.has(socket)) arm(socket, o.keepAliveMs ?? KEEP_ALIVE_MS);
      });
      if (o.rest) {
        o.rest(req, res);
        return;
      }
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
  server.maxRequestsPerSocket = maxRequests;
  // Node's own keep-alive timer only backs ours up (ours runs on the injected timers).
  server.keepAliveTimeout = (o.keepAliveMs ?? KEEP_ALIVE_MS) + 1000;

  server.on('secureConnection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      release(socket);
    });
    arm(socket, o.deadlineMs);
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
    // Full: accept answers with the server's fixed refusal and closes the stream. The TLS socket
    // goes along: its client certificate is the connection's, as on the AMQPS port.
    o.server.accept(stream, socket);
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
