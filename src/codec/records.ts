import type { AmqpMap, AmqpValue } from './values.js';

/**
 * The AMQP 1.0 composite types as plain JavaScript records: one interface per composite in
 * src/codec/spec-types.ts, discriminated by `type` (the spec name), with the spec's fields under
 * their camelCase keys in spec order. Mandatory fields are required; every other field is optional
 * and absent (or undefined) means null on the wire, i.e. the spec default applies.
 *
 * Field types follow the spec type after resolving restricted types to their source: the unsigned
 * integers are numbers (ulong is number | bigint), symbols and strings are strings, binaries are
 * Buffers, timestamps are Dates, fields/annotations maps are plain objects, and a '*' field that
 * requires an archetype is the union of the composites that provide it.
 */

/** A map with symbol keys (fields, annotations, node-properties, filter-set), keys as strings. */
export type Fields = { [key: string]: AmqpValue };

// Transport: performatives (2.7)

/** Open: negotiate connection parameters (transport, 2.7.1). */
export interface Open {
  type: 'open';
  containerId: string;
  hostname?: string;
  maxFrameSize?: number;
  channelMax?: number;
  idleTimeOut?: number;
  outgoingLocales?: string[];
  incomingLocales?: string[];
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: Fields;
}

/** Begin: begin a session on a channel (transport, 2.7.2). */
export interface Begin {
  type: 'begin';
  remoteChannel?: number;
  nextOutgoingId: number;
  incomingWindow: number;
  outgoingWindow: number;
  handleMax?: number;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: Fields;
}

/** Attach: attach a link to a session (transport, 2.7.3). */
export interface Attach {
  type: 'attach';
  name: string;
  handle: number;
  role: boolean;
  sndSettleMode?: number;
  rcvSettleMode?: number;
  source?: Source;
  target?: Target | Coordinator;
  unsettled?: AmqpMap;
  incompleteUnsettled?: boolean;
  initialDeliveryCount?: number;
  maxMessageSize?: number | bigint;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: Fields;
}

/** Flow: update link state (transport, 2.7.4). */
export interface Flow {
  type: 'flow';
  nextIncomingId?: number;
  incomingWindow: number;
  nextOutgoingId: number;
  outgoingWindow: number;
  handle?: number;
  deliveryCount?: number;
  linkCredit?: number;
  available?: number;
  drain?: boolean;
  echo?: boolean;
  properties?: Fields;
}

/** Transfer: transfer a message (transport, 2.7.5). */
export interface Transfer {
  type: 'transfer';
  handle: number;
  deliveryId?: number;
  deliveryTag?: Buffer;
  messageFormat?: number;
  settled?: boolean;
  more?: boolean;
  rcvSettleMode?: number;
  state?: DeliveryState;
  resume?: boolean;
  aborted?: boolean;
  batchable?: boolean;
}

/** Disposition: inform remote peer of delivery state changes (transport, 2.7.6). */
export interface Disposition {
  type: 'disposition';
  role: boolean;
  first: number;
  last?: number;
  settled?: boolean;
  state?: DeliveryState;
  batchable?: boolean;
}

/** Detach: detach the link endpoint from the session (transport, 2.7.7). */
export interface Detach {
  type: 'detach';
  handle: number;
  closed?: boolean;
  error?: AmqpErrorRecord;
}

/** End: end the session (transport, 2.7.8). */
export interface End {
  type: 'end';
  error?: AmqpErrorRecord;
}

/** Close: signal a connection close (transport, 2.7.9). */
export interface Close {
  type: 'close';
  error?: AmqpErrorRecord;
}

// Transport: definitions (2.8)

/** Error: details of an error (transport, 2.8.14). */
export interface AmqpErrorRecord {
  type: 'error';
  condition: string;
  description?: string;
  info?: Fields;
}

// Messaging: message format (3.2)

/** Header: transport headers for a message (messaging, 3.2.1). */
export interface Header {
  type: 'header';
  durable?: boolean;
  priority?: number;
  ttl?: number;
  firstAcquirer?: boolean;
  deliveryCount?: number;
}

/** Properties: immutable properties of the message (messaging, 3.2.4). */
export interface Properties {
  type: 'properties';
  messageId?: AmqpValue;
  userId?: Buffer;
  to?: AmqpValue;
  subject?: string;
  replyTo?: AmqpValue;
  correlationId?: AmqpValue;
  contentType?: string;
  contentEncoding?: string;
  absoluteExpiryTime?: Date;
  creationTime?: Date;
  groupId?: string;
  groupSequence?: number;
  replyToGroupId?: string;
}

// Messaging: delivery state (3.4)

/** Received: the state of a partially completed transfer (messaging, 3.4.1). */
export interface Received {
  type: 'received';
  sectionNumber: number;
  sectionOffset: number | bigint;
}

/** Accepted: the accepted outcome (messaging, 3.4.2). */
export interface Accepted {
  type: 'accepted';
}

/** Rejected: the rejected outcome (messaging, 3.4.3). */
export interface Rejected {
  type: 'rejected';
  error?: AmqpErrorRecord;
}

/** Released: the released outcome (messaging, 3.4.4). */
export interface Released {
  type: 'released';
}

/** Modified: the modified outcome (messaging, 3.4.5). */
export interface Modified {
  type: 'modified';
  deliveryFailed?: boolean;
  undeliverableHere?: boolean;
  messageAnnotations?: Fields;
}

// Messaging: addressing (3.5)

/** Source: the source of a link (messaging, 3.5.3). */
export interface Source {
  type: 'source';
  address?: AmqpValue;
  durable?: number;
  expiryPolicy?: string;
  timeout?: number;
  dynamic?: boolean;
  dynamicNodeProperties?: Fields;
  distributionMode?: string;
  filter?: Fields;
  defaultOutcome?: Outcome;
  outcomes?: string[];
  capabilities?: string[];
}

/** Target: the target of a link (messaging, 3.5.4). */
export interface Target {
  type: 'target';
  address?: AmqpValue;
  durable?: number;
  expiryPolicy?: string;
  timeout?: number;
  dynamic?: boolean;
  dynamicNodeProperties?: Fields;
  capabilities?: string[];
}

/** Delete-on-close: lifetime of a dynamic node ends with the link that created it (messaging, 3.5.10). */
export interface DeleteOnClose {
  type: 'delete-on-close';
}

/** Delete-on-no-links: lifetime of a dynamic node ends when it has no links (messaging, 3.5.11). */
export interface DeleteOnNoLinks {
  type: 'delete-on-no-links';
}

/** Delete-on-no-messages: lifetime of a dynamic node ends when it holds no messages (messaging, 3.5.12). */
export interface DeleteOnNoMessages {
  type: 'delete-on-no-messages';
}

/** Delete-on-no-links-or-messages: ends when it has neither links nor messages (messaging, 3.5.13). */
export interface DeleteOnNoLinksOrMessages {
  type: 'delete-on-no-links-or-messages';
}

// Security: SASL (5.3)

/** SASL mechanisms: advertise available sasl mechanisms (security, 5.3.3.1). */
export interface SaslMechanisms {
  type: 'sasl-mechanisms';
  saslServerMechanisms: string[];
}

/** SASL init: initiate sasl exchange (security, 5.3.3.2). */
export interface SaslInit {
  type: 'sasl-init';
  mechanism: string;
  initialResponse?: Buffer;
  hostname?: string;
}

/** SASL challenge: security mechanism challenge (security, 5.3.3.3). */
export interface SaslChallenge {
  type: 'sasl-challenge';
  challenge: Buffer;
}

/** SASL response: security mechanism response (security, 5.3.3.4). */
export interface SaslResponse {
  type: 'sasl-response';
  response: Buffer;
}

/** SASL outcome: indicates the outcome of the sasl dialog (security, 5.3.3.5). */
export interface SaslOutcome {
  type: 'sasl-outcome';
  code: number;
  additionalData?: Buffer;
}

// Transactions: coordination (4.5)

/** Coordinator: target for communicating with a transaction coordinator (transactions, 4.5.1). */
export interface Coordinator {
  type: 'coordinator';
  capabilities?: string[];
}

/** Declare: message body for declaring a transaction id (transactions, 4.5.2). */
export interface Declare {
  type: 'declare';
  globalId?: AmqpValue;
}

/** Discharge: message body for discharging a transaction (transactions, 4.5.3). */
export interface Discharge {
  type: 'discharge';
  txnId: Buffer;
  fail?: boolean;
}

/** Declared: the outcome of a successful declare (transactions, 4.5.5). */
export interface Declared {
  type: 'declared';
  txnId: Buffer;
}

/** Transactional state: the state of a transactional delivery (transactions, 4.5.6). */
export interface TransactionalState {
  type: 'transactional-state';
  txnId: Buffer;
  outcome?: Outcome;
}

// Unions

/** The composites that provide 'delivery-state' (messaging 3.4, transactions 4.5). */
export type DeliveryState =
  Received | Accepted | Rejected | Released | Modified | Declared | TransactionalState;

/** The composites that provide 'outcome' (messaging 3.4, transactions 4.5). */
export type Outcome = Accepted | Rejected | Released | Modified | Declared;

/** The AMQP frame bodies: the composites that provide 'frame' (transport 2.7). */
export type Performative = Open | Begin | Attach | Flow | Transfer | Disposition | Detach | End | Close;

/** The SASL frame bodies: the composites that provide 'sasl-frame' (security 5.3.3). */
export type SaslFrameBody = SaslMechanisms | SaslInit | SaslChallenge | SaslResponse | SaslOutcome;

/** The lifetime policies of a dynamic node: the composites that provide 'lifetime-policy' (messaging 3.5). */
export type LifetimePolicy = DeleteOnClose | DeleteOnNoLinks | DeleteOnNoMessages | DeleteOnNoLinksOrMessages;

/** Every composite record. */
export type CompositeRecord =
  | Open
  | Begin
  | Attach
  | Flow
  | Transfer
  | Disposition
  | Detach
  | End
  | Close
  | AmqpErrorRecord
  | Header
  | Properties
  | Received
  | Accepted
  | Rejected
  | Released
  | Modified
  | Source
  | Target
  | DeleteOnClose
  | DeleteOnNoLinks
  | DeleteOnNoMessages
  | DeleteOnNoLinksOrMessages
  | SaslMechanisms
  | SaslInit
  | SaslChallenge
  | SaslResponse
  | SaslOutcome
  | Coordinator
  | Declare
  | Discharge
  | Declared
  | TransactionalState;

/** The spec name of a composite record: 'open', 'error', 'sasl-init', ... */
export type CompositeName = CompositeRecord['type'];

/** The record interface for a spec name: RecordOf<'open'> is Open. */
export type RecordOf<N extends CompositeName> = Extract<CompositeRecord, { type: N }>;
