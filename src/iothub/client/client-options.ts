/** Options shared by DeviceClient and ServiceClient, and how they become a HubConnection. */
import type { AmqpConnection, ReceiverOptions } from '../../client/amqp-connection.js';
import type { MessageReceiver } from '../../api/receiver.js';
import { Condition } from '../../protocol/conditions.js';
import type { Timers } from '../../util/timers.js';
import type { Logger } from '../../util/logger.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { realTimers } from '../../util/timers.js';
import type { DeliveryState } from '../../codec/spec/records.js';
import type { TlsOptions } from '../../transport/open-socket.js';
import {
  ConnectionForcedError,
  IotHubError,
  LinkDetachedError,
  MessageReleasedError,
  NotConnectedError,
  errorFromCondition,
} from '../errors.js';
import type { TokenRenewalOptions } from './cbs.js';
import { HUB_RECONNECT_OPTIONS, type CbsSasl, type HubReconnectOptions } from './hub-connection.js';
import type { HubPlatform } from './hub-platform.js';
import { RETRY_POLICY_OPTIONS, RetryPolicy, type RetryPolicyOptions } from './retry.js';
import type { TokenProvider } from './token.js';
import { opt, type AnyOptionSchema, type OptionSchema } from '../../protocol/options.js';

/** This library's name and version, the start of the user agent the IoT Hub clients announce. */
export const CLIENT_VERSION = 'amqp-one/0.1.0';

/**
 * The `com.microsoft:client-version` the clients send on each link, formed as the Azure SDKs form
 * theirs: `amqp-one/0.1.0 (<platform>)`, then the application's `productInfo` after a space
 * (`... myapp/1.2`), so a hub's logs tell applications apart.
 */
export function userAgentOf(platform: HubPlatform, productInfo?: string): string {
  if (productInfo !== undefined && typeof productInfo !== 'string')
    throw new InvalidArgumentError(`productInfo must be a string, got ${typeof productInfo}`);
  const base = `${CLIENT_VERSION} (${platform.userAgentPlatform()})`;
  const extra = productInfo?.trim();
  return extra ? `${base} ${extra}` : base;
}

/** How the IoT Hub clients reach the hub: AMQP over TCP, or AMQP over WebSockets. */
export type IotHubTransport = 'amqp' | 'amqp-ws';

/** IoT Hub's WebSocket endpoint, where transport 'amqp-ws' connects. */
export const IOTHUB_WEBSOCKET_PATH = '/$iothub/websocket';
/** The WebSocket endpoint of the Event Hubs-compatible endpoint, where the events redirect leads. */
export const SERVICEBUS_WEBSOCKET_PATH = '/$servicebus/websocket';

/** Options both IoT Hub clients take: TLS, authentication, tokens, reconnect, retries, deadlines. */
export interface IotHubClientOptions {
  /** TLS (default true, verifying the server; give `ca` for a local hub), or false for plain TCP. */
  tls?: boolean | TlsOptions;
  /**
   * The port when the connection string has none (default 5671 with TLS, 5672 without; with
   * `transport: 'amqp-ws'`, 443 with TLS, 80 without).
   */
  port?: number;
  /**
   * 'amqp' (default): AMQP over TCP, with TLS unless `tls: false`. 'amqp-ws': AMQP over a
   * WebSocket, `wss://{HostName}/$iothub/websocket` (port 443 unless the HostName has one), with
   * the same TLS options; the Event Hubs-compatible endpoint of the events redirect is then
   * reached over WebSockets too. For networks that only let HTTPS out.
   */
  transport?: IotHubTransport;
  /**
   * An HTTP proxy, `http://[user:pass@]host[:port]`: the connection is tunnelled with CONNECT, TLS
   * (and the WebSocket) running end to end inside the tunnel. Also used for the events redirect.
   */
  proxy?: string | URL;
  /**
   * 'cbs' (default): SAS token over `$cbs` after the `sasl` step, renewed before it expires.
   * 'plain': SASL PLAIN with the SAS token as password (a fresh token at each reconnect).
   */
  auth?: 'cbs' | 'plain';
  /** The SASL step before CBS: 'none' (default, as the Node SDKs), 'ANONYMOUS' or 'MSSBCBS'. */
  sasl?: CbsSasl;
  /** Tokens from elsewhere: called with the audience at connect and for each renewal. */
  tokenProvider?: TokenProvider;
  /** Lifetime of the tokens signed from a key (s, default 3600). */
  tokenLifetimeSeconds?: number;
  /** When to renew (default at 75 % of each token's lifetime). */
  renewal?: TokenRenewalOptions;
  /** Reconnect with backoff and jitter when the connection is lost (default true). */
  reconnect?: boolean | HubReconnectOptions;
  /** Retries of sends that failed with a retryable error (default 5 attempts, exponential backoff). */
  retryPolicy?: RetryPolicy | RetryPolicyOptions;
  /** Fail a send that got no outcome in this long (ms, default 60 000; 0 = never). */
  sendTimeoutMs?: number;
  /** Timers and clock (token expiry and renewal, backoff, timeouts): inject to drive time in tests. */
  timers?: Timers;
  /** One deadline for TCP, TLS, SASL and the hub's open (ms, default 60 000, as the Azure SDKs). */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** The container-id of our open frame (default a random uuid). */
  containerId?: string;
  /**
   * Who the application is, appended to the user agent each link announces in
   * `com.microsoft:client-version` (`'myapp/1.2'`); see {@link userAgent}.
   */
  productInfo?: string;
  /**
   * Structured diagnostics: 'iothub' records (CBS put-token and renewal, redirect, reconnect) and
   * those of the AMQP connection. See `setLogger` for the process-wide one.
   */
  logger?: Logger;
}

// The run-time checks of the options above (protocol/options.ts): a key missing here fails to compile.
const RENEWAL_OPTIONS = {
  renewAtFraction: opt.number,
  marginMs: opt.number,
  minIntervalMs: opt.number,
  enabled: opt.boolean,
} satisfies OptionSchema<TokenRenewalOptions>;

const PORTABLE_IOTHUB_CLIENT_OPTIONS = {
  port: opt.number,
  transport: opt.oneOf('amqp', 'amqp-ws'),
  auth: opt.oneOf('cbs', 'plain'),
  sasl: opt.oneOf('none', 'ANONYMOUS', 'MSSBCBS'),
  tokenProvider: opt.function,
  tokenLifetimeSeconds: opt.number,
  renewal: opt.nested(RENEWAL_OPTIONS, 'renewal options'),
  reconnect: opt.either(opt.boolean, opt.nested(HUB_RECONNECT_OPTIONS, 'reconnect options')),
  retryPolicy: opt.either(
    opt.instanceOf(RetryPolicy, 'a RetryPolicy'),
    opt.nested(RETRY_POLICY_OPTIONS, 'retry policy options'),
  ),
  sendTimeoutMs: opt.number,
  timers: opt.object,
  connectTimeoutMs: opt.number,
  idleTimeoutMs: opt.number,
  containerId: opt.string,
  productInfo: opt.string,
  logger: opt.either(opt.function, opt.object),
} satisfies OptionSchema<Omit<IotHubClientOptions, 'tls' | 'proxy'>>;

/** The rules of {@link IotHubClientOptions} on `platform` (in a browser, no proxy and no TLS settings). */
export function iothubClientOptions(platform: HubPlatform): AnyOptionSchema {
  const { tls, proxy } = platform.options;
  return { ...PORTABLE_IOTHUB_CLIENT_OPTIONS, tls, ...(proxy === undefined ? {} : { proxy }) };
}

/** The options of one send (sendEvent, a C2D send). */
export const SEND_EVENT_OPTIONS = {
  timeoutMs: opt.number,
  signal: opt.signal,
};

/** The options of the streams (messages(), feedback()). */
export const STREAM_OPTIONS = {
  signal: opt.signal,
} satisfies OptionSchema<{ signal?: AbortSignal }>;

export function resolveTls(tls: IotHubClientOptions['tls']): TlsOptions | false {
  if (tls === false) return false;
  if (tls === undefined || tls === true) return {};
  return tls;
}

export function resolvePort(csPort: number | undefined, o: IotHubClientOptions, tls: boolean): number {
  if (o.transport === 'amqp-ws') return csPort ?? o.port ?? (tls ? 443 : 80);
  return csPort ?? o.port ?? (tls ? 5671 : 5672);
}

/** The hub connection's transport options: the WebSocket endpoint and the proxy, as given. */
export function resolveTransport(
  o: IotHubClientOptions,
  platform: HubPlatform,
  path = IOTHUB_WEBSOCKET_PATH,
): { websocket?: { path: string }; proxy?: string | URL } {
  // A bad proxy URL is refused here, when the client is made, not at the first connect.
  platform.checkTransport(o);
  return {
    ...(o.transport === 'amqp-ws' ? { websocket: { path } } : {}),
    ...(o.proxy === undefined ? {} : { proxy: o.proxy }),
  };
}

export function resolveRetry(r: IotHubClientOptions['retryPolicy']): RetryPolicy {
  return r instanceof RetryPolicy ? r : new RetryPolicy(r ?? {});
}

export function resolveTimers(o: IotHubClientOptions): Timers {
  return o.timers ?? realTimers;
}

/** Errors after which a message is sent again on a new link (they say nothing about the message). */
export function isConnectionLoss(e: unknown): boolean {
  return (
    e instanceof NotConnectedError || e instanceof ConnectionForcedError || e instanceof LinkDetachedError
  );
}

/** Resolves for `accepted` (or a presettled send), throws the typed error of any other outcome. */
export function checkOutcome(state: DeliveryState | undefined): void {
  if (state === undefined || state.type === 'accepted') return;
  if (state.type === 'rejected') {
    throw errorFromCondition(state.error ?? { condition: Condition.InternalError, description: 'rejected' });
  }
  if (state.type === 'released') throw new MessageReleasedError();
  if (state.type === 'modified') {
    if (state.undeliverableHere) {
      throw new IotHubError(
        'IOTHUB_ERROR',
        'the hub will not take this message (modified, undeliverable-here)',
        false,
      );
    }
    throw new MessageReleasedError({ description: 'modified' });
  }
  throw new IotHubError('IOTHUB_ERROR', `unexpected outcome ${state.type}`, false);
}

/**
 * Opens a receiver and fails with the detach's error when the peer detached it at once. IoT Hub
 * answers an events attach with its attach reply and a redirect detach together: openReceiver then
 * resolves with a receiver whose link is already gone, and the caller wants the redirect.
 */
export async function openReceiverChecked(
  conn: AmqpConnection,
  options: ReceiverOptions,
): Promise<MessageReceiver> {
  const r = await conn.openReceiver(options);
  if (r.link.remote === 'detached' || r.link.local === 'detached') {
    throw r.link.error ?? new LinkDetachedError({ description: 'the hub detached the link at once' });
  }
  return r;
}

/**
 * Detaches a receiver, after letting the dispositions just written go out on their own first: a
 * peer that reads a disposition and a detach in one batch may handle the detach first and put the
 * settled message back. Real time on purpose (a few ms).
 */
export async function closeReceiverAfterSettling(
  r: MessageReceiver | undefined,
  lingerMs = 20,
): Promise<void> {
  if (!r || r.link.local === 'detached') return;
  await new Promise<void>((res) => setTimeout(res, lingerMs));
  await r.close().catch(() => undefined);
}

/** The link properties every SDK sends (informational): the user agent. */
export function linkProperties(agent: string): Record<string, string> {
  return { 'com.microsoft:client-version': agent };
}

export type { TokenRenewalOptions };
