/**
 * A device's (or module's) connection to IoT Hub: telemetry (D2C) with outcomes, C2D messages as an
 * async iterator or a handler, direct methods (a handler per name, or an iterator), the twin
 * (getTwin, updateReported, desired updates as an iterator), and automatic reconnect with backoff
 * and jitter that re-opens every link a subscription needs. Telemetry that the hub did not accept
 * is sent again (after a reconnect, or by the retry policy) or reported by the promise of
 * sendEvent: never dropped. The same client on any platform (hub-platform.ts): Node's
 * DeviceClient is device-client.ts, the browser's browser-device-client.ts.
 *
 *   const device = DeviceClient.fromConnectionString(cs, { tls: { ca } });
 *   await device.open();
 *   await device.sendEvent(jsonMessage({ temperature: 21 }, { properties: { alert: 'no' } }));
 *   for await (const m of device.messages()) { ...; await m.complete(); }
 *   await device.close();
 */
import { randomContainerId as randomUUID } from '../../connection/container-id.js';
import { ClosedError, InvalidArgumentError } from '../../api/errors.js';
import { deferred } from '../../util/deferred.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import type { Timers } from '../../util/timers.js';
import type { Message } from '../../codec/message.js';
import { DeviceConnectionString } from '../connection-string.js';
import { BatchSendError, IotHubConfigError, NotConnectedError } from '../errors.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { C2DMessage } from './c2d.js';
import { checkOptions, opt, type AnyOptionSchema, type OptionSchema } from '../../protocol/options.js';
import {
  iothubClientOptions,
  SEND_EVENT_OPTIONS,
  STREAM_OPTIONS,
  closeReceiverAfterSettling,
  resolvePort,
  resolveTls,
  resolveTransport,
  type IotHubClientOptions,
} from './client-options.js';
import { HubClient, type Backoff } from './hub-client.js';
import { methodRequestOf, type DeviceMethodRequest, type MethodHandler } from './methods.js';
import { QueueStream } from './queue-stream.js';
import {
  DESIRED_RESOURCE,
  REPORTED_RESOURCE,
  TwinRequests,
  desiredUpdateOf,
  twinOf,
  twinRequest,
  type DesiredUpdate,
  type DeviceTwin,
} from './twin.js';
import { HubConnection, type HubAuth } from './hub-connection.js';
import type { HubPlatform } from './hub-platform.js';
import { toAmqpMessage, type IotHubMessage } from './message.js';
import { fixedTokenProvider, signedTokenProvider, type TokenProvider } from './token.js';

export interface DeviceClientOptions extends IotHubClientOptions {
  /** C2D prefetch: messages the hub may deliver before the application took them (default 100). */
  c2dCredit?: number;
  /** How long a twin request waits for its response (default 30 000 ms). */
  twinTimeoutMs?: number;
  /**
   * The IoT Plug and Play model the device (or module) implements, a DTMI such as
   * `dtmi:com:example:Thermostat;1`: announced as `com.microsoft:model-id` on each link we send on
   * (contract section 12), as the C# and Java SDKs do over AMQP; the hub shows it as the twin's
   * `modelId`. At most {@link MAX_MODEL_ID_LENGTH} characters.
   */
  modelId?: string;
}

/** The longest model id we send: DTDL's bound on a DTMI. */
export const MAX_MODEL_ID_LENGTH = 4096;
/** The attach property that carries the model id. */
export const MODEL_ID_PROPERTY = 'com.microsoft:model-id';

/** The api-version the methods and twin links announce (the Node SDK's). */
export const IOTHUB_API_VERSION = '2021-04-12';
/** Method requests the hub may deliver ahead of the application (the methods link's credit). */
export const METHOD_CREDIT = 10;
/** Method requests waiting for `methodRequests()` readers; past it the hub gets 503 at once. */
export const MAX_QUEUED_METHOD_REQUESTS = 100;
/**
 * Desired updates waiting for `desiredUpdates()` readers; past it they are dropped for one `full`
 * update read with a GET (nothing is lost but the steps in between).
 */
export const MAX_QUEUED_DESIRED_UPDATES = 100;

/** Options of {@link DeviceClientBase.sendEvent}: a deadline and a signal. */
export interface SendEventOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The model id option, checked: a non-empty DTMI-length string, or none. */
function checkModelId(modelId: string | undefined): string | undefined {
  if (modelId === undefined) return undefined;
  if (modelId === '' || modelId.length > MAX_MODEL_ID_LENGTH)
    throw new InvalidArgumentError(
      `modelId must be 1 to ${MAX_MODEL_ID_LENGTH} characters (a DTMI such as dtmi:com:example:Thermostat;1)`,
    );
  return modelId;
}

/** The rules of {@link DeviceClientOptions} on `platform`. */
export function deviceClientOptions(platform: HubPlatform): AnyOptionSchema {
  return { ...iothubClientOptions(platform), ...DEVICE_ONLY_OPTIONS };
}

const DEVICE_ONLY_OPTIONS = {
  c2dCredit: opt.number,
  twinTimeoutMs: opt.number,
  modelId: opt.string,
} satisfies OptionSchema<Omit<DeviceClientOptions, keyof IotHubClientOptions>>;

// Tied to the signatures: an option added to messages() or onMessage() needs a rule here.
const MESSAGES_OPTIONS = STREAM_OPTIONS satisfies OptionSchema<
  NonNullable<Parameters<DeviceClientBase['messages']>[0]>
>;
const ON_MESSAGE_OPTIONS = {
  autoComplete: opt.boolean,
} satisfies OptionSchema<NonNullable<Parameters<DeviceClientBase['onMessage']>[1]>>;

const SEND_EVENT_SCHEMA = SEND_EVENT_OPTIONS satisfies OptionSchema<SendEventOptions>;

/**
 * The device client on any platform: `DeviceClient` from `amqp-one/iothub` (Node) or from
 * `amqp-one/iothub/browser` (a browser), which say where it runs.
 *
 * Events: 'connected' (generation) after each (re)connect; 'disconnected' (error) when the
 * connection was lost (a reconnect follows); 'token-renewed' (TokenInfo); 'error' (error) when
 * reconnecting gave up or a message handler threw (only emitted when someone listens).
 */
export class DeviceClientBase extends HubClient {
  readonly hub: HubConnection;
  readonly connectionString: DeviceConnectionString;
  /** `/devices/{d}[/modules/{m}]/messages/events`. */
  readonly telemetryAddress: string;
  /** `/devices/{d}/messages/devicebound`. */
  readonly c2dAddress: string;
  private readonly c2dCredit: number;
  private c2dQueue: AsyncQueue<C2DMessage> | undefined;
  /** The peek-lock receivers (C2D, module inputs): each kept open across reconnects. */
  private readonly lockedSubscriptions: LockedSubscription[] = [];
  /** `/devices/{d}[/modules/{m}]/methods/devicebound`. */
  readonly methodsAddress: string;
  /** `/devices/{d}[/modules/{m}]/twin`. */
  readonly twinAddress: string;
  private readonly methodsChannel = `methods:${randomUUID()}`;
  private readonly twinChannel = `twin:${randomUUID()}`;
  private readonly methodHandlers = new Map<string, MethodHandler>();
  private methodQueue: AsyncQueue<DeviceMethodRequest> | undefined;
  private methodsPump: Promise<void> | undefined;
  private methodsUp = deferred<void>();
  private methodsReceiver: MessageReceiver | undefined;
  private readonly twinTimeoutMs: number;
  private readonly twinRequests: TwinRequests;
  private twinPump: Promise<void> | undefined;
  private twinUp = deferred<void>();
  private twinAttached = false;
  private twinReceiver: MessageReceiver | undefined;
  private desiredQueue: AsyncQueue<DesiredUpdate> | undefined;
  private lastDesiredVersion = 0;
  private readonly modelId: string | undefined;

  protected constructor(cs: DeviceConnectionString, options: DeviceClientOptions, platform: HubPlatform) {
    checkOptions(options, deviceClientOptions(platform), 'DeviceClient');
    super('the device client', options, platform);
    this.connectionString = cs;
    this.c2dCredit = Math.max(1, options.c2dCredit ?? 100);
    const ids = `/devices/${encodeURIComponent(cs.deviceId)}`;
    const mod = cs.moduleId === undefined ? '' : `/modules/${encodeURIComponent(cs.moduleId)}`;
    this.telemetryAddress = `${ids}${mod}/messages/events`;
    this.c2dAddress = `${ids}/messages/devicebound`;
    this.methodsAddress = `${ids}${mod}/methods/devicebound`;
    this.twinAddress = `${ids}${mod}/twin`;
    this.twinTimeoutMs = options.twinTimeoutMs ?? 30_000;
    this.modelId = checkModelId(options.modelId);
    this.twinRequests = new TwinRequests(this.timers);
    const tls = resolveTls(options.tls);
    const { host, port } = cs.connectHost;
    this.hub = new HubConnection({
      platform,
      host,
      port: resolvePort(port, options, tls !== false),
      tls,
      hostname: host,
      ...resolveTransport(options, platform),
      auth: DeviceClientBase.authFor(
        cs,
        options,
        platform,
        this.timers,
        tls !== false && tls.cert !== undefined,
      ),
      timers: this.timers,
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      containerId: options.containerId,
      reconnect: options.reconnect ?? true,
      logger: options.logger,
    });
    this.forwardHubEvents((err) => {
      for (const sub of this.lockedSubscriptions) sub.queue.end(err);
      this.methodQueue?.end(err);
      this.desiredQueue?.end(err);
      this.twinRequests.failAll(err);
    });
  }

  /**
   * The methods and twin links carry the api-version and their channel's correlation id; the
   * links we send on carry the model id, when there is one.
   */
  protected override linkOptionsFor(
    address: string,
    role: 'sender' | 'receiver',
  ): {
    properties: Record<string, string>;
    presettled?: boolean;
  } {
    const o = super.linkOptionsFor(address, role);
    if (role === 'sender' && this.modelId !== undefined)
      o.properties = { ...o.properties, [MODEL_ID_PROPERTY]: this.modelId };
    const channel =
      address === this.methodsAddress
        ? this.methodsChannel
        : address === this.twinAddress
          ? this.twinChannel
          : undefined;
    if (channel === undefined) return o;
    const properties = {
      ...o.properties,
      'com.microsoft:api-version': IOTHUB_API_VERSION,
      'com.microsoft:channel-correlation-id': channel,
    };
    // The twin links are settled on send, as the SDKs attach them (contract section 12).
    return address === this.twinAddress ? { properties, presettled: true } : { properties };
  }

  private static authFor(
    cs: DeviceConnectionString,
    o: DeviceClientOptions,
    platform: HubPlatform,
    timers: Timers,
    hasClientCert: boolean,
  ): HubAuth {
    if (cs.x509) {
      if (!hasClientCert) {
        throw new IotHubConfigError(
          'x509=true needs the client certificate and key in options.tls.cert / options.tls.key',
          'x509',
        );
      }
      // The certificate is the credential: no token is made, nor sent (an X.509 identity's is refused).
      const tokenOption =
        o.tokenProvider !== undefined ? 'tokenProvider' : o.auth === 'plain' ? 'auth' : undefined;
      if (tokenOption !== undefined)
        throw new IotHubConfigError(
          `x509=true authenticates with the TLS client certificate: option ${tokenOption} has no use with it`,
          tokenOption,
        );
      return { kind: 'x509' };
    }
    const audience = cs.resourceUri;
    const provider: TokenProvider =
      o.tokenProvider ??
      (cs.sharedAccessSignature !== undefined
        ? fixedTokenProvider(cs.sharedAccessSignature)
        : signedTokenProvider(
            {
              key: cs.sharedAccessKey!,
              policyName: cs.sharedAccessKeyName,
              lifetimeSeconds: o.tokenLifetimeSeconds,
              now: () => timers.now(),
            },
            platform.sign,
          ));
    if (o.auth === 'plain') {
      const who = cs.moduleId === undefined ? cs.deviceId : `${cs.deviceId}/modules/${cs.moduleId}`;
      const username =
        cs.sharedAccessKeyName !== undefined
          ? `${cs.sharedAccessKeyName}@sas.root.${cs.hubName}`
          : `${who}@sas.${cs.hubName}`;
      return { kind: 'plain', username, audience, provider, renewal: o.renewal };
    }
    return { kind: 'cbs', audience, provider, sasl: o.sasl ?? 'none', renewal: o.renewal };
  }

  /** The device id from the connection string. */
  get deviceId(): string {
    return this.connectionString.deviceId;
  }

  /**
   * Sends one telemetry message. Resolves once the hub accepted it; rejects with a typed error
   * (MessageTooLargeError, ThrottledError after the retries, UnauthorizedError...) otherwise. A
   * message in flight when the connection drops is sent again after the reconnect.
   */
  async sendEvent(
    message: IotHubMessage | Uint8Array | string,
    options: SendEventOptions = {},
  ): Promise<void> {
    if (this.closed) throw new ClosedError('the device client');
    checkOptions(options, SEND_EVENT_SCHEMA, 'sendEvent');
    const amqp = toAmqpMessage(message, { to: this.telemetryAddress });
    await this.sendAmqp(amqp, options);
  }

  private async sendAmqp(amqp: Message, options: SendEventOptions): Promise<void> {
    await this.sendWithRetry(this.telemetryAddress, amqp, options);
  }

  /**
   * Sends several messages (pipelined on the telemetry link, in order). Resolves once all were
   * accepted; otherwise rejects with a BatchSendError whose `errors[i]` says why message i failed.
   */
  async sendEventBatch(
    messages: ReadonlyArray<IotHubMessage | Uint8Array | string>,
    options: SendEventOptions = {},
  ): Promise<void> {
    if (this.closed) throw new ClosedError('the device client');
    checkOptions(options, SEND_EVENT_SCHEMA, 'sendEventBatch');
    const amqp = messages.map((m) => toAmqpMessage(m, { to: this.telemetryAddress }));
    const results = await Promise.allSettled(amqp.map((m) => this.sendAmqp(m, options)));
    if (results.every((r) => r.status === 'fulfilled')) return;
    throw new BatchSendError(results.map((r) => (r.status === 'rejected' ? r.reason : undefined)));
  }

  private startC2D(): AsyncQueue<C2DMessage> {
    this.c2dQueue ??= this.subscribeLocked(this.c2dAddress, (m, g, live) => new C2DMessage(m, g, live));
    return this.c2dQueue;
  }

  /**
   * A queue fed by a peek-lock receiver on `address` (C2D, a module's inputs), `c2dCredit` deep;
   * the receiver is opened again after each reconnect and closed (after settling) with the client.
   */
  protected subscribeLocked<T extends C2DMessage>(
    address: string,
    wrap: (m: ReceivedMessage, generation: number, live: () => boolean) => T,
  ): AsyncQueue<T> {
    const q = new AsyncQueue<T>(this.c2dCredit);
    const sub: LockedSubscription = { queue: q, receiver: undefined };
    this.lockedSubscriptions.push(sub);
    void this.pumpLocked(address, sub, q, wrap);
    return q;
  }

  /** Keeps a peek-lock receiver open across reconnects and feeds the queue. */
  private async pumpLocked<T extends C2DMessage>(
    address: string,
    sub: LockedSubscription,
    q: AsyncQueue<T>,
    wrap: (m: ReceivedMessage, generation: number, live: () => boolean) => T,
  ): Promise<void> {
    const backoff: Backoff = { failures: 0 };
    while (!this.closed) {
      let attached;
      try {
        attached = await this.attachReceiver(address, this.c2dCredit, backoff, () => this.closed);
      } catch (e) {
        q.end(e);
        return;
      }
      if (attached === undefined) break;
      const { receiver, generation } = attached;
      sub.receiver = receiver;
      const live = (): boolean => this.live(generation, receiver);
      try {
        for (;;) {
          await q.room();
          if (this.closed) break;
          const m = await receiver.receive();
          if (m === undefined) break;
          q.push(wrap(m, generation, live));
        }
      } catch {
        // The link or the connection is gone: messages not settled will come again.
      }
      // Queued messages of a dead link can no longer be settled: the hub redelivers them.
      q.discard((m) => m.generation === generation && !live());
      if (this.closed) break;
      // Only the link went away: pause, then open it again.
      await this.pauseIfOnlyLinkLost(generation, backoff);
    }
    q.end();
  }

  /**
   * C2D messages, as they arrive (competing with other iterators and handlers of this client).
   * Settle each with complete(), reject() or abandon(); the iteration ends when the client closes,
   * and throws if reconnecting gave up.
   */
  messages(options: { signal?: AbortSignal } = {}): C2DStream {
    checkOptions(options, MESSAGES_OPTIONS, 'messages');
    const stream = new C2DStream(this.startC2D());
    options.signal?.addEventListener('abort', () => void stream.close(), { once: true });
    return stream;
  }

  /**
   * Calls `handler` for each C2D message, one at a time. With autoComplete (default true) a message
   * the handler did not settle is completed when it returns, and abandoned when it throws (the
   * error is emitted as 'error' when someone listens). Returns a function that stops the handler.
   */
  onMessage(
    handler: (message: C2DMessage) => void | Promise<void>,
    options: { autoComplete?: boolean } = {},
  ): () => void {
    checkOptions(options, ON_MESSAGE_OPTIONS, 'onMessage');
    return this.handleEach(this.startC2D(), handler, options.autoComplete ?? true);
  }

  /** Runs `handler` on each message of `q`, one at a time, settling as onMessage says. */
  protected handleEach<T extends C2DMessage>(
    q: AsyncQueue<T>,
    handler: (message: T) => void | Promise<void>,
    autoComplete: boolean,
  ): () => void {
    let stopped = false;
    void (async () => {
      for (;;) {
        const m = await q.next();
        if (m === undefined) return;
        if (stopped) {
          q.unshift(m);
          return;
        }
        try {
          await handler(m);
          if (autoComplete && m.settledAs === undefined) await m.complete();
        } catch (e) {
          if (m.settledAs === undefined) await m.abandon().catch(() => undefined);
          this.emitError(e);
        }
        if (stopped) return;
      }
    })().catch((e: unknown) => this.emitError(e));
    return () => {
      stopped = true;
    };
  }

  // ---- direct methods (contract section 12) ----

  /**
   * Answers calls of `name` with `handler`: its result (`{ status, payload }`) is the answer, unless
   * it called `request.respond` itself; a handler that throws answers 500 with the error's message.
   * The methods links open (and re-open after each reconnect) from the first handler or iterator
   * on. Returns a function that removes the handler.
   */
  onMethod(name: string, handler: MethodHandler): () => void {
    this.throwIfClosed();
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidArgumentError('a method name is a non-empty string');
    if (typeof handler !== 'function') throw new InvalidArgumentError('a method handler is a function');
    this.methodHandlers.set(name, handler);
    void this.enableMethods().catch(() => undefined);
    return () => {
      if (this.methodHandlers.get(name) === handler) this.methodHandlers.delete(name);
    };
  }

  /**
   * The calls of methods without a handler, as they arrive (competing with other iterators of this
   * client); answer each with `respond(status, payload)`. Without a handler or an iterator a call
   * is answered 501.
   */
  methodRequests(options: { signal?: AbortSignal } = {}): QueueStream<DeviceMethodRequest> {
    checkOptions(options, MESSAGES_OPTIONS, 'methodRequests');
    this.throwIfClosed();
    this.methodQueue ??= new AsyncQueue<DeviceMethodRequest>(MAX_QUEUED_METHOD_REQUESTS);
    void this.enableMethods().catch(() => undefined);
    const stream = new QueueStream(this.methodQueue);
    options.signal?.addEventListener('abort', () => void stream.close(), { once: true });
    return stream;
  }

  /**
   * Opens the methods links (once; re-opened after every reconnect) and resolves when they are
   * attached: from then on the hub delivers calls instead of answering 404103 DeviceNotOnline.
   */
  async enableMethods(): Promise<void> {
    this.throwIfClosed();
    this.methodsPump ??= this.pumpMethods();
    await this.methodsUp.promise;
  }

  private async pumpMethods(): Promise<void> {
    const backoff: Backoff = { failures: 0 };
    while (!this.closed) {
      let attached;
      try {
        attached = await this.attachReceiver(this.methodsAddress, METHOD_CREDIT, backoff, () => this.closed);
        // The responses link opens with the requests link, as the SDKs do.
        if (attached) await this.sender(this.methodsAddress);
      } catch (e) {
        this.methodsUp.reject(e);
        this.methodQueue?.end(e);
        return;
      }
      if (attached === undefined) break;
      const { receiver, generation } = attached;
      this.methodsReceiver = receiver;
      this.methodsUp.resolve();
      try {
        for (;;) {
          const m = await receiver.receive();
          if (m === undefined) break;
          m.accept();
          const request = methodRequestOf(m.message, (reply) =>
            this.sendWithRetry(this.methodsAddress, reply, {}),
          );
          if (request) this.dispatchMethod(request);
        }
      } catch {
        // The link or the connection is gone: the hub keeps the calls until their timeout.
      }
      this.methodsUp = deferred<void>();
      if (this.closed) break;
      await this.pauseIfOnlyLinkLost(generation, backoff);
    }
  }

  private dispatchMethod(request: DeviceMethodRequest): void {
    const handler = this.methodHandlers.get(request.methodName);
    const answer = (status: number, payload: unknown): void =>
      void request.respond(status, payload).catch((e: unknown) => this.emitError(e));
    if (!handler) {
      const q = this.methodQueue;
      if (!q) return answer(501, { message: `no handler for method ${request.methodName}` });
      if (q.size >= q.capacity) return answer(503, { message: 'too many method calls waiting' });
      return q.push(request);
    }
    void (async () => {
      try {
        const r = await handler(request);
        if (!request.responded) answer(r?.status ?? 200, r?.payload ?? null);
      } catch (e) {
        if (!request.responded) answer(500, { message: e instanceof Error ? e.message : String(e) });
        this.emitError(e);
      }
    })();
  }

  // ---- the twin (contract section 12) ----

  /** Reads the twin: desired and reported properties, each with its `$version`. */
  async getTwin(options: { signal?: AbortSignal } = {}): Promise<DeviceTwin> {
    const r = await this.twinRequest('GET', undefined, ' ', options.signal);
    const twin = twinOf(r.body);
    this.lastDesiredVersion = Math.max(this.lastDesiredVersion, twin.desired.$version);
    return twin;
  }

  /**
   * Patches the reported properties (a JSON merge patch: null removes a key). Resolves with the
   * new reported `$version` once the hub stored it.
   */
  async updateReported(
    patch: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<number> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw new InvalidArgumentError('a reported-properties patch is a JSON object');
    const r = await this.twinRequest('PATCH', REPORTED_RESOURCE, JSON.stringify(patch), options.signal);
    if (r.version === undefined) throw new NotConnectedError({ description: 'the hub sent no version' });
    return r.version;
  }

  /**
   * Desired-property updates as they arrive, each with its `$version` (competing with other
   * iterators of this client). Subscribes on first use, and again after every reconnect; updates
   * made while the device was away arrive then as one `full` update with the whole desired
   * document.
   */
  desiredUpdates(options: { signal?: AbortSignal } = {}): QueueStream<DesiredUpdate> {
    checkOptions(options, MESSAGES_OPTIONS, 'desiredUpdates');
    this.throwIfClosed();
    if (!this.desiredQueue) {
      this.desiredQueue = new AsyncQueue<DesiredUpdate>(MAX_QUEUED_DESIRED_UPDATES);
      this.twinPump ??= this.pumpTwin();
      // Already attached: subscribe now (otherwise the pump does it once attached).
      if (this.twinAttached) void this.subscribeDesired(false);
    }
    const stream = new QueueStream(this.desiredQueue);
    options.signal?.addEventListener('abort', () => void stream.close(), { once: true });
    return stream;
  }

  /** Resolves once subscribed to desired updates (the PUT answered). */
  async enableDesiredUpdates(): Promise<void> {
    this.desiredUpdates().close();
    await this.twinRequest('PUT', DESIRED_RESOURCE, ' ');
  }

  private async twinRequest(
    operation: string,
    resource: string | undefined,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; version: number | undefined; body: unknown }> {
    this.throwIfClosed();
    this.twinPump ??= this.pumpTwin();
    return this.retry.run(
      async () => {
        await this.twinUp.promise;
        const { correlationId, response } = this.twinRequests.expect(this.twinTimeoutMs);
        try {
          await this.sendWithRetry(this.twinAddress, twinRequest(correlationId, operation, resource, body), {
            signal,
          });
        } catch (e) {
          this.twinRequests.forget(correlationId, e);
        }
        return await response;
      },
      { timers: this.timers, signal, stop: () => this.closed || this.hub.state === 'closed' },
    );
  }

  private async pumpTwin(): Promise<void> {
    const backoff: Backoff = { failures: 0 };
    let first = true;
    while (!this.closed) {
      let attached;
      try {
        attached = await this.attachReceiver(this.twinAddress, 100, backoff, () => this.closed);
        if (attached) await this.sender(this.twinAddress);
      } catch (e) {
        this.twinUp.reject(e);
        this.twinRequests.failAll(e);
        this.desiredQueue?.end(e);
        return;
      }
      if (attached === undefined) break;
      const { receiver, generation } = attached;
      this.twinReceiver = receiver;
      this.twinAttached = true;
      this.twinUp.resolve();
      if (this.desiredQueue) void this.subscribeDesired(!first);
      first = false;
      try {
        for (;;) {
          const m = await receiver.receive();
          if (m === undefined) break;
          m.accept();
          if (this.twinRequests.settle(m.message)) continue;
          try {
            this.pushDesired(desiredUpdateOf(m.message));
          } catch (e) {
            this.emitError(e);
          }
        }
      } catch {
        // The link or the connection is gone.
      }
      this.twinAttached = false;
      this.twinUp = deferred<void>();
      // Responses to requests in flight can only come on the link that is gone: they are retried.
      this.twinRequests.failAll(new NotConnectedError({ description: 'the twin link was lost' }));
      if (this.closed) break;
      await this.pauseIfOnlyLinkLost(generation, backoff);
    }
  }

  /** PUT, then after a reconnect a GET: the updates made meanwhile arrive as one full update. */
  private async subscribeDesired(catchUp: boolean): Promise<void> {
    try {
      await this.twinRequest('PUT', DESIRED_RESOURCE, ' ');
      if (catchUp) await this.resyncDesired();
    } catch (e) {
      this.emitError(e);
    }
  }

  private async resyncDesired(): Promise<void> {
    const seen = this.lastDesiredVersion;
    const twin = await this.getTwin();
    if (twin.desired.$version <= seen) return;
    // The whole document is the update; the hub's $metadata about it is not part of it.
    const { $version, $metadata: _metadata, ...patch } = twin.desired;
    this.desiredQueue?.push({ version: $version, patch, full: true });
  }

  private pushDesired(u: DesiredUpdate): void {
    const q = this.desiredQueue;
    if (!q || u.version <= this.lastDesiredVersion) return; // unsubscribed, or already seen
    if (q.size >= q.capacity) {
      // The reader is behind: the steps are dropped for the whole document.
      q.discard(() => true);
      void this.resyncDesired().catch((e: unknown) => this.emitError(e));
      return;
    }
    this.lastDesiredVersion = u.version;
    q.push(u);
  }

  /** Closes the links and the connection; iterators end, pending sends fail with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.lockedSubscriptions) sub.queue.end();
    this.methodQueue?.end();
    this.desiredQueue?.end();
    this.twinRequests.failAll(new ClosedError('the device client'));
    this.methodsUp.reject(new ClosedError('the device client'));
    this.twinUp.reject(new ClosedError('the device client'));
    this.methodsUp.promise.catch(() => undefined);
    this.twinUp.promise.catch(() => undefined);
    await Promise.all(this.lockedSubscriptions.map((sub) => closeReceiverAfterSettling(sub.receiver)));
    await Promise.all(
      [this.methodsReceiver?.close(), this.twinReceiver?.close()].map((p) => p?.catch(() => undefined)),
    );
    await this.hub.close();
  }
}

interface LockedSubscription {
  queue: AsyncQueue<C2DMessage>;
  receiver: MessageReceiver | undefined;
}

/**
 * The iterator of {@link DeviceClientBase.messages}. `close()` (or `return()`, even while a `next()` is
 * pending) ends this iterator only; a message it had not handed out stays for the others.
 */
export class C2DStream extends QueueStream<C2DMessage> {}
