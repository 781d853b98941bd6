/**
 * The AMQP 1.0 type system as data: every composite and restricted type defined in the spec's
 * transport, messaging, security and transactions XML (spec/amqp-1.0/*.bare.xml), written out by
 * hand as literal tables. Nothing here reads XML at runtime; test/codec/spec-conformance.test.ts
 * checks these tables against the vendored XML, entry by entry and field by field.
 *
 * Names, types, requires and defaults are the spec's strings verbatim; `key` is the camelCase name a
 * decoded record uses for the field.
 */

/** One field of a composite type, in list order. */
export interface FieldSpec {
  /** The field name as the spec spells it: 'container-id'. */
  name: string;
  /** The camelCase record key: 'containerId'. */
  key: string;
  /** The spec's type attribute verbatim: 'string', 'handle', '*', 'error', ... */
  type: string;
  /** mandatory="true" in the spec. */
  mandatory: boolean;
  /** multiple="true" in the spec: the field holds an array of `type`. */
  multiple: boolean;
  /** The spec's requires="..." verbatim, when present: an archetype the value must provide. */
  requires?: string;
  /** The spec's default="..." verbatim, when present. */
  default?: string;
}

/** A composite type: a described list with named fields. */
export interface CompositeType {
  name: string;
  /** The numeric descriptor, (domain << 32) | id. */
  code: bigint;
  /** The symbolic descriptor: 'amqp:open:list'. */
  descriptorName: string;
  source: 'list';
  /** The archetypes this type provides ('frame', 'delivery-state', 'outcome', ...); [] when none. */
  provides: string[];
  fields: FieldSpec[];
}

/** A restricted type: another type with a narrower meaning, optionally described, optionally enumerated. */
export interface RestrictedType {
  name: string;
  /** The type it restricts: a primitive, another restricted type, or '*'. */
  source: string;
  provides: string[];
  /** Only for restricted types that carry a descriptor (the message sections). */
  code?: bigint;
  descriptorName?: string;
  /** The <choice> entries, when the type is an enumeration. */
  choices?: { name: string; value: string }[];
}

export const compositeTypes: Readonly<Record<string, CompositeType>> = deepFreeze({
  // transport.xml
  open: {
    name: 'open',
    code: 0x0000000000000010n,
    descriptorName: 'amqp:open:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'container-id', key: 'containerId', type: 'string', mandatory: true, multiple: false },
      { name: 'hostname', key: 'hostname', type: 'string', mandatory: false, multiple: false },
      {
        name: 'max-frame-size',
        key: 'maxFrameSize',
        type: 'uint',
        mandatory: false,
        multiple: false,
        default: '4294967295',
      },
      {
        name: 'channel-max',
        key: 'channelMax',
        type: 'ushort',
        mandatory: false,
        multiple: false,
        default: '65535',
      },
      { name: 'idle-time-out', key: 'idleTimeOut', type: 'milliseconds', mandatory: false, multiple: false },
      {
        name: 'outgoing-locales',
        key: 'outgoingLocales',
        type: 'ietf-language-tag',
        mandatory: false,
        multiple: true,
      },
      {
        name: 'incoming-locales',
        key: 'incomingLocales',
        type: 'ietf-language-tag',
        mandatory: false,
        multiple: true,
      },
      {
        name: 'offered-capabilities',
        key: 'offeredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      {
        name: 'desired-capabilities',
        key: 'desiredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      { name: 'properties', key: 'properties', type: 'fields', mandatory: false, multiple: false },
    ],
  },
  begin: {
    name: 'begin',
    code: 0x0000000000000011n,
    descriptorName: 'amqp:begin:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'remote-channel', key: 'remoteChannel', type: 'ushort', mandatory: false, multiple: false },
      {
        name: 'next-outgoing-id',
        key: 'nextOutgoingId',
        type: 'transfer-number',
        mandatory: true,
        multiple: false,
      },
      { name: 'incoming-window', key: 'incomingWindow', type: 'uint', mandatory: true, multiple: false },
      { name: 'outgoing-window', key: 'outgoingWindow', type: 'uint', mandatory: true, multiple: false },
      {
        name: 'handle-max',
        key: 'handleMax',
        type: 'handle',
        mandatory: false,
        multiple: false,
        default: '4294967295',
      },
      {
        name: 'offered-capabilities',
        key: 'offeredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      {
        name: 'desired-capabilities',
        key: 'desiredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      { name: 'properties', key: 'properties', type: 'fields', mandatory: false, multiple: false },
    ],
  },
  attach: {
    name: 'attach',
    code: 0x0000000000000012n,
    descriptorName: 'amqp:attach:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'name', key: 'name', type: 'string', mandatory: true, multiple: false },
      { name: 'handle', key: 'handle', type: 'handle', mandatory: true, multiple: false },
      { name: 'role', key: 'role', type: 'role', mandatory: true, multiple: false },
      {
        name: 'snd-settle-mode',
        key: 'sndSettleMode',
        type: 'sender-settle-mode',
        mandatory: false,
        multiple: false,
        default: 'mixed',
      },
      {
        name: 'rcv-settle-mode',
        key: 'rcvSettleMode',
        type: 'receiver-settle-mode',
        mandatory: false,
        multiple: false,
        default: 'first',
      },
      { name: 'source', key: 'source', type: '*', mandatory: false, multiple: false, requires: 'source' },
      { name: 'target', key: 'target', type: '*', mandatory: false, multiple: false, requires: 'target' },
      { name: 'unsettled', key: 'unsettled', type: 'map', mandatory: false, multiple: false },
      {
        name: 'incomplete-unsettled',
        key: 'incompleteUnsettled',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
      {
        name: 'initial-delivery-count',
        key: 'initialDeliveryCount',
        type: 'sequence-no',
        mandatory: false,
        multiple: false,
      },
      { name: 'max-message-size', key: 'maxMessageSize', type: 'ulong', mandatory: false, multiple: false },
      {
        name: 'offered-capabilities',
        key: 'offeredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      {
        name: 'desired-capabilities',
        key: 'desiredCapabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
      },
      { name: 'properties', key: 'properties', type: 'fields', mandatory: false, multiple: false },
    ],
  },
  flow: {
    name: 'flow',
    code: 0x0000000000000013n,
    descriptorName: 'amqp:flow:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      {
        name: 'next-incoming-id',
        key: 'nextIncomingId',
        type: 'transfer-number',
        mandatory: false,
        multiple: false,
      },
      { name: 'incoming-window', key: 'incomingWindow', type: 'uint', mandatory: true, multiple: false },
      {
        name: 'next-outgoing-id',
        key: 'nextOutgoingId',
        type: 'transfer-number',
        mandatory: true,
        multiple: false,
      },
      { name: 'outgoing-window', key: 'outgoingWindow', type: 'uint', mandatory: true, multiple: false },
      { name: 'handle', key: 'handle', type: 'handle', mandatory: false, multiple: false },
      {
        name: 'delivery-count',
        key: 'deliveryCount',
        type: 'sequence-no',
        mandatory: false,
        multiple: false,
      },
      { name: 'link-credit', key: 'linkCredit', type: 'uint', mandatory: false, multiple: false },
      { name: 'available', key: 'available', type: 'uint', mandatory: false, multiple: false },
      { name: 'drain', key: 'drain', type: 'boolean', mandatory: false, multiple: false, default: 'false' },
      { name: 'echo', key: 'echo', type: 'boolean', mandatory: false, multiple: false, default: 'false' },
      { name: 'properties', key: 'properties', type: 'fields', mandatory: false, multiple: false },
    ],
  },
  transfer: {
    name: 'transfer',
    code: 0x0000000000000014n,
    descriptorName: 'amqp:transfer:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'handle', key: 'handle', type: 'handle', mandatory: true, multiple: false },
      { name: 'delivery-id', key: 'deliveryId', type: 'delivery-number', mandatory: false, multiple: false },
      { name: 'delivery-tag', key: 'deliveryTag', type: 'delivery-tag', mandatory: false, multiple: false },
      {
        name: 'message-format',
        key: 'messageFormat',
        type: 'message-format',
        mandatory: false,
        multiple: false,
      },
      { name: 'settled', key: 'settled', type: 'boolean', mandatory: false, multiple: false },
      { name: 'more', key: 'more', type: 'boolean', mandatory: false, multiple: false, default: 'false' },
      {
        name: 'rcv-settle-mode',
        key: 'rcvSettleMode',
        type: 'receiver-settle-mode',
        mandatory: false,
        multiple: false,
      },
      {
        name: 'state',
        key: 'state',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'delivery-state',
      },
      { name: 'resume', key: 'resume', type: 'boolean', mandatory: false, multiple: false, default: 'false' },
      {
        name: 'aborted',
        key: 'aborted',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
      {
        name: 'batchable',
        key: 'batchable',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
    ],
  },
  disposition: {
    name: 'disposition',
    code: 0x0000000000000015n,
    descriptorName: 'amqp:disposition:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'role', key: 'role', type: 'role', mandatory: true, multiple: false },
      { name: 'first', key: 'first', type: 'delivery-number', mandatory: true, multiple: false },
      { name: 'last', key: 'last', type: 'delivery-number', mandatory: false, multiple: false },
      {
        name: 'settled',
        key: 'settled',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
      {
        name: 'state',
        key: 'state',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'delivery-state',
      },
      {
        name: 'batchable',
        key: 'batchable',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
    ],
  },
  detach: {
    name: 'detach',
    code: 0x0000000000000016n,
    descriptorName: 'amqp:detach:list',
    source: 'list',
    provides: ['frame'],
    fields: [
      { name: 'handle', key: 'handle', type: 'handle', mandatory: true, multiple: false },
      { name: 'closed', key: 'closed', type: 'boolean', mandatory: false, multiple: false, default: 'false' },
      { name: 'error', key: 'error', type: 'error', mandatory: false, multiple: false },
    ],
  },
  end: {
    name: 'end',
    code: 0x0000000000000017n,
    descriptorName: 'amqp:end:list',
    source: 'list',
    provides: ['frame'],
    fields: [{ name: 'error', key: 'error', type: 'error', mandatory: false, multiple: false }],
  },
  close: {
    name: 'close',
    code: 0x0000000000000018n,
    descriptorName: 'amqp:close:list',
    source: 'list',
    provides: ['frame'],
    fields: [{ name: 'error', key: 'error', type: 'error', mandatory: false, multiple: false }],
  },
  error: {
    name: 'error',
    code: 0x000000000000001dn,
    descriptorName: 'amqp:error:list',
    source: 'list',
    provides: [],
    fields: [
      {
        name: 'condition',
        key: 'condition',
        type: 'symbol',
        mandatory: true,
        multiple: false,
        requires: 'error-condition',
      },
      { name: 'description', key: 'description', type: 'string', mandatory: false, multiple: false },
      { name: 'info', key: 'info', type: 'fields', mandatory: false, multiple: false },
    ],
  },

  // messaging.xml
  header: {
    name: 'header',
    code: 0x0000000000000070n,
    descriptorName: 'amqp:header:list',
    source: 'list',
    provides: ['section'],
    fields: [
      { name: 'durable', key: 'durable', type: 'boolean', mandatory: false, multiple: false },
      { name: 'priority', key: 'priority', type: 'ubyte', mandatory: false, multiple: false },
      { name: 'ttl', key: 'ttl', type: 'milliseconds', mandatory: false, multiple: false },
      { name: 'first-acquirer', key: 'firstAcquirer', type: 'boolean', mandatory: false, multiple: false },
      { name: 'delivery-count', key: 'deliveryCount', type: 'uint', mandatory: false, multiple: false },
    ],
  },
  properties: {
    name: 'properties',
    code: 0x0000000000000073n,
    descriptorName: 'amqp:properties:list',
    source: 'list',
    provides: ['section'],
    fields: [
      {
        name: 'message-id',
        key: 'messageId',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'message-id',
      },
      { name: 'user-id', key: 'userId', type: 'binary', mandatory: false, multiple: false },
      { name: 'to', key: 'to', type: '*', mandatory: false, multiple: false, requires: 'address' },
      { name: 'subject', key: 'subject', type: 'string', mandatory: false, multiple: false },
      { name: 'reply-to', key: 'replyTo', type: '*', mandatory: false, multiple: false, requires: 'address' },
      {
        name: 'correlation-id',
        key: 'correlationId',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'message-id',
      },
      { name: 'content-type', key: 'contentType', type: 'symbol', mandatory: false, multiple: false },
      { name: 'content-encoding', key: 'contentEncoding', type: 'symbol', mandatory: false, multiple: false },
      {
        name: 'absolute-expiry-time',
        key: 'absoluteExpiryTime',
        type: 'timestamp',
        mandatory: false,
        multiple: false,
      },
      { name: 'creation-time', key: 'creationTime', type: 'timestamp', mandatory: false, multiple: false },
      { name: 'group-id', key: 'groupId', type: 'string', mandatory: false, multiple: false },
      {
        name: 'group-sequence',
        key: 'groupSequence',
        type: 'sequence-no',
        mandatory: false,
        multiple: false,
      },
      { name: 'reply-to-group-id', key: 'replyToGroupId', type: 'string', mandatory: false, multiple: false },
    ],
  },
  received: {
    name: 'received',
    code: 0x0000000000000023n,
    descriptorName: 'amqp:received:list',
    source: 'list',
    provides: ['delivery-state'],
    fields: [
      { name: 'section-number', key: 'sectionNumber', type: 'uint', mandatory: true, multiple: false },
      { name: 'section-offset', key: 'sectionOffset', type: 'ulong', mandatory: true, multiple: false },
    ],
  },
  accepted: {
    name: 'accepted',
    code: 0x0000000000000024n,
    descriptorName: 'amqp:accepted:list',
    source: 'list',
    provides: ['delivery-state', 'outcome'],
    fields: [],
  },
  rejected: {
    name: 'rejected',
    code: 0x0000000000000025n,
    descriptorName: 'amqp:rejected:list',
    source: 'list',
    provides: ['delivery-state', 'outcome'],
    fields: [{ name: 'error', key: 'error', type: 'error', mandatory: false, multiple: false }],
  },
  released: {
    name: 'released',
    code: 0x0000000000000026n,
    descriptorName: 'amqp:released:list',
    source: 'list',
    provides: ['delivery-state', 'outcome'],
    fields: [],
  },
  modified: {
    name: 'modified',
    code: 0x0000000000000027n,
    descriptorName: 'amqp:modified:list',
    source: 'list',
    provides: ['delivery-state', 'outcome'],
    fields: [
      { name: 'delivery-failed', key: 'deliveryFailed', type: 'boolean', mandatory: false, multiple: false },
      {
        name: 'undeliverable-here',
        key: 'undeliverableHere',
        type: 'boolean',
        mandatory: false,
        multiple: false,
      },
      {
        name: 'message-annotations',
        key: 'messageAnnotations',
        type: 'fields',
        mandatory: false,
        multiple: false,
      },
    ],
  },
  source: {
    name: 'source',
    code: 0x0000000000000028n,
    descriptorName: 'amqp:source:list',
    source: 'list',
    provides: ['source'],
    fields: [
      { name: 'address', key: 'address', type: '*', mandatory: false, multiple: false, requires: 'address' },
      {
        name: 'durable',
        key: 'durable',
        type: 'terminus-durability',
        mandatory: false,
        multiple: false,
        default: 'none',
      },
      {
        name: 'expiry-policy',
        key: 'expiryPolicy',
        type: 'terminus-expiry-policy',
        mandatory: false,
        multiple: false,
        default: 'session-end',
      },
      { name: 'timeout', key: 'timeout', type: 'seconds', mandatory: false, multiple: false, default: '0' },
      {
        name: 'dynamic',
        key: 'dynamic',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
      {
        name: 'dynamic-node-properties',
        key: 'dynamicNodeProperties',
        type: 'node-properties',
        mandatory: false,
        multiple: false,
      },
      {
        name: 'distribution-mode',
        key: 'distributionMode',
        type: 'symbol',
        mandatory: false,
        multiple: false,
        requires: 'distribution-mode',
      },
      { name: 'filter', key: 'filter', type: 'filter-set', mandatory: false, multiple: false },
      {
        name: 'default-outcome',
        key: 'defaultOutcome',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'outcome',
      },
      { name: 'outcomes', key: 'outcomes', type: 'symbol', mandatory: false, multiple: true },
      { name: 'capabilities', key: 'capabilities', type: 'symbol', mandatory: false, multiple: true },
    ],
  },
  target: {
    name: 'target',
    code: 0x0000000000000029n,
    descriptorName: 'amqp:target:list',
    source: 'list',
    provides: ['target'],
    fields: [
      { name: 'address', key: 'address', type: '*', mandatory: false, multiple: false, requires: 'address' },
      {
        name: 'durable',
        key: 'durable',
        type: 'terminus-durability',
        mandatory: false,
        multiple: false,
        default: 'none',
      },
      {
        name: 'expiry-policy',
        key: 'expiryPolicy',
        type: 'terminus-expiry-policy',
        mandatory: false,
        multiple: false,
        default: 'session-end',
      },
      { name: 'timeout', key: 'timeout', type: 'seconds', mandatory: false, multiple: false, default: '0' },
      {
        name: 'dynamic',
        key: 'dynamic',
        type: 'boolean',
        mandatory: false,
        multiple: false,
        default: 'false',
      },
      {
        name: 'dynamic-node-properties',
        key: 'dynamicNodeProperties',
        type: 'node-properties',
        mandatory: false,
        multiple: false,
      },
      { name: 'capabilities', key: 'capabilities', type: 'symbol', mandatory: false, multiple: true },
    ],
  },
  'delete-on-close': {
    name: 'delete-on-close',
    code: 0x000000000000002bn,
    descriptorName: 'amqp:delete-on-close:list',
    source: 'list',
    provides: ['lifetime-policy'],
    fields: [],
  },
  'delete-on-no-links': {
    name: 'delete-on-no-links',
    code: 0x000000000000002cn,
    descriptorName: 'amqp:delete-on-no-links:list',
    source: 'list',
    provides: ['lifetime-policy'],
    fields: [],
  },
  'delete-on-no-messages': {
    name: 'delete-on-no-messages',
    code: 0x000000000000002dn,
    descriptorName: 'amqp:delete-on-no-messages:list',
    source: 'list',
    provides: ['lifetime-policy'],
    fields: [],
  },
  'delete-on-no-links-or-messages': {
    name: 'delete-on-no-links-or-messages',
    code: 0x000000000000002en,
    descriptorName: 'amqp:delete-on-no-links-or-messages:list',
    source: 'list',
    provides: ['lifetime-policy'],
    fields: [],
  },

  // security.xml
  'sasl-mechanisms': {
    name: 'sasl-mechanisms',
    code: 0x0000000000000040n,
    descriptorName: 'amqp:sasl-mechanisms:list',
    source: 'list',
    provides: ['sasl-frame'],
    fields: [
      {
        name: 'sasl-server-mechanisms',
        key: 'saslServerMechanisms',
        type: 'symbol',
        mandatory: true,
        multiple: true,
      },
    ],
  },
  'sasl-init': {
    name: 'sasl-init',
    code: 0x0000000000000041n,
    descriptorName: 'amqp:sasl-init:list',
    source: 'list',
    provides: ['sasl-frame'],
    fields: [
      { name: 'mechanism', key: 'mechanism', type: 'symbol', mandatory: true, multiple: false },
      { name: 'initial-response', key: 'initialResponse', type: 'binary', mandatory: false, multiple: false },
      { name: 'hostname', key: 'hostname', type: 'string', mandatory: false, multiple: false },
    ],
  },
  'sasl-challenge': {
    name: 'sasl-challenge',
    code: 0x0000000000000042n,
    descriptorName: 'amqp:sasl-challenge:list',
    source: 'list',
    provides: ['sasl-frame'],
    fields: [{ name: 'challenge', key: 'challenge', type: 'binary', mandatory: true, multiple: false }],
  },
  'sasl-response': {
    name: 'sasl-response',
    code: 0x0000000000000043n,
    descriptorName: 'amqp:sasl-response:list',
    source: 'list',
    provides: ['sasl-frame'],
    fields: [{ name: 'response', key: 'response', type: 'binary', mandatory: true, multiple: false }],
  },
  'sasl-outcome': {
    name: 'sasl-outcome',
    code: 0x0000000000000044n,
    descriptorName: 'amqp:sasl-outcome:list',
    source: 'list',
    provides: ['sasl-frame'],
    fields: [
      { name: 'code', key: 'code', type: 'sasl-code', mandatory: true, multiple: false },
      { name: 'additional-data', key: 'additionalData', type: 'binary', mandatory: false, multiple: false },
    ],
  },

  // transactions.xml
  coordinator: {
    name: 'coordinator',
    code: 0x0000000000000030n,
    descriptorName: 'amqp:coordinator:list',
    source: 'list',
    provides: ['target'],
    fields: [
      {
        name: 'capabilities',
        key: 'capabilities',
        type: 'symbol',
        mandatory: false,
        multiple: true,
        requires: 'txn-capability',
      },
    ],
  },
  declare: {
    name: 'declare',
    code: 0x0000000000000031n,
    descriptorName: 'amqp:declare:list',
    source: 'list',
    provides: [],
    fields: [
      {
        name: 'global-id',
        key: 'globalId',
        type: '*',
        mandatory: false,
        multiple: false,
        requires: 'global-tx-id',
      },
    ],
  },
  discharge: {
    name: 'discharge',
    code: 0x0000000000000032n,
    descriptorName: 'amqp:discharge:list',
    source: 'list',
    provides: [],
    fields: [
      { name: 'txn-id', key: 'txnId', type: '*', mandatory: true, multiple: false, requires: 'txn-id' },
      { name: 'fail', key: 'fail', type: 'boolean', mandatory: false, multiple: false },
    ],
  },
  declared: {
    name: 'declared',
    code: 0x0000000000000033n,
    descriptorName: 'amqp:declared:list',
    source: 'list',
    provides: ['delivery-state', 'outcome'],
    fields: [
      { name: 'txn-id', key: 'txnId', type: '*', mandatory: true, multiple: false, requires: 'txn-id' },
    ],
  },
  'transactional-state': {
    name: 'transactional-state',
    code: 0x0000000000000034n,
    descriptorName: 'amqp:transactional-state:list',
    source: 'list',
    provides: ['delivery-state'],
    fields: [
      { name: 'txn-id', key: 'txnId', type: '*', mandatory: true, multiple: false, requires: 'txn-id' },
      { name: 'outcome', key: 'outcome', type: '*', mandatory: false, multiple: false, requires: 'outcome' },
    ],
  },
});

export const restrictedTypes: Readonly<Record<string, RestrictedType>> = deepFreeze({
  // transport.xml
  role: {
    name: 'role',
    source: 'boolean',
    provides: [],
    choices: [
      { name: 'sender', value: 'false' },
      { name: 'receiver', value: 'true' },
    ],
  },
  'sender-settle-mode': {
    name: 'sender-settle-mode',
    source: 'ubyte',
    provides: [],
    choices: [
      { name: 'unsettled', value: '0' },
      { name: 'settled', value: '1' },
      { name: 'mixed', value: '2' },
    ],
  },
  'receiver-settle-mode': {
    name: 'receiver-settle-mode',
    source: 'ubyte',
    provides: [],
    choices: [
      { name: 'first', value: '0' },
      { name: 'second', value: '1' },
    ],
  },
  handle: {
    name: 'handle',
    source: 'uint',
    provides: [],
  },
  seconds: {
    name: 'seconds',
    source: 'uint',
    provides: [],
  },
  milliseconds: {
    name: 'milliseconds',
    source: 'uint',
    provides: [],
  },
  'delivery-tag': {
    name: 'delivery-tag',
    source: 'binary',
    provides: [],
  },
  'delivery-number': {
    name: 'delivery-number',
    source: 'sequence-no',
    provides: [],
  },
  'transfer-number': {
    name: 'transfer-number',
    source: 'sequence-no',
    provides: [],
  },
  'sequence-no': {
    name: 'sequence-no',
    source: 'uint',
    provides: [],
  },
  'message-format': {
    name: 'message-format',
    source: 'uint',
    provides: [],
  },
  'ietf-language-tag': {
    name: 'ietf-language-tag',
    source: 'symbol',
    provides: [],
  },
  fields: {
    name: 'fields',
    source: 'map',
    provides: [],
  },
  'amqp-error': {
    name: 'amqp-error',
    source: 'symbol',
    provides: ['error-condition'],
    choices: [
      { name: 'internal-error', value: 'amqp:internal-error' },
      { name: 'not-found', value: 'amqp:not-found' },
      { name: 'unauthorized-access', value: 'amqp:unauthorized-access' },
      { name: 'decode-error', value: 'amqp:decode-error' },
      { name: 'resource-limit-exceeded', value: 'amqp:resource-limit-exceeded' },
      { name: 'not-allowed', value: 'amqp:not-allowed' },
      { name: 'invalid-field', value: 'amqp:invalid-field' },
      { name: 'not-implemented', value: 'amqp:not-implemented' },
      { name: 'resource-locked', value: 'amqp:resource-locked' },
      { name: 'precondition-failed', value: 'amqp:precondition-failed' },
      { name: 'resource-deleted', value: 'amqp:resource-deleted' },
      { name: 'illegal-state', value: 'amqp:illegal-state' },
      { name: 'frame-size-too-small', value: 'amqp:frame-size-too-small' },
    ],
  },
  'connection-error': {
    name: 'connection-error',
    source: 'symbol',
    provides: ['error-condition'],
    choices: [
      { name: 'connection-forced', value: 'amqp:connection:forced' },
      { name: 'framing-error', value: 'amqp:connection:framing-error' },
      { name: 'redirect', value: 'amqp:connection:redirect' },
    ],
  },
  'session-error': {
    name: 'session-error',
    source: 'symbol',
    provides: ['error-condition'],
    choices: [
      { name: 'window-violation', value: 'amqp:session:window-violation' },
      { name: 'errant-link', value: 'amqp:session:errant-link' },
      { name: 'handle-in-use', value: 'amqp:session:handle-in-use' },
      { name: 'unattached-handle', value: 'amqp:session:unattached-handle' },
    ],
  },
  'link-error': {
    name: 'link-error',
    source: 'symbol',
    provides: ['error-condition'],
    choices: [
      { name: 'detach-forced', value: 'amqp:link:detach-forced' },
      { name: 'transfer-limit-exceeded', value: 'amqp:link:transfer-limit-exceeded' },
      { name: 'message-size-exceeded', value: 'amqp:link:message-size-exceeded' },
      { name: 'redirect', value: 'amqp:link:redirect' },
      { name: 'stolen', value: 'amqp:link:stolen' },
    ],
  },

  // messaging.xml
  'delivery-annotations': {
    name: 'delivery-annotations',
    source: 'annotations',
    provides: ['section'],
    code: 0x0000000000000071n,
    descriptorName: 'amqp:delivery-annotations:map',
  },
  'message-annotations': {
    name: 'message-annotations',
    source: 'annotations',
    provides: ['section'],
    code: 0x0000000000000072n,
    descriptorName: 'amqp:message-annotations:map',
  },
  'application-properties': {
    name: 'application-properties',
    source: 'map',
    provides: ['section'],
    code: 0x0000000000000074n,
    descriptorName: 'amqp:application-properties:map',
  },
  data: {
    name: 'data',
    source: 'binary',
    provides: ['section'],
    code: 0x0000000000000075n,
    descriptorName: 'amqp:data:binary',
  },
  'amqp-sequence': {
    name: 'amqp-sequence',
    source: 'list',
    provides: ['section'],
    code: 0x0000000000000076n,
    descriptorName: 'amqp:amqp-sequence:list',
  },
  'amqp-value': {
    name: 'amqp-value',
    source: '*',
    provides: ['section'],
    code: 0x0000000000000077n,
    descriptorName: 'amqp:amqp-value:*',
  },
  footer: {
    name: 'footer',
    source: 'annotations',
    provides: ['section'],
    code: 0x0000000000000078n,
    descriptorName: 'amqp:footer:map',
  },
  annotations: {
    name: 'annotations',
    source: 'map',
    provides: [],
  },
  'message-id-ulong': {
    name: 'message-id-ulong',
    source: 'ulong',
    provides: ['message-id'],
  },
  'message-id-uuid': {
    name: 'message-id-uuid',
    source: 'uuid',
    provides: ['message-id'],
  },
  'message-id-binary': {
    name: 'message-id-binary',
    source: 'binary',
    provides: ['message-id'],
  },
  'message-id-string': {
    name: 'message-id-string',
    source: 'string',
    provides: ['message-id'],
  },
  'address-string': {
    name: 'address-string',
    source: 'string',
    provides: ['address'],
  },
  'terminus-durability': {
    name: 'terminus-durability',
    source: 'uint',
    provides: [],
    choices: [
      { name: 'none', value: '0' },
      { name: 'configuration', value: '1' },
      { name: 'unsettled-state', value: '2' },
    ],
  },
  'terminus-expiry-policy': {
    name: 'terminus-expiry-policy',
    source: 'symbol',
    provides: [],
    choices: [
      { name: 'link-detach', value: 'link-detach' },
      { name: 'session-end', value: 'session-end' },
      { name: 'connection-close', value: 'connection-close' },
      { name: 'never', value: 'never' },
    ],
  },
  'std-dist-mode': {
    name: 'std-dist-mode',
    source: 'symbol',
    provides: ['distribution-mode'],
    choices: [
      { name: 'move', value: 'move' },
      { name: 'copy', value: 'copy' },
    ],
  },
  'filter-set': {
    name: 'filter-set',
    source: 'map',
    provides: [],
  },
  'node-properties': {
    name: 'node-properties',
    source: 'fields',
    provides: [],
  },

  // security.xml
  'sasl-code': {
    name: 'sasl-code',
    source: 'ubyte',
    provides: [],
    choices: [
      { name: 'ok', value: '0' },
      { name: 'auth', value: '1' },
      { name: 'sys', value: '2' },
      { name: 'sys-perm', value: '3' },
      { name: 'sys-temp', value: '4' },
    ],
  },

  // transactions.xml
  'transaction-id': {
    name: 'transaction-id',
    source: 'binary',
    provides: ['txn-id'],
  },
  'txn-capability': {
    name: 'txn-capability',
    source: 'symbol',
    provides: ['txn-capability'],
    choices: [
      { name: 'local-transactions', value: 'amqp:local-transactions' },
      { name: 'distributed-transactions', value: 'amqp:distributed-transactions' },
      { name: 'promotable-transactions', value: 'amqp:promotable-transactions' },
      { name: 'multi-txns-per-ssn', value: 'amqp:multi-txns-per-ssn' },
      { name: 'multi-ssns-per-txn', value: 'amqp:multi-ssns-per-txn' },
    ],
  },
  'transaction-error': {
    name: 'transaction-error',
    source: 'symbol',
    provides: ['error-condition'],
    choices: [
      { name: 'unknown-id', value: 'amqp:transaction:unknown-id' },
      { name: 'transaction-rollback', value: 'amqp:transaction:rollback' },
      { name: 'transaction-timeout', value: 'amqp:transaction:timeout' },
    ],
  },
});

/** Every composite type by its numeric descriptor. */
export const compositeByCode: ReadonlyMap<bigint, CompositeType> = new Map(
  Object.values(compositeTypes).map((t) => [t.code, t]),
);

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
