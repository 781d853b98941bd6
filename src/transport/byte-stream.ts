/**
 * What an AMQP connection runs over: any Node Duplex of bytes. A TCP or TLS socket is one; so is
 * an SSH channel, a WebSocket adapter or a test pipe. The driver (socket-driver.ts) needs only
 * the Duplex's write, 'drain' backpressure, pause/resume, end and destroy; a socket's extras are
 * used where present (no Nagle delay, the peer's address in log records).
 */
import type { Duplex } from 'node:stream';
import { AmqpOneError } from '../codec/errors.js';
import { InvalidArgumentError } from '../protocol/errors.js';

/** A Node Duplex of bytes that a connection runs over; a socket's extras are optional. */
export type ByteStream = Duplex & {
  /** Turns off Nagle's delay (sockets); called with true when present. */
  setNoDelay?(noDelay?: boolean): unknown;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localPort?: number;
};

/**
 * What the driver (socket-driver.ts) uses of a stream: a Node Duplex has it, and so does the
 * browser's WebSocket adapter (browser-websocket.ts), which is not a Duplex. `writableNeedDrain`
 * true means "wait for 'drain' before writing more"; 'close' comes once, last.
 */
export interface DriverStream {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  write(chunk: Uint8Array): unknown;
  end(): unknown;
  destroy(err?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly writableNeedDrain: boolean;
  readonly writableLength: number;
  /** Turns off Nagle's delay (sockets); called with true when present. */
  setNoDelay?(noDelay?: boolean): unknown;
}

/** A stream-shaped object (the run-time check of the `transport` options). */
export function isByteStream(v: unknown): v is ByteStream {
  const s = v as ByteStream | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.write === 'function' &&
    typeof s.on === 'function' &&
    typeof s.end === 'function' &&
    typeof s.destroy === 'function' &&
    typeof s.pause === 'function' &&
    typeof s.resume === 'function'
  );
}

/**
 * Makes a connection's stream (ConnectOptions.transport): called once per connect and once per
 * reconnect attempt. `signal` fires when the attempt is abandoned (its deadline, or the caller's
 * signal): a factory that is still opening something should stop.
 */
export type ByteStreamFactory = (context: { signal: AbortSignal }) => ByteStream | Promise<ByteStream>;

/**
 * Runs `factory` under `signal`: the stream, or a rejection with the signal's reason (a stream
 * that arrives after that is destroyed), or AMQP_CONNECT_FAILED with the factory's error as cause.
 */
export function openByteStream(factory: ByteStreamFactory, signal: AbortSignal): Promise<ByteStream> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    Promise.resolve()
      .then(() => factory({ signal }))
      .then(
        (stream) => {
          settle();
          if (!isByteStream(stream)) {
            reject(
              new InvalidArgumentError(
                'connect: the transport factory must return a Duplex stream of bytes',
                {
                  option: 'transport',
                },
              ),
            );
          } else if (signal.aborted) {
            stream.destroy(); // too late: the attempt was abandoned
          } else resolve(stream);
        },
        (err: unknown) => {
          settle();
          const message = err instanceof Error ? err.message : String(err);
          reject(
            new AmqpOneError('AMQP_CONNECT_FAILED', `the transport failed to open: ${message}`, undefined, {
              cause: err,
            }),
          );
        },
      );
  });
}
