/**
 * The link state shared by senders and receivers: attach/detach, the terminus, settle modes and
 * the credit state of spec 2.6.7 (delivery-count, link-credit, available, drain).
 */
import type { Attach, Coordinator, Detach, Fields, Flow, Source, Target } from '../codec/spec/records.js';
import {
  LinkError,
  toErrorRecord,
  remoteError,
  type AmqpError,
  type ProtocolError,
} from '../protocol/errors.js';
import type { Session } from '../session/session.js';
import { opt, type OptionSchema } from '../protocol/options.js';

/** Where a link endpoint stands, for each side. */
export type EndpointState = 'unattached' | 'attached' | 'detached';

/** A link's role on the wire (spec 2.8.1): a boolean, false for the sender, true for the receiver. */
export const Role = { Sender: false, Receiver: true } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Sender settle modes (spec 2.8.2) and receiver settle modes (2.8.3). */
export const SenderSettleMode = { Unsettled: 0, Settled: 1, Mixed: 2 } as const;
/** The receiver settle modes (spec 2.8.3): settle at once, or after the sender settled. */
export const ReceiverSettleMode = { First: 0, Second: 1 } as const;

/** A source terminus to attach with. */
export type SourceOptions = Omit<Source, 'type'>;
/** A target terminus to attach with. */
export type TargetOptions = Omit<Target, 'type'>;

/** Options of a link's attach. */
export interface LinkOptions {
  /** Link name; unique per connection and direction. Generated when absent. */
  name?: string;
  /** The source terminus; `null` sends no source (a coordinator link, say). */
  source?: SourceOptions | null;
  /** The target terminus, or a transaction coordinator. */
  target?: TargetOptions | Coordinator | null;
  sndSettleMode?: number;
  rcvSettleMode?: number;
  /** The largest message we accept (receiver) or will send (sender); absent or 0 means no limit. */
  maxMessageSize?: number | bigint;
  properties?: Fields;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  /** Sender only: the delivery-count to start from (default 0). */
  initialDeliveryCount?: number;
}

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

let nameCounter = 0;

/** What senders and receivers share: attach and detach, termini, settle modes. */
export abstract class Link {
  abstract readonly role: 'sender' | 'receiver';
  readonly name: string;
  readonly handle: number;
  remoteHandle = -1;
  local: EndpointState = 'unattached';
  remote: EndpointState = 'unattached';
  /** The peer's attach, once it arrived. */
  remoteAttach: Attach | undefined;
  /** The peer's detach error or the error we detached with. */
  error: ProtocolError | undefined;
  /** Closed (true) or merely detached (false), as our detach said. */
  closed = false;
  /** Closed (true) or merely detached (false), as the peer's detach said. */
  remoteClosed = false;

  /** Spec 2.6.7 flow state. */
  deliveryCount = 0;
  /** The delivery-count a sender starts from (its attach's initial-delivery-count). */
  readonly initialDeliveryCount: number;
  linkCredit = 0;
  available = 0;
  drain = false;
  /** @internal A flow frame for this link is waiting to be written with the next output. */
  flowPending = false;
  /** @internal */
  echoPending = false;

  /** For the layer above. */
  context: unknown;

  constructor(
    readonly session: Session,
    handle: number,
    readonly options: LinkOptions,
  ) {
    this.handle = handle;
    this.name = options.name ?? `${session.connection.containerId}-${++nameCounter}`;
    this.initialDeliveryCount = (options.initialDeliveryCount ?? 0) >>> 0;
    this.deliveryCount = this.initialDeliveryCount;
  }

  /** True once both attaches were exchanged and neither side has detached. */
  get isOpen(): boolean {
    return this.local === 'attached' && this.remote === 'attached';
  }

  /** The peer's max-message-size, 0 meaning none. */
  get remoteMaxMessageSize(): number {
    const m = this.remoteAttach?.maxMessageSize;
    return m === undefined ? 0 : Number(m);
  }

  /** Writes our attach. */
  attach(): void {
    if (this.local !== 'unattached') return;
    this.local = 'attached';
    const o = this.options;
    const rec: Attach = {
      type: 'attach',
      name: this.name,
      handle: this.handle,
      role: this.role === 'receiver' ? Role.Receiver : Role.Sender,
      sndSettleMode: o.sndSettleMode,
      rcvSettleMode: o.rcvSettleMode,
      // The type goes last: a terminus copied from a record must not bring its own (or none).
      source: o.source === null ? undefined : { ...o.source, type: 'source' },
      target:
        o.target === null
          ? undefined
          : o.target && (o.target as Coordinator).type === 'coordinator'
            ? (o.target as Coordinator)
            : { ...(o.target as TargetOptions | undefined), type: 'target' },
      initialDeliveryCount: this.role === 'sender' ? this.deliveryCount : undefined,
      maxMessageSize: o.maxMessageSize,
      offeredCapabilities: o.offeredCapabilities,
      desiredCapabilities: o.desiredCapabilities,
      properties: o.properties,
    };
    this.session.write(rec);
    this.onAttachSent();
  }

  /** Writes our detach (closing the link unless `closed` is false). */
  detach(options: { closed?: boolean; error?: AmqpError } = {}): void {
    if (this.local === 'detached') return;
    if (this.local === 'unattached') this.attach();
    this.local = 'detached';
    this.closed = options.closed ?? true;
    this.onDetaching();
    this.session.flushDispositions();
    this.session.write({
      type: 'detach',
      handle: this.handle,
      closed: this.closed,
      error: options.error ? toErrorRecord(options.error) : undefined,
    });
    if (options.error && !this.error) this.error = new LinkError(options.error, false);
    this.session.linkDetached(this);
  }

  /** @internal The peer's attach arrived. */
  onRemoteAttach(a: Attach): void {
    this.remoteAttach = a;
    this.remote = 'attached';
    this.onRemoteAttachState(a);
  }

  /** @internal The peer's detach arrived. Answers it if we had not detached. */
  onRemoteDetach(d: Detach): void {
    this.remote = 'detached';
    this.remoteClosed = d.closed ?? false;
    if (d.error)
      this.error = remoteError('link', {
        condition: d.error.condition,
        description: d.error.description,
        info: d.error.info,
      });
    if (this.local !== 'detached') this.detach({ closed: d.closed ?? false });
    else this.session.linkDetached(this);
  }

  /** @internal Builds the link part of a flow frame. */
  flowFields(): Pick<Flow, 'handle' | 'deliveryCount' | 'linkCredit' | 'available' | 'drain'> {
    return {
      handle: this.handle,
      deliveryCount: this.deliveryCount,
      linkCredit: this.linkCredit,
      available: this.available,
      drain: this.drain,
    };
  }

  /** @internal Writes a flow frame for this link now (with the session's state). False if none was written. */
  writeFlow(echo = false): boolean {
    if (this.local === 'unattached') return false; // credit set before our attach waits for it
    this.flowPending = false;
    this.echoPending = false;
    if (this.local !== 'attached') return false;
    this.session.writeFlow(this, echo);
    return true;
  }

  /** @internal */
  abstract onFlow(f: Flow): void;
  /** @internal */
  protected onAttachSent(): void {}
  /** @internal */
  protected onRemoteAttachState(_a: Attach): void {}
  /** @internal */
  protected onDetaching(): void {}
}
