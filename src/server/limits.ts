/**
 * What one client may make a `listen` server hold, and the defaults. Every bound refuses new work
 * with the protocol's error (or stops reading, or stops granting credit); none evicts what was
 * accepted. A value of 0 turns a bound off, except maxSessions and maxLinksPerSession (announced
 * as channel-max and handle-max, where 0 allows one).
 */
import { opt, type OptionSchema } from '../protocol/options.js';

/** Connections at once; one more is answered with a fixed close, with no engine built for it. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** channel-max announced: sessions per connection (as Proton and rhea default to). */
export const DEFAULT_MAX_SESSIONS = 255;
/** handle-max announced: the highest link handle on a session. */
export const DEFAULT_MAX_LINKS_PER_SESSION = 1023;
/** Links attached on one connection, all sessions together; one more is refused. */
export const DEFAULT_MAX_LINKS = 1024;
/** max-message-size of a link the handler accepts without its own: a generic server default (1 MiB, the same as IoT Hub's link limit). */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
/**
 * Bytes of unfinished multi-frame messages on one connection, all links together: max-message-size
 * bounds one message, this bounds a client splitting messages over many links at once.
 */
export const DEFAULT_MAX_REASSEMBLY_BYTES = 16 * 1024 * 1024;
/** Unsettled deliveries held on one connection, in each direction (see ConnectionOptions). */
export const DEFAULT_MAX_UNSETTLED_DELIVERIES = 10_000;
/** Bytes waiting to be sent to a client before we stop reading what it sends. */
export const DEFAULT_MAX_BUFFERED_OUTPUT = 1024 * 1024;
/** Header, SASL and the client's open must be done within this long (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A silent client is closed after this long (ms); half of it is announced as idle-time-out, so a
 * client beating at the announced period always makes it. Azure's SDKs beat well within it.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/**
 * Refused links (attach answered with a detach) that a client may leave unanswered before the
 * connection is closed: refusing costs a link object until the client's detach frees it.
 */
export const REFUSED_LINKS_SLACK = 64;

/** What one client may make a server hold; each has a default (the DEFAULT_* constants). */
export interface ServerLimits {
  /** Connections at once (default DEFAULT_MAX_CONNECTIONS, 1000). */
  maxConnections?: number;
  /** channel-max: sessions per connection (default DEFAULT_MAX_SESSIONS, 255). */
  maxSessions?: number;
  /** handle-max: links per session (default DEFAULT_MAX_LINKS_PER_SESSION, 1023). */
  maxLinksPerSession?: number;
  /**
   * Links per connection across its sessions (default DEFAULT_MAX_LINKS, 1024). One more is
   * refused with amqp:resource-limit-exceeded; the connection stays.
   */
  maxLinks?: number;
  /**
   * max-message-size of accepted links whose handler gives none (default DEFAULT_MAX_MESSAGE_SIZE,
   * 1 MiB). Checked as frames arrive: a larger message detaches the link with
   * amqp:link:message-size-exceeded. 0 = no limit.
   */
  maxMessageSize?: number;
  /**
   * Bytes of unfinished multi-frame messages per connection (default DEFAULT_MAX_REASSEMBLY_BYTES,
   * 16 MiB); past it, the link whose transfer would grow them is detached with
   * amqp:resource-limit-exceeded.
   */
  maxReassemblyBytes?: number;
  /** Unsettled deliveries per connection and direction (default DEFAULT_MAX_UNSETTLED_DELIVERIES, 10000). */
  maxUnsettledDeliveries?: number;
  /** Output bytes waiting for a client before its input is not read (default DEFAULT_MAX_BUFFERED_OUTPUT, 1 MiB). */
  maxBufferedOutput?: number;
  /** Header, SASL and open within this long, ms (default DEFAULT_HANDSHAKE_TIMEOUT_MS, 10 s). */
  handshakeTimeoutMs?: number;
}

export const SERVER_LIMITS = {
  maxConnections: opt.count,
  maxSessions: opt.count,
  maxLinksPerSession: opt.count,
  maxLinks: opt.count,
  maxMessageSize: opt.count,
  maxReassemblyBytes: opt.count,
  maxUnsettledDeliveries: opt.count,
  maxBufferedOutput: opt.count,
  handshakeTimeoutMs: opt.count,
} satisfies OptionSchema<ServerLimits>;

/** The limits with every default filled in. */
export function resolveLimits(l: ServerLimits = {}): Required<ServerLimits> {
  return {
    maxConnections: l.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    maxSessions: l.maxSessions ?? DEFAULT_MAX_SESSIONS,
    maxLinksPerSession: l.maxLinksPerSession ?? DEFAULT_MAX_LINKS_PER_SESSION,
    maxLinks: l.maxLinks ?? DEFAULT_MAX_LINKS,
    maxMessageSize: l.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxReassemblyBytes: l.maxReassemblyBytes ?? DEFAULT_MAX_REASSEMBLY_BYTES,
    maxUnsettledDeliveries: l.maxUnsettledDeliveries ?? DEFAULT_MAX_UNSETTLED_DELIVERIES,
    maxBufferedOutput: l.maxBufferedOutput ?? DEFAULT_MAX_BUFFERED_OUTPUT,
    handshakeTimeoutMs: l.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  };
}
