/**
 * What DeviceClient and ServiceClient share: opening the hub connection once, a sender cached per
 * connection generation, sends that survive lost links, receivers re-opened with backoff, and the
 * events forwarded from the HubConnection.
 */
import { TypedEmitter } from '../../util/typed-emitter.js';
import { loggerProblem } from '../../util/logger.js';
import { ClosedError, InvalidArgumentError } from '../../api/errors.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { MessageSender } from '../../api/sender.js';
import type { Timers } from '../../util/timers.js';
import type { Message } from '../../codec/message.js';
import { toIotHubError } from '../errors.js';
import {
  checkOutcome,
  isConnectionLoss,
  linkProperties,
  openReceiverChecked,
  resolveRetry,
  resolveTimers,
  userAgentOf,
  type IotHubClientOptions,
} from './client-options.js';
import type { HubConnection } from './hub-connection.js';
import type { HubPlatform } from './hub-platform.js';
import { LINK_REOPEN_BACKOFF, isRetryableError, sleep, type RetryPolicy } from './retry.js';
import type { TokenInfo } from './token.js';

/** Consecutive lost-link resends of one message before its promise reports the loss. */
const MAX_LOSS_RESENDS = 20;

/** A receiver opened by {@link HubClient.attachReceiver}, with the connection generation it lives on. */
export interface AttachedReceiver {
  receiver: MessageReceiver;
  generation: number;
}

/** Failure count of one receiver pump: it sets the backoff, and is kept across re-opens. */
export interface Backoff {
  failures: number;
}

/** The events of DeviceClient and ServiceClient: `device.on('disconnected', (error) => ...)`. */
export interface HubClientEvents {
  /** Connected and authenticated (again); `generation` counts the connections. */
  connected: [generation: number];
  /**
   * The connection was lost (an IotHubError where the hub said why); the client reconnects unless
   * `reconnect: false`.
   */
  disconnected: [error: Error];
  /** A CBS token was renewed (the token itself and its expiry). */
  'token-renewed': [info: TokenInfo];
  /** Reconnecting gave up: the client is closed. Emitted only when someone listens. */
  error: [error: unknown];
}

export abstract class HubClient extends TypedEmitter<HubClientEvents> {
  abstract readonly hub: HubConnection;
  protected readonly timers: Timers;
  protected readonly retry: RetryPolicy;
  protected readonly sendTimeoutMs: number;
  /** What each link announces in `com.microsoft:client-version`. */
  readonly userAgent: string;
  protected closed = false;
  private opening: Promise<void> | undefined;
  // Senders die with their connection: one per address, remembered with its generation.
  private readonly senders = new Map<string, { generation: number; sender: Promise<MessageSender> }>();

  /** @param what the client as named in errors ('the device client'). */
  protected constructor(
    private readonly what: string,
    options: IotHubClientOptions,
    platform: HubPlatform,
  ) {
    super();
    this.timers = resolveTimers(options);
    this.retry = resolveRetry(options.retryPolicy);
    this.sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    this.userAgent = userAgentOf(platform, options.productInfo);
    const problem = loggerProblem(options.logger);
    if (problem) throw new InvalidArgumentError(problem);
  }

  /** Forwards the hub's events; `onFailed` runs first when reconnecting gave up. */
  protected forwardHubEvents(onFailed: (err: unknown) => void): void {
    this.hub.on('connected', (_c: unknown, generation: number) => this.emit('connected', generation));
    this.hub.on('disconnected', (err) => this.emit('disconnected', err));
    this.hub.on('token-renewed', (info: TokenInfo) => this.emit('token-renewed', info));
    this.hub.on('failed', (err: unknown) => {
      onFailed(err);
      this.emitError(err);
    });
  }

  /** True while an authenticated connection is up. */
  get connected(): boolean {
    return this.hub.state === 'open';
  }

  /** Connects and authenticates (one attempt; rejects with a typed error). */
  async open(): Promise<void> {
    this.throwIfClosed();
    if (this.hub.state === 'open' || this.hub.state === 'reconnecting') return;
    this.opening ??= this.hub.open().finally(() => {
      this.opening = undefined;
    });
    await this.opening;
  }

  protected throwIfClosed(): void {
    if (this.closed) throw new ClosedError(this.what);
  }

  protected async ensureOpen(): Promise<void> {
    this.throwIfClosed();
    if (this.hub.state === 'idle' || this.hub.state === 'connecting') await this.open();
  }

  /**
   * What links to `address` announce and how they settle: `com.microsoft:client-version` on every
   * link; subclasses add what the methods and twin links, and our sending links, carry (contract
   * section 12). `role` is ours: 'sender' for a link we send on.
   */
  protected linkOptionsFor(
    address: string,
    role: 'sender' | 'receiver',
  ): { properties: Record<string, string>; presettled?: boolean } {
    void address;
    void role;
    return { properties: linkProperties(this.userAgent) };
  }

  /** The sender to `address` on the current connection, opened once per generation. */
  protected async sender(address: string): Promise<MessageSender> {
    await this.ensureOpen();
    let conn = await this.hub.ready();
    if (this.hub.restartIfSessionEnded(conn)) conn = await this.hub.ready();
    const generation = this.hub.generation;
    const t = this.senders.get(address);
    if (t && t.generation === generation) {
      const s = await t.sender.catch(() => undefined);
      if (s && s.link.isOpen) return s;
      if (this.senders.get(address) !== t) return this.sender(address);
    }
    const sender = conn.openSender({ address, ...this.linkOptionsFor(address, 'sender') });
    this.senders.set(address, { generation, sender });
    try {
      return await sender;
    } catch (e) {
      if (this.senders.get(address)?.sender === sender) this.senders.delete(address);
      throw toIotHubError(e);
    }
  }

  /**
   * Sends `amqp` to `address` until the hub accepted it: resent after a lost link, retried by the
   * retry policy, and otherwise rejected with a typed error.
   */
  protected async sendWithRetry(
    address: string,
    amqp: Message,
    options: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.sendTimeoutMs;
    await this.retry.run(
      async () => {
        for (let losses = 0; ;) {
          this.throwIfClosed();
          const sender = await this.sender(address);
          let outcome;
          try {
            outcome = await sender.send(amqp, {
              timeoutMs: timeoutMs > 0 ? timeoutMs : undefined,
              signal: options.signal,
            });
          } catch (e) {
            const err = toIotHubError(e);
            if (!this.closed && isConnectionLoss(err) && ++losses <= MAX_LOSS_RESENDS) continue;
            throw err;
          }
          checkOutcome(outcome);
          return;
        }
      },
      { timers: this.timers, signal: options.signal, stop: () => this.closed || this.hub.state === 'closed' },
    );
  }

  /**
   * Opens a receiver on the current connection, waiting out transient failures. Resolves undefined
   * when `stopped()` became true meanwhile; rejects with the error that ends the pump.
   */
  protected async attachReceiver(
    address: string,
    credit: number,
    backoff: Backoff,
    stopped: () => boolean,
  ): Promise<AttachedReceiver | undefined> {
    for (;;) {
      try {
        await this.ensureOpen();
        let conn = await this.hub.ready();
        if (this.hub.restartIfSessionEnded(conn)) conn = await this.hub.ready();
        const generation = this.hub.generation;
        const receiver = await openReceiverChecked(conn, {
          address,
          credit,
          ...this.linkOptionsFor(address, 'receiver'),
        });
        backoff.failures = 0;
        return { receiver, generation };
      } catch (e) {
        if (stopped()) return undefined;
        const err = toIotHubError(e);
        if (this.hub.state === 'closed' || (!isRetryableError(err) && !isConnectionLoss(err))) throw err;
        await this.pause(backoff);
      }
    }
  }

  /** True while the receiver of `generation` can still settle what it received. */
  protected live(generation: number, receiver: MessageReceiver): boolean {
    return this.hub.state === 'open' && this.hub.generation === generation && receiver.link.isOpen;
  }

  /** After a receiver's link went away: pause only if the connection itself is still the same. */
  protected async pauseIfOnlyLinkLost(generation: number, backoff: Backoff): Promise<void> {
    if (this.hub.state === 'open' && this.hub.generation === generation) await this.pause(backoff);
  }

  private async pause(backoff: Backoff): Promise<void> {
    await sleep(this.timers, LINK_REOPEN_BACKOFF.delayMs(backoff.failures++));
  }

  protected emitError(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  abstract close(): Promise<void>;

  /** Closes the client: `await using client = ...`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
