/** What the link handlers share: the hub state, the auth configuration, the clock and the log. */
import type { Message } from '../../codec/message.js';
import type { AmqpValue } from '../../codec/values.js';
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { AcceptOptions, IncomingLink, ServerConnection } from '../../server/server-connection.js';
import type { Clock } from '../../util/timers.js';
import { isHubError } from '../hub/errors.js';
import type { HubState } from '../hub/hub.js';
import { entry } from '../message-values.js';
import type { AuthConfig } from './auth.js';
import type { ConnectionState } from './connection-state.js';
import type { EpochRegistry } from './epochs.js';

export interface EmulatorContext {
  readonly state: HubState;
  readonly auth: AuthConfig;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /** The host name put in redirects when the client's open named none. */
  readonly publicHost: string;
  /** Real-time pause between a redirect's attach reply and its detach (see events.ts). */
  readonly redirectDelayMs: number;
  readonly epochs: EpochRegistry;
  /**
   * IoT Hub's fault injection (faults.ts' FaultInjector): told of each stored telemetry message,
   * and asked about each authorized device link (true: refused, the device is faulted).
   */
  readonly faults?: {
    onTelemetry(cs: ConnectionState, deviceId: string, moduleId: string | undefined, m: Message): void;
    refuseDuringFault(cs: ConnectionState, l: IncomingLink): boolean;
  };
  connection(c: ServerConnection): ConnectionState;
  /** A grant was added: the expiry timer may need to move earlier. */
  grantsChanged(): void;
}

/** Max message sizes of the real hub's attach replies (contract section 4). */
export const LINK_MAX_MESSAGE_SIZE = 1024 * 1024;
/**
 * max-message-size of the request links (`$cbs`, `$management`), which anyone may attach before
 * authenticating. A put-token carries one token: a SAS token is a few hundred bytes, an Azure AD
 * JWT a few KiB; a READ request is smaller still. 16 KiB holds every one of them with room to
 * spare, and bounds what an unauthenticated client can make the hub buffer per request.
 */
export const REQUEST_MAX_MESSAGE_SIZE = 16 * 1024;
/** The max-message-size of receivers on the Event Hubs-compatible endpoint. */
export const EVENTS_MAX_MESSAGE_SIZE = 256 * 1024;
/** Link credit the real hub grants client senders. */
export const LINK_CREDIT = 100;

/**
 * Accepts a client sender with rcv-settle-mode first, whatever the client proposed: the hub settles
 * each transfer with its outcome at once. uAMQP proposes rcv-settle-mode second but only completes
 * a send when the receiver's disposition is settled, so echoing "second" left it waiting for ever.
 * (The server's acceptLink copies the client's proposal and has no option for this: the proposal
 * is changed before accepting.)
 */
export function acceptReceiverFirst(l: IncomingLink, o: AcceptOptions): MessageReceiver {
  const a = l.remoteAttach as { rcvSettleMode?: number };
  a.rcvSettleMode = 0;
  return l.acceptReceiver(o);
}

/** How a client sender's transfers go into the hub (serveClientSender). */
export interface IncomingMessages<T> {
  /** Past it a transfer is rejected with amqp:link:message-size-exceeded, described by tooLarge. */
  maxSize: number;
  tooLarge(size: number): string;
  /** What is stored; a throw is amqp:decode-error. */
  decode(rm: ReceivedMessage): T;
  /** Resolves once stored; a HubError's condition is the rejection, anything else internal-error. */
  store(decoded: T): Promise<unknown>;
  /** Told of a failure that is not a HubError: not the client's fault, but the hub's. */
  unexpected?(e: unknown): void;
}

/**
 * Serves a client sender (telemetry, the service's C2D): each transfer is decoded and stored, then
 * accepted, or rejected with the condition of what refused it. Transfers are taken as they come,
 * without waiting for the previous store.
 */
export function serveClientSender<T>(l: IncomingLink, o: IncomingMessages<T>): void {
  const receiver = acceptReceiverFirst(l, { credit: LINK_CREDIT, maxMessageSize: LINK_MAX_MESSAGE_SIZE });
  const take = async (rm: ReceivedMessage): Promise<void> => {
    const size = rm.payload.length;
    if (size > o.maxSize)
      return settle(rm, { condition: Condition.MessageSizeExceeded, description: o.tooLarge(size) });
    let decoded: T;
    try {
      decoded = o.decode(rm);
    } catch (e) {
      return settle(rm, { condition: Condition.DecodeError, description: String(e) });
    }
    try {
      await o.store(decoded);
      settle(rm);
    } catch (e) {
      if (!isHubError(e)) o.unexpected?.(e);
      settle(rm, {
        condition: isHubError(e) ? e.condition : Condition.InternalError,
        description: e instanceof Error ? e.message : String(e),
      });
    }
  };
  void (async () => {
    try {
      for await (const rm of receiver) void take(rm);
    } catch {
      // Link or connection gone.
    }
  })();
}

function settle(rm: ReceivedMessage, error?: AmqpError): void {
  try {
    if (error) rm.reject(error);
    else rm.accept();
  } catch {
    // The link went away before the outcome: the client will send again (at-least-once).
  }
}

export function refuse(
  l: IncomingLink,
  condition: string,
  description: string,
  info?: AmqpError['info'],
): void {
  const e: AmqpError = info === undefined ? { condition, description } : { condition, description, info };
  l.refuse(e);
}

/** An application property (or annotation) as a string, names compared case-insensitively. */
export function stringProp(
  m: Message,
  name: string,
  where: 'applicationProperties' | 'messageAnnotations' = 'applicationProperties',
): string | undefined {
  const v: AmqpValue = entry(m[where], name, true);
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

/** Runs a promise-returning job and logs (never throws) its failure. */
export function background(ctx: EmulatorContext, what: string, p: Promise<unknown>): void {
  p.catch((e: unknown) => ctx.log(`${what}: ${e instanceof Error ? e.message : String(e)}`));
}
