/**
 * Claims-based security (contract section 3): put-token requests on `$cbs` over the
 * request/response helper, and proactive renewal on the same links before the token expires.
 *
 * Request (as the Node SDKs send it): properties `to="$cbs"`, `reply_to="cbs"`, `message_id` = uuid
 * string; application-properties `operation="put-token"`,
 * `type="servicebus.windows.net:sastoken"`, `name=<audience>`; body an amqp-value string (the token).
 * Response: `correlation-id` = the request's message id, application-properties `status-code`
 * (2xx = ok; the Node IoT SDKs want exactly 200, core-amqp any 2xx, Event Hubs answers 202) and
 * `status-description`.
 */
// A v4 uuid from Web Crypto, which Node and browsers both have.
import { randomContainerId as randomUUID } from '../../connection/container-id.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import type { AmqpConnection, AmqpSession } from '../../client/connect.js';
import { RequestResponseLink } from '../../client/request-response.js';
import type { Timers } from '../../util/timers.js';
import type { Message } from '../../codec/message.js';
import {
  BadResponseError,
  UnauthorizedError,
  errorFromStatus,
  toIotHubError,
  type IotHubError,
} from '../errors.js';
import { entry, stringOf } from '../message-values.js';
import { numberOf } from './amqp-utils.js';
import type { TokenInfo, TokenProvider } from './token.js';

/** The claims-based security node: where put-token requests go. */
export const CBS_ADDRESS = '$cbs';
/** The reply-to (and receiver source) the Node IoT SDKs use. */
export const CBS_REPLY_TO = 'cbs';
/** The token type of SAS tokens in a put-token request. */
export const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';
/** Renew when this fraction of a token's lifetime has passed: the Node device SDK renews every 2700 s of 3600. */
export const DEFAULT_RENEW_AT_FRACTION = 0.75;

/** The fields of one put-token request. */
export interface PutTokenRequestOptions {
  /** Default {@link SAS_TOKEN_TYPE}. */
  type?: string;
  /** Default a new uuid string. */
  messageId?: string;
}

/** The put-token request message (reply-to is added by the request/response link). */
export function buildPutTokenRequest(
  audience: string,
  token: string,
  options: PutTokenRequestOptions = {},
): Message {
  return {
    properties: { messageId: options.messageId ?? randomUUID(), to: CBS_ADDRESS },
    applicationProperties: {
      operation: 'put-token',
      type: options.type ?? SAS_TOKEN_TYPE,
      name: audience,
    },
    body: token,
    bodyType: 'value',
  };
}

/** The status of a CBS (or management) response: `status-code` and `status-description`, in either spelling. */
export function responseStatus(response: Message): { statusCode?: number; description?: string } {
  const ap = response.applicationProperties;
  const code = entry(ap, 'status-code') ?? entry(ap, 'statusCode');
  const desc = entry(ap, 'status-description') ?? entry(ap, 'statusDescription');
  return { statusCode: numberOf(code), description: stringOf(desc) };
}

/**
 * Checks a put-token response: 2xx is success; 408, 429 and 5xx give the retryable typed error of
 * that status, any other status an {@link UnauthorizedError} carrying the status and description;
 * no status at all a BadResponseError.
 */
export function checkPutTokenResponse(response: Message): void {
  const { statusCode, description } = responseStatus(response);
  if (statusCode === undefined) {
    throw new BadResponseError({ description: 'the CBS response has no status-code' });
  }
  if (statusCode >= 200 && statusCode < 300) return;
  if (statusCode === 408 || statusCode === 429 || statusCode >= 500) {
    throw errorFromStatus(statusCode, description);
  }
  throw new UnauthorizedError({ statusCode, description });
}

/** Options of {@link CbsClient.open}. */
export interface CbsClientOptions {
  /** Reply-to address (default 'cbs', like the Node SDKs; core-amqp uses `cbs-<uuid>`). */
  replyTo?: string;
  /** Wait this long for a response (ms, default 30 000). */
  timeoutMs?: number;
  /** The token type (default {@link SAS_TOKEN_TYPE}). */
  tokenType?: string;
  session?: AmqpSession;
}

/** The `$cbs` sender and receiver of one connection. */
export class CbsClient {
  private constructor(
    private readonly link: RequestResponseLink,
    private readonly options: CbsClientOptions,
  ) {}

  /** Opens the request/response links to `$cbs`. */
  static async open(conn: AmqpConnection, options: CbsClientOptions = {}): Promise<CbsClient> {
    try {
      const link = await RequestResponseLink.open(conn, {
        address: CBS_ADDRESS,
        replyTo: options.replyTo ?? CBS_REPLY_TO,
        session: options.session,
        timeoutMs: options.timeoutMs ?? 30_000,
      });
      return new CbsClient(link, options);
    } catch (e) {
      throw toIotHubError(e);
    }
  }

  /** True while both `$cbs` links are attached (a hub may detach either: fault injection does). */
  get isOpen(): boolean {
    return this.link.sender.link.isOpen && this.link.receiver.link.isOpen;
  }

  /** The clock and timers of the connection. */
  get timers(): Timers {
    return this.link.sender.timers;
  }

  /** Sends put-token and resolves once the hub answered 2xx; rejects with a typed error otherwise. */
  async putToken(audience: string, token: string): Promise<void> {
    let response: Message;
    try {
      response = await this.link.request(
        buildPutTokenRequest(audience, token, { type: this.options.tokenType }),
      );
    } catch (e) {
      throw toIotHubError(e);
    }
    checkPutTokenResponse(response);
  }

  /** Closes the `$cbs` links. */
  async close(): Promise<void> {
    await this.link.close().catch(() => undefined);
  }
}

/** When a {@link CbsTokenRenewer} renews. */
export interface TokenRenewalOptions {
  /** Renew once this fraction of the token's lifetime has passed (default 0.75). */
  renewAtFraction?: number;
  /** Or renew this long before the expiry (ms); takes precedence over renewAtFraction. */
  marginMs?: number;
  /** Never renew sooner than this after the previous renewal (ms, default 1000). */
  minIntervalMs?: number;
  /** false: put the token once and never renew (default true). */
  enabled?: boolean;
}

/** How long after `obtainedAtMs` a token expiring at `expiresAtMs` should be renewed. */
export function renewalDelayMs(
  obtainedAtMs: number,
  expiresAtMs: number,
  o: TokenRenewalOptions = {},
): number {
  const lifetime = expiresAtMs - obtainedAtMs;
  const fraction = o.renewAtFraction ?? DEFAULT_RENEW_AT_FRACTION;
  const delay = o.marginMs !== undefined ? lifetime - o.marginMs : lifetime * fraction;
  return Math.max(o.minIntervalMs ?? 1000, Math.floor(delay));
}

/** The events of a CbsTokenRenewer. */
export interface CbsTokenRenewerEvents {
  renewed: [info: TokenInfo];
  'renewal-error': [error: IotHubError];
  expired: [error: IotHubError];
}

/**
 * Keeps one audience authorized on a CBS link: puts a token, then puts a fresh one from the
 * provider before each expires, on the same links (opened again when the hub detached one), with
 * the connection's timers.
 *
 * Events: 'renewed' (TokenInfo) after each successful renewal; 'renewal-error' (IotHubError) when a
 * renewal failed (it is tried again while the current token is still valid); 'expired' once the
 * token ran out without a renewal.
 */
export class CbsTokenRenewer extends TypedEmitter<CbsTokenRenewerEvents> {
  private timer: unknown;
  private stopped = false;
  private current: TokenInfo | undefined;
  /** Renewals that succeeded. */
  renewals = 0;
  /** True while a renewal is in flight. */
  renewing = false;

  private cbsClient: Promise<CbsClient> | undefined;
  private opened: CbsClient | undefined;

  /**
   * `cbs`: the CBS links, or a function that opens them when first needed (after SASL PLAIN, the
   * links are only opened for the first renewal).
   */
  constructor(
    /** The CBS links, or a function that opens them when first needed. */
    readonly cbs: CbsClient | (() => Promise<CbsClient>),
    readonly audience: string,
    private readonly provider: TokenProvider,
    private readonly timers: Timers,
    private readonly options: TokenRenewalOptions = {},
  ) {
    super();
  }

  /** The token the hub last accepted. */
  get token(): TokenInfo | undefined {
    return this.current;
  }

  /** Puts the first token; rejects (typed) when the hub refuses it. Renewals are then scheduled. */
  async start(): Promise<TokenInfo> {
    const info = await this.put();
    this.schedule(renewalDelayMs(this.timers.now(), info.expiresAtMs, this.options));
    return info;
  }

  /** For a token already in force (sent in SASL PLAIN): schedules its renewals over CBS. */
  startWith(info: TokenInfo): void {
    this.current = info;
    this.schedule(renewalDelayMs(this.timers.now(), info.expiresAtMs, this.options));
  }

  /** The CBS links: opened on first use, and again when the hub detached either of them. */
  private client(): Promise<CbsClient> {
    if (typeof this.cbs !== 'function') return Promise.resolve(this.cbs);
    if (this.opened && !this.opened.isOpen) {
      void this.opened.close();
      this.opened = undefined;
      this.cbsClient = undefined;
    }
    const open = this.cbs;
    this.cbsClient ??= open().then(
      (c) => {
        this.opened = c;
        return c;
      },
      (e: unknown) => {
        this.cbsClient = undefined;
        throw e;
      },
    );
    return this.cbsClient;
  }

  private async put(): Promise<TokenInfo> {
    const info = await this.provider(this.audience);
    const cbs = await this.client();
    await cbs.putToken(this.audience, info.token);
    this.current = info;
    return info;
  }

  private schedule(delay: number): void {
    if (this.stopped || this.options.enabled === false) return;
    this.timer = this.timers.setTimeout(() => void this.renew(), delay);
  }

  private async renew(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.renewing = true;
    try {
      const info = await this.put();
      if (this.stopped) return;
      this.renewals++;
      this.emit('renewed', info);
      this.schedule(renewalDelayMs(this.timers.now(), info.expiresAtMs, this.options));
    } catch (e) {
      if (this.stopped) return;
      const err = toIotHubError(e) as IotHubError;
      if (this.listenerCount('renewal-error') > 0) this.emit('renewal-error', err);
      const left = (this.current?.expiresAtMs ?? 0) - this.timers.now();
      if (left <= 0) {
        this.emit('expired', err);
        return;
      }
      // Try again while the token in force is still valid.
      this.schedule(Math.max(this.options.minIntervalMs ?? 1000, Math.min(30_000, Math.floor(left / 2))));
    } finally {
      this.renewing = false;
    }
  }

  /** Stops renewing. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    void this.cbsClient?.then((c) => c.close()).catch(() => undefined);
  }
}
