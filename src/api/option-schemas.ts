/**
 * The run-time schemas of the options both ends share (TLS, the engine's connection, sessions,
 * links and their termini). Each is checked against its interface by
 * `satisfies OptionSchema<...>`: see options.ts.
 */
import type { ConnectionOptions } from '../connection/connection.js';
import type { LinkOptions, SourceOptions, TargetOptions } from '../link/link.js';
import type { SessionOptions } from '../session/session.js';
import type { TlsOptions } from '../transport/open-socket.js';
import { opt, type OptionSchema } from './options.js';

/** A client's TLS: what to trust and who we are. */
export const TLS_OPTIONS = {
  ca: opt.listOf(opt.pem),
  cert: opt.pem,
  key: opt.pem,
  servername: opt.string,
  rejectUnauthorized: opt.boolean,
} satisfies OptionSchema<TlsOptions>;

/** The engine's connection options a client may set (role and SASL are the API's to decide). */
export const CONNECTION_OPTIONS = {
  containerId: opt.string,
  hostname: opt.string,
  maxFrameSize: opt.number,
  channelMax: opt.number,
  idleTimeoutMs: opt.number,
  closeTimeoutMs: opt.number,
  handshakeTimeoutMs: opt.number,
  maxUnsettledDeliveries: opt.number,
  maxReassemblyBytes: opt.number,
  properties: opt.object,
  offeredCapabilities: opt.array,
  desiredCapabilities: opt.array,
  externalIdentity: opt.string,
  sessionDefaults: opt.object,
} satisfies OptionSchema<Omit<ConnectionOptions, 'role' | 'sasl' | 'saslServer'>>;

export const SESSION_OPTIONS = {
  incomingWindow: opt.number,
  outgoingWindow: opt.number,
  handleMax: opt.number,
  properties: opt.object,
  offeredCapabilities: opt.array,
  desiredCapabilities: opt.array,
} satisfies OptionSchema<SessionOptions>;

const TERMINUS = {
  address: opt.any,
  durable: opt.number,
  expiryPolicy: opt.string,
  timeout: opt.number,
  dynamic: opt.boolean,
  dynamicNodeProperties: opt.object,
  capabilities: opt.listOf(opt.any),
};

/** A source; `type: 'source'` is allowed, so a whole Source record passes too. */
export const SOURCE_OPTIONS = {
  ...TERMINUS,
  distributionMode: opt.string,
  filter: opt.object,
  defaultOutcome: opt.object,
  outcomes: opt.listOf(opt.any),
  type: opt.oneOf('source'),
} satisfies OptionSchema<SourceOptions & { type?: 'source' }>;

/** A target, or a transaction coordinator (`type: 'coordinator'`, capabilities). */
export const TARGET_OPTIONS = {
  ...TERMINUS,
  type: opt.oneOf('target', 'coordinator'),
} satisfies OptionSchema<TargetOptions & { type?: 'target' | 'coordinator' }>;

export const LINK_OPTIONS = {
  name: opt.string,
  source: opt.orNull(opt.nested(SOURCE_OPTIONS)),
  target: opt.orNull(opt.nested(TARGET_OPTIONS)),
  sndSettleMode: opt.oneOf(0, 1, 2),
  rcvSettleMode: opt.oneOf(0, 1),
  maxMessageSize: opt.numberOrBigint,
  properties: opt.object,
  offeredCapabilities: opt.array,
  desiredCapabilities: opt.array,
  initialDeliveryCount: opt.number,
} satisfies OptionSchema<LinkOptions>;
