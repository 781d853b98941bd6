/**
 * Reads an HTTP head (request or answer) off a socket before the WebSocket takes it over. At most
 * MAX_HEAD_BYTES are held; the bytes after the blank line (the first WebSocket frames, which a
 * peer may send at once) come back in `rest`. The caller owns the deadline: it destroys the
 * socket, which ends the wait.
 */
import type { Duplex } from 'node:stream';
import { parseHead, type HttpHead } from './ws-handshake.js';
import { WebSocketHandshakeError } from './ws-errors.js';

export function readHttpHead(socket: Duplex, first?: Buffer): Promise<HttpHead> {
  return new Promise((resolve, reject) => {
    let buf = first ?? Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const settle = (): boolean => {
      try {
        const head = parseHead(buf);
        if (head === undefined) return false;
        cleanup();
        socket.pause();
        resolve(head);
      } catch (err) {
        cleanup();
        reject(err as Error);
      }
      return true;
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      settle();
    };
    const onClose = (): void => {
      cleanup();
      reject(new WebSocketHandshakeError(0, 'the connection closed during the WebSocket handshake'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(
        new WebSocketHandshakeError(0, `the WebSocket handshake failed: ${err.message}`, { cause: err }),
      );
    };
    socket.on('close', onClose);
    socket.on('error', onError);
    if (buf.length > 0 && settle()) return;
    socket.on('data', onData);
    socket.resume();
  });
}
