/**
 * One port for raw AMQP and AMQP over WebSockets: the first byte a client sends tells which.
 * 'G' starts an HTTP request (`GET /path HTTP/1.1`), which gets the upgrade checks of
 * ws-handshake.ts; anything else (the AMQP header starts with 'A') is handed back untouched for
 * the AMQP engine, which answers garbage itself.
 *
 * Bounds for a client that has not authenticated: the head is at most MAX_HEAD_BYTES, and the
 * whole sniff and upgrade must finish within `deadlineMs` (the server's handshakeTimeoutMs), or
 * the socket is destroyed. A refused upgrade gets its HTTP answer (400, 404, 426) and a close.
 */
import type { Duplex } from 'node:stream';
import type { Timers } from '../../util/timers.js';
import { answerUpgrade, refusalResponse } from './ws-handshake.js';
import { readHttpHead } from './read-head.js';
import { WebSocketHandshakeError } from './ws-errors.js';
import { WebSocketStream } from './ws-stream.js';

export interface UpgradeOptions {
  /** The WebSocket endpoint(s); a trailing slash does not matter. */
  path: string | readonly string[];
  /** Largest incoming WebSocket message (see WebSocketStream). */
  maxMessageSize?: number;
  deadlineMs: number;
  timers: Timers;
}

/** What the client turned out to speak. */
export type Sniffed = { kind: 'amqp' } | { kind: 'websocket'; stream: WebSocketStream };

/** The ASCII 'G' of GET. */
const HTTP_FIRST_BYTE = 0x47;

/**
 * Waits for the client's first bytes. Raw AMQP resolves with `kind: 'amqp'`, its bytes put back on
 * the socket (paused); an accepted upgrade resolves with the WebSocket stream; a refused one
 * rejects with a WebSocketHandshakeError after answering it.
 */
export function sniffUpgrade(socket: Duplex, o: UpgradeOptions): Promise<Sniffed> {
  return new Promise<Sniffed>((resolve, reject) => {
    let timedOut = false;
    const timer = o.deadlineMs > 0 ? o.timers.setTimeout(expire, o.deadlineMs) : undefined;
    function expire(): void {
      timedOut = true;
      socket.destroy();
    }
    const done = (): void => {
      if (timer !== undefined) o.timers.clearTimeout(timer);
    };
    // A reset before the first byte: 'close' follows and reports it.
    const onError = (): void => {};
    const onFirst = (chunk: Buffer): void => {
      socket.off('close', onClose);
      socket.off('error', onError);
      socket.pause();
      if (chunk[0] !== HTTP_FIRST_BYTE) {
        done();
        socket.unshift(chunk);
        return resolve({ kind: 'amqp' });
      }
      readHttpHead(socket, chunk)
        .then((head) => {
          const answer = answerUpgrade(head, o.path);
          done();
          socket.write(answer.response);
          const stream = new WebSocketStream(socket, 'server', {
            head: head.rest,
            maxMessageSize: o.maxMessageSize,
            protocol: answer.protocol,
            path: answer.path,
            timers: o.timers,
          });
          resolve({ kind: 'websocket', stream });
        })
        .catch((err: unknown) => {
          done();
          reject(
            timedOut
              ? new WebSocketHandshakeError(0, `no WebSocket upgrade within ${o.deadlineMs} ms`)
              : (err as Error),
          );
        });
    };
    const onClose = (): void => {
      done();
      socket.off('data', onFirst);
      socket.off('error', onError);
      reject(
        new WebSocketHandshakeError(
          0,
          timedOut
            ? `nothing received within ${o.deadlineMs} ms`
            : 'the client closed before sending anything',
        ),
      );
    };
    socket.once('data', onFirst);
    socket.once('close', onClose);
    socket.on('error', onError);
  }).catch((err: unknown) => {
    // A refusal the client can read: the HTTP answer, then the end of the socket. A reset while
    // it goes out only ends what is ending anyway.
    socket.on('error', () => {});
    if (err instanceof WebSocketHandshakeError && err.status >= 400 && !socket.destroyed) {
      socket.end(refusalResponse(err));
      // A client that does not read the answer cannot keep the socket.
      const t = o.timers.setTimeout(() => socket.destroy(), o.deadlineMs > 0 ? o.deadlineMs : 5000);
      socket.once('close', () => o.timers.clearTimeout(t));
    } else socket.destroy();
    throw err;
  });
}
