/**
 * A device's connection to IoT Hub: telemetry (D2C) with outcomes, C2D messages as an async
 * iterator or a handler, and automatic reconnect with backoff and jitter. Telemetry that the hub
 * did not accept is sent again (after a reconnect, or by the retry policy) or reported by the
 * promise of sendEvent: never dropped. The same client on any platform (hub-platform.ts): Node's
 * DeviceClient is device-client.ts, the browser's browser-device-client.ts.
 *
 *   const device = DeviceClient.fromConnectionString(cs, { tls: { ca } });
 *   await device.open();
 *   await device.sendEvent(jsonMessage({ temperature: 21 }, { properties: { alert: 'no' } }));
 *   for await (const m of device.messages()) { ...; await m.complete(); }
 *   await device.close();
 */
import { ClosedError } from '../../api/errors.js';
import { deferred } from '../../util/deferred.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { Timers } from '../../util/timers.js';
import type { Message } from '../../codec/message.js';
import { DeviceConnectionString } from '../connection-string.js';
import { BatchSendError, IotHubConfigError } from '../errors.js';
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
import { HubConnection, type HubAuth } from './hub-connection.js';
import type { HubPlatform } from './hub-platform.js';
import { toAmqpMessage, type IotHubMessage } from './message.js';
import { fixedTokenProvider, signedTokenProvider, type TokenProvider } from './token.js';

export interface DeviceClientOptions extends IotHubClientOptions {
  /** C2D prefetch: messages the hub may deliver before the application took them (default 100). */
  c2dCredit?: number;
}

/** Options of {@link DeviceClientBase.sendEvent}: a deadline and a signal. */
export interface SendEventOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The rules of {@link DeviceClientOptions} on `platform`. */
export function deviceClientOptions(platform: HubPlatform): AnyOptionSchema {
  return { ...iothubClientOptions(platform), ...DEVICE_ONLY_OPTIONS };
}

const DEVICE_ONLY_OPTIONS = {
  c2dCredit: opt.number,
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
  private c2dReceiver: MessageReceiver | undefined;

  protected constructor(cs: DeviceConnectionString, options: DeviceClientOptions, platform: HubPlatform) {
    checkOptions(options, deviceClientOptions(platform), 'DeviceClient');
    super('the device client', options, platform);
    this.connectionString = cs;
    this.c2dCredit = Math.max(1, options.c2dCredit ?? 100);
    const ids = `/devices/${encodeURIComponent(cs.deviceId)}`;
    const mod = cs.moduleId === undefined ? '' : `/modules/${encodeURIComponent(cs.moduleId)}`;
    this.telemetryAddress = `${ids}${mod}/messages/events`;
    this.c2dAddress = `${ids}/messages/devicebound`;
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
    this.forwardHubEvents((err) => this.c2dQueue?.end(err));
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
    if (!this.c2dQueue) {
      this.c2dQueue = new AsyncQueue<C2DMessage>(this.c2dCredit);
      void this.pumpC2D(this.c2dQueue);
    }
    return this.c2dQueue;
  }

  /** Keeps a C2D receiver open across reconnects and feeds the queue. */
  private async pumpC2D(q: AsyncQueue<C2DMessage>): Promise<void> {
    const backoff: Backoff = { failures: 0 };
    while (!this.closed) {
      let attached;
      try {
        attached = await this.attachReceiver(this.c2dAddress, this.c2dCredit, backoff, () => this.closed);
      } catch (e) {
        q.end(e);
        return;
      }
      if (attached === undefined) break;
      const { receiver, generation } = attached;
      this.c2dReceiver = receiver;
      const live = (): boolean => this.live(generation, receiver);
      try {
        for (;;) {
          await q.room();
          if (this.closed) break;
          const m = await receiver.receive();
          if (m === undefined) break;
          q.push(new C2DMessage(m, generation, live));
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
    const autoComplete = options.autoComplete ?? true;
    const q = this.startC2D();
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

  /** Closes the links and the connection; iterators end, pending sends fail with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.c2dQueue?.end();
    await closeReceiverAfterSettling(this.c2dReceiver);
    await this.hub.close();
  }
}

/**
 * The iterator of {@link DeviceClientBase.messages}. `close()` (or `return()`, even while a `next()` is
 * pending) ends this iterator only; a message it had not handed out stays for the others.
 */
export class C2DStream implements AsyncIterableIterator<C2DMessage> {
  private done = false;
  private readonly closed = deferred<'closed'>();

  constructor(private readonly queue: AsyncQueue<C2DMessage>) {}

  /** The next C2D message; done when the client closes. */
  async next(): Promise<IteratorResult<C2DMessage>> {
    if (this.done) return { done: true, value: undefined };
    const taking = this.queue.next();
    const r = await Promise.race([taking, this.closed.promise]);
    if (r === 'closed') {
      // Closed while waiting: whatever the queue hands out later goes back for the others.
      taking.then((m) => m && this.queue.unshift(m)).catch(() => undefined);
      return { done: true, value: undefined };
    }
    if (r === undefined) {
      this.done = true;
      return { done: true, value: undefined };
    }
    if (this.done) {
      this.queue.unshift(r);
      return { done: true, value: undefined };
    }
    return { done: false, value: r };
  }

  /** Stops the iteration (`break` calls it). */
  async return(): Promise<IteratorResult<C2DMessage>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Stops the iteration; messages not yet taken stay with the client. */
  async close(): Promise<void> {
    this.done = true;
    this.closed.resolve('closed');
  }

  /** The stream itself: `for await (const m of device.messages())`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<C2DMessage> {
    return this;
  }
}
