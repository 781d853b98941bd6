/**
 * The service side of IoT Hub: C2D sends with delivery feedback, and telemetry read through the
 * Event Hubs-compatible endpoint (following the redirect by itself).
 *
 *   const service = ServiceClient.fromConnectionString(cs, { tls: { ca } });
 *   const { messageId } = await service.send('d1', jsonMessage({ on: true }), { ack: 'full' });
 *   for await (const batch of service.feedback()) console.log(batch.records);
 *   for await (const event of service.events({ from: 'earliest' })) console.log(event.systemProperties.deviceId);
 */
import { ClosedError } from '../../api/errors.js';
import type { MessageReceiver } from '../../api/receiver.js';
import { Condition } from '../../protocol/conditions.js';
import type { TlsOptions } from '../../transport/open-socket.js';
import { ServiceConnectionString } from '../connection-string.js';
import { IotHubConfigError } from '../errors.js';
import type { SasKeyEncoding } from '../sas-token.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { idText } from '../message-values.js';
import type { AckMode } from './c2d.js';
import {
  iothubClientOptions,
  SEND_EVENT_OPTIONS,
  STREAM_OPTIONS,
  closeReceiverAfterSettling,
  resolvePort,
  resolveTls,
  resolveTransport,
  SERVICEBUS_WEBSOCKET_PATH,
  type IotHubClientOptions,
} from './client-options.js';
import { EVENTS_OPTIONS, EventStream, type EventsOptions } from './event-stream.js';
import type { EventHubEndpoint } from './events.js';
import { FeedbackBatch, FEEDBACK_ADDRESS, parseFeedbackMessage } from './feedback.js';
import { HubClient, type Backoff } from './hub-client.js';
import { HubConnection, type HubAuth } from './hub-connection.js';
import { toAmqpMessage, type IotHubMessage } from './message.js';
import { fixedTokenProvider, type TokenProvider } from './token.js';
import { nodeHubPlatform, sasKeyTokenProvider } from './node-platform.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';
import { TLS_OPTIONS } from '../../transport/open-socket.js';

/** Where a service sends C2D messages. */
export const SERVICE_C2D_ADDRESS = '/messages/devicebound';

/** Options of {@link ServiceClient}. */
export interface ServiceClientOptions extends IotHubClientOptions {
  /**
   * How to authenticate on the Event Hubs-compatible endpoint after the redirect, with the same
   * policy and key: 'plain' (default: SASL PLAIN `{policy}@sas.root.{hub}`, token for
   * `{hub host}/messages/events`, as the event-hubs redirect sample and .NET do) or 'cbs'
   * (SASL ANONYMOUS then put-token for `sb://{host}/{event hub}`, as the event-hubs SDK does).
   */
  eventHubAuth?: 'plain' | 'cbs';
  /**
   * How the key is turned into HMAC bytes on the Event Hubs-compatible endpoint (default: 'base64'
   * with 'plain', as IoT Hub signs; 'utf8' with 'cbs', as Event Hubs clients sign).
   */
  eventHubKeyEncoding?: SasKeyEncoding;
  /** TLS options for the Event Hubs-compatible endpoint (default: the hub's, with its host name). */
  eventHubTls?: TlsOptions;
}

/** Options of {@link ServiceClient.send}. */
export interface C2DSendOptions {
  /** Feedback to ask for (`iothub-ack`); default none. */
  ack?: AckMode;
  /** Expire the message this long after now (ms): the hub then reports `Expired` feedback. */
  expiryMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What {@link ServiceClient.send} resolves with. */
export interface C2DSendResult {
  /** The message id sent (the feedback's originalMessageId), in text form. */
  messageId: string;
}

const ACKS = new Set(['none', 'positive', 'negative', 'full']);

// The service client runs on Node only (the events redirect, Node's TLS options).
export const SERVICE_CLIENT_OPTIONS = {
  ...(iothubClientOptions(nodeHubPlatform) as OptionSchema<IotHubClientOptions>),
  eventHubAuth: opt.oneOf('plain', 'cbs'),
  eventHubKeyEncoding: opt.oneOf('base64', 'utf8'),
  eventHubTls: opt.nested(TLS_OPTIONS, 'TLS options'),
} satisfies OptionSchema<ServiceClientOptions>;

const FEEDBACK_OPTIONS = STREAM_OPTIONS satisfies OptionSchema<
  NonNullable<Parameters<ServiceClient['feedback']>[0]>
>;

const C2D_SEND_OPTIONS = {
  ...SEND_EVENT_OPTIONS,
  // send() answers a bad ack with an IotHubConfigError naming it, as before.
  ack: opt.any,
  expiryMs: opt.number,
} satisfies OptionSchema<C2DSendOptions>;

/**
 * Events: 'connected' (generation), 'disconnected' (error), 'token-renewed' (TokenInfo), 'error'
 * (when reconnecting gave up; only emitted when someone listens).
 */
export class ServiceClient extends HubClient {
  readonly hub: HubConnection;
  readonly connectionString: ServiceConnectionString;
  private readonly options: ServiceClientOptions;
  private readonly tls: TlsOptions | false;
  private readonly streams = new Set<EventStream>();
  private readonly feedbackReceivers = new Set<MessageReceiver>();
  private readonly feedbackQueues = new Set<AsyncQueue<FeedbackBatch>>();

  constructor(cs: ServiceConnectionString, options: ServiceClientOptions = {}) {
    checkOptions(options, SERVICE_CLIENT_OPTIONS, 'ServiceClient');
    super('the service client', options, nodeHubPlatform);
    this.connectionString = cs;
    this.options = options;
    this.tls = resolveTls(options.tls);
    this.hub = new HubConnection({
      platform: nodeHubPlatform,
      host: cs.host,
      port: resolvePort(cs.port, options, this.tls !== false),
      tls: this.tls,
      hostname: cs.host,
      ...resolveTransport(options, nodeHubPlatform),
      auth: this.hubAuth(),
      timers: this.timers,
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      containerId: options.containerId,
      reconnect: options.reconnect ?? true,
      logger: options.logger,
    });
    this.forwardHubEvents((err) => {
      for (const q of this.feedbackQueues) q.end(err);
    });
  }

  /** `HostName=...;SharedAccessKeyName=...;SharedAccessKey=...` (or SharedAccessSignature). */
  static fromConnectionString(connectionString: string, options: ServiceClientOptions = {}): ServiceClient {
    checkOptions(options, SERVICE_CLIENT_OPTIONS, 'ServiceClient.fromConnectionString');
    return new ServiceClient(ServiceConnectionString.parse(connectionString), options);
  }

  private provider(keyEncoding: SasKeyEncoding, resourceUriEncoding: 'raw' | 'component'): TokenProvider {
    const cs = this.connectionString;
    const o = this.options;
    if (o.tokenProvider) return o.tokenProvider;
    if (cs.sharedAccessSignature !== undefined) return fixedTokenProvider(cs.sharedAccessSignature);
    return sasKeyTokenProvider({
      key: cs.sharedAccessKey!,
      policyName: cs.sharedAccessKeyName,
      lifetimeSeconds: o.tokenLifetimeSeconds,
      keyEncoding,
      resourceUriEncoding,
      now: () => this.timers.now(),
    });
  }

  private plainUsername(): string {
    const cs = this.connectionString;
    const policy = cs.sharedAccessKeyName ?? 'iothubowner';
    return `${policy}@sas.root.${cs.hubName}`;
  }

  private hubAuth(): HubAuth {
    const cs = this.connectionString;
    const o = this.options;
    // The Node service SDK: audience and sr = the host name as written (port included), raw.
    const audience = cs.hostName;
    const provider = this.provider('base64', 'raw');
    if (o.auth === 'plain') {
      return { kind: 'plain', username: this.plainUsername(), audience, provider, renewal: o.renewal };
    }
    return { kind: 'cbs', audience, provider, sasl: o.sasl ?? 'none', renewal: o.renewal };
  }

  private eventHubAuth(endpoint: EventHubEndpoint): HubAuth {
    const o = this.options;
    const mode = o.eventHubAuth ?? 'plain';
    if (mode === 'cbs') {
      const port = endpoint.port === 5671 ? '' : `:${endpoint.port}`;
      const audience = `sb://${endpoint.hostname}${port}/${endpoint.entityPath}`;
      return {
        kind: 'cbs',
        audience,
        provider: this.provider(o.eventHubKeyEncoding ?? 'utf8', 'component'),
        sasl: 'ANONYMOUS',
        renewal: o.renewal,
      };
    }
    return {
      kind: 'plain',
      username: this.plainUsername(),
      audience: `${this.connectionString.hostName}/messages/events`,
      provider: this.provider(o.eventHubKeyEncoding ?? 'base64', 'component'),
      renewal: o.renewal,
    };
  }

  /**
   * The WebSocket port of the redirect's endpoint. IoT Hub's redirect names AMQPS's 5671, which a
   * client that may only use HTTPS cannot reach: its WebSocket endpoint is on the same port as the
   * hub's (443). Any other port is an endpoint serving both on one port (the emulator's): kept.
   */
  private eventHubWebSocketPort(endpoint: EventHubEndpoint): number {
    return endpoint.port === 5671 ? this.hub.options.port : endpoint.port;
  }

  /** A HubConnection to the Event Hubs-compatible endpoint (used by events()). */
  connectEventHub(endpoint: EventHubEndpoint): HubConnection {
    const o = this.options;
    let tls: TlsOptions | false = false;
    if (endpoint.tls) {
      const base = o.eventHubTls ?? (this.tls === false ? {} : this.tls);
      tls = { ...base, servername: base.servername ?? endpoint.hostname };
    }
    const ws = o.transport === 'amqp-ws';
    return new HubConnection({
      platform: nodeHubPlatform,
      host: endpoint.host,
      port: ws ? this.eventHubWebSocketPort(endpoint) : endpoint.port,
      tls,
      hostname: endpoint.hostname,
      // Over WebSockets the redirect is followed over WebSockets, through the same proxy.
      ...resolveTransport(o, nodeHubPlatform, SERVICEBUS_WEBSOCKET_PATH),
      auth: this.eventHubAuth(endpoint),
      timers: this.timers,
      connectTimeoutMs: o.connectTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      reconnect: o.reconnect ?? true,
      logger: o.logger,
    });
  }

  /**
   * Sends a C2D message to a device: `to` = `/devices/{id}/messages/devicebound`, a uuid message id
   * unless one is given, `iothub-ack` when `ack` is given, the expiry when `expiryMs` is. Resolves
   * once the hub accepted it; rejects with a typed error (DeviceNotFoundError,
   * QuotaExceededError for a full queue...) otherwise.
   */
  async send(
    deviceId: string,
    message: IotHubMessage | Buffer | string,
    options: C2DSendOptions = {},
  ): Promise<C2DSendResult> {
    if (this.closed) throw new ClosedError('the service client');
    checkOptions(options, C2D_SEND_OPTIONS, 'send');
    if (typeof deviceId !== 'string' || deviceId.length === 0) {
      throw new IotHubConfigError('deviceId is empty', 'deviceId');
    }
    if (options.ack !== undefined && !ACKS.has(options.ack)) {
      throw new IotHubConfigError(`ack must be none, positive, negative or full`, 'ack');
    }
    const to = `/devices/${encodeURIComponent(deviceId)}/messages/devicebound`;
    const amqp = toAmqpMessage(message, {
      to,
      applicationProperties: options.ack === undefined ? undefined : { 'iothub-ack': options.ack },
    });
    if (options.expiryMs !== undefined) {
      amqp.properties!.absoluteExpiryTime = new Date(this.timers.now() + options.expiryMs);
    }
    await this.sendWithRetry(SERVICE_C2D_ADDRESS, amqp, options);
    return { messageId: idText(amqp.properties!.messageId) ?? '' };
  }

  /**
   * Feedback batches as they arrive. Each batch is accepted once the consumer's iteration step with
   * it is over: when the next one is asked for, or when the loop is left (break, return, throw).
   * To have a batch delivered again, call `batch.abandon()` in the step. Survives reconnects.
   */
  feedback(options: { signal?: AbortSignal } = {}): FeedbackStream {
    checkOptions(options, FEEDBACK_OPTIONS, 'feedback');
    const q = new AsyncQueue<FeedbackBatch>(1);
    this.feedbackQueues.add(q);
    let stopped = false;
    let receiver: MessageReceiver | undefined;
    const stop = (): void => {
      stopped = true;
      q.end();
      void closeReceiverAfterSettling(receiver);
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    const pump = async (): Promise<void> => {
      const backoff: Backoff = { failures: 0 };
      while (!stopped && !this.closed) {
        let attached;
        try {
          attached = await this.attachReceiver(FEEDBACK_ADDRESS, 10, backoff, () => stopped || this.closed);
        } catch (e) {
          q.end(e);
          return;
        }
        if (attached === undefined) break;
        const { generation } = attached;
        const r = (receiver = attached.receiver);
        this.feedbackReceivers.add(r);
        const live = (): boolean => this.live(generation, r);
        try {
          for (;;) {
            await q.room();
            if (stopped) break;
            const m = await r.receive();
            if (m === undefined) break;
            let parsed;
            try {
              parsed = parseFeedbackMessage(m.message);
            } catch (e) {
              // Not a feedback batch we can read: drop it (it would come back for ever) and say so.
              m.reject({ condition: Condition.DecodeError, description: (e as Error).message });
              q.end(e);
              stopped = true;
              break;
            }
            q.push(new FeedbackBatch(m, parsed, live));
          }
        } catch {
          // Link or connection lost: unsettled batches come again.
        }
        this.feedbackReceivers.delete(r);
        q.discard((b) => !live() && !b.settled);
        if (stopped || this.closed) break;
        await this.pauseIfOnlyLinkLost(generation, backoff);
      }
      await closeReceiverAfterSettling(receiver);
      q.end();
    };
    void pump();
    return new FeedbackStream(q, stop, () => this.feedbackQueues.delete(q));
  }

  /**
   * Telemetry from every partition (or `partitions`), read through the Event Hubs-compatible
   * endpoint the hub redirects to; start with `from` ('latest' by default).
   */
  events(options: EventsOptions = {}): EventStream {
    if (this.closed) throw new ClosedError('the service client');
    checkOptions(options, EVENTS_OPTIONS, 'events');
    const stream = new EventStream(
      {
        hub: this.hub,
        ready: async () => {
          await this.ensureOpen();
          return this.hub.ready();
        },
        timers: this.timers,
        tls: this.tls !== false,
        connectEventHub: (e) => this.connectEventHub(e),
      },
      options,
    );
    for (const old of this.streams) if (old.isClosed) this.streams.delete(old);
    this.streams.add(stream);
    return stream;
  }

  /** Closes everything: event streams, feedback iterators, the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.feedbackQueues) q.end();
    await Promise.all([...this.streams].map((s) => s.close()));
    await Promise.all([...this.feedbackReceivers].map((r) => closeReceiverAfterSettling(r)));
    await this.hub.close();
  }
}

/**
 * The iterator of {@link ServiceClient.feedback}: each batch is accepted when the next one is asked
 * for or the iteration ends; `close()` (or `return()`, even while a `next()` is pending) stops it.
 */
export class FeedbackStream implements AsyncIterableIterator<FeedbackBatch> {
  private current: FeedbackBatch | undefined;
  private done = false;

  constructor(
    private readonly queue: AsyncQueue<FeedbackBatch>,
    private readonly stop: () => void,
    private readonly onDone: () => void,
  ) {}

  private settleCurrent(): void {
    const b = this.current;
    this.current = undefined;
    if (b && !b.settled) {
      try {
        b.complete();
      } catch {
        // The link is gone: the hub delivers the batch again.
      }
    }
  }

  /** The next feedback batch; done when the client closes. */
  async next(): Promise<IteratorResult<FeedbackBatch>> {
    // The consumer asked for more: its step with the previous batch is over.
    this.settleCurrent();
    if (this.done) return { done: true, value: undefined };
    let b: FeedbackBatch | undefined;
    try {
      b = await this.queue.next();
    } catch (e) {
      this.finish();
      throw e;
    }
    if (b === undefined || this.done) {
      this.finish();
      return { done: true, value: undefined };
    }
    this.current = b;
    return { done: false, value: b };
  }

  /** Leaving the loop (break, return, throw) ends the step too: the current batch is accepted. */
  async return(): Promise<IteratorResult<FeedbackBatch>> {
    this.settleCurrent();
    this.finish();
    return { done: true, value: undefined };
  }

  /** Stops reading; a batch in hand is accepted (call its abandon() first to have it again). */
  async close(): Promise<void> {
    await this.return();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.stop();
    this.onDone();
  }

  /** The stream itself: `for await (const batch of service.feedback())`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<FeedbackBatch> {
    return this;
  }
}
