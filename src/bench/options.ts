/** What one `amqp-one bench` run is: the scenario both worker processes are started with. */

export type BenchImpl = 'amqp-one' | 'rhea';
export type BenchMode = 'presettled' | 'unsettled';

export interface BenchOptions {
  /** A broker to go through (amqp[s]://[user:pass@]host:port/address); none: peer to peer. */
  url?: string;
  /** Peer to peer over WebSockets (ws://127.0.0.1:port/) instead of TCP; with a URL its scheme decides. */
  websocket?: boolean;
  /** The address at a ws:// or wss:// URL (whose path is the WebSocket endpoint); an amqp URL's path otherwise. */
  address?: string;
  impl: BenchImpl;
  mode: BenchMode;
  /** How amqp-one's receiver decodes: 'lazy' (checked whole, decoded as read) or 'eager'. */
  decode: 'lazy' | 'eager';
  /** Messages to send in all (split over the links), after the warm-up. */
  count?: number;
  /** Or: send for this long (seconds). */
  durationS?: number;
  /** Messages sent first and left out of rates and latencies (JIT warm-up). */
  warmup: number;
  /** Body size in bytes; undefined: the telemetry message's 256-byte JSON body. */
  bodySize?: number;
  /** The receivers' prefetch credit window, per link. */
  credit: number;
  /** Connections per side, and links per connection. */
  connections: number;
  links: number;
  /** Trust for amqps URLs. */
  ca?: string;
  insecure?: boolean;
  /** How long the receiver may go without a message once the sender is done, before the run fails. */
  stallTimeoutMs: number;
  /** Progress reports from the workers, this often. */
  progressMs: number;
}

export const DEFAULTS = {
  impl: 'amqp-one',
  mode: 'presettled',
  decode: 'lazy',
  count: 100_000,
  warmup: 0,
  credit: 1000,
  connections: 1,
  links: 1,
  stallTimeoutMs: 10_000,
  progressMs: 1000,
} as const;

/** Splits `total` over `parts` as evenly as possible (the first ones take the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** A worker's config, passed in the environment as JSON. */
export interface WorkerConfig extends BenchOptions {
  role: 'sender' | 'receiver';
  /** Sender: the peer-to-peer receiver's port (no URL). */
  port?: number;
  /** Receiver: messages to expect in all (count mode); duration mode learns it at the end. */
  expect?: number;
}

/** The message annotation that carries each message's send time (ms on the shared clock). */
export const SENT_AT = 'x-opt-bench-sent';
/** The address links use peer to peer. */
export const P2P_ADDRESS = 'bench';
