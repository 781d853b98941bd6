/**
 * Starting a listener, with failures as one typed error: the servers (`listen`, the broker, the
 * emulator, the conformance suite's client observer) reject with a ListenError that names the
 * host and port and keeps Node's error as its cause, never a bare EADDRINUSE.
 */
import type net from 'node:net';
import { AmqpOneError } from '../codec/errors.js';

/** Why a listener could not start. */
export type ListenErrorCode =
  /** Something else listens on that port (EADDRINUSE). */
  | 'AMQP_ADDRESS_IN_USE'
  /** The system refuses the port or address to this process (EACCES, EPERM: a port below 1024). */
  | 'AMQP_ADDRESS_DENIED'
  /** The host is not an address of this machine, or its name does not resolve (EADDRNOTAVAIL, ENOTFOUND). */
  | 'AMQP_ADDRESS_UNAVAILABLE'
  /** The port is not an integer from 0 to 65535 (0 picks a free one). */
  | 'AMQP_BAD_PORT'
  /** Anything else; `cause` says what. */
  | 'AMQP_LISTEN_FAILED';

/** A server could not listen on `host`:`port`; `cause` is the system's error, when there is one. */
export class ListenError extends AmqpOneError {
  declare readonly code: ListenErrorCode;

  constructor(
    code: ListenErrorCode,
    readonly host: string,
    readonly port: unknown,
    reason: string,
    cause?: unknown,
  ) {
    super(code, `cannot listen on ${host}:${String(port)}: ${reason}`, undefined, { cause });
  }
}

const REASONS: Record<string, [ListenErrorCode, string]> = {
  EADDRINUSE: ['AMQP_ADDRESS_IN_USE', 'the address is already in use'],
  EACCES: ['AMQP_ADDRESS_DENIED', 'permission denied (ports below 1024 need privileges)'],
  EPERM: ['AMQP_ADDRESS_DENIED', 'operation not permitted'],
  EADDRNOTAVAIL: ['AMQP_ADDRESS_UNAVAILABLE', 'the host is not an address of this machine'],
  ENOTFOUND: ['AMQP_ADDRESS_UNAVAILABLE', 'the host name does not resolve'],
  EAI_AGAIN: ['AMQP_ADDRESS_UNAVAILABLE', 'the host name could not be resolved'],
  ERR_SOCKET_BAD_PORT: ['AMQP_BAD_PORT', 'not a valid port (an integer from 0 to 65535)'],
};

/** Turns Node's listen failure into a ListenError. */
export function listenError(host: string, port: unknown, err: unknown): ListenError {
  const sys = (err as { code?: unknown } | null)?.code;
  const known = typeof sys === 'string' ? REASONS[sys] : undefined;
  if (known) return new ListenError(known[0], host, port, known[1], err);
  const text = err instanceof Error ? err.message : String(err);
  return new ListenError('AMQP_LISTEN_FAILED', host, port, text, err);
}

/**
 * `server.listen(port, host)` as a promise that rejects with a ListenError. The port is checked
 * first: Node would take a string that is not a number for the path of a local socket.
 */
export function listenOn(server: net.Server, port: unknown, host: string): Promise<void> {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(
      new ListenError('AMQP_BAD_PORT', host, port, 'not a valid port (an integer from 0 to 65535)'),
    );
  }
  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => reject(listenError(host, port, err));
    server.once('error', fail);
    try {
      server.listen(port, host, () => {
        server.off('error', fail);
        resolve();
      });
    } catch (e) {
      server.off('error', fail);
      fail(e);
    }
  });
}
