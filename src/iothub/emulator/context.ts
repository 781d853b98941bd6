/** What the link handlers share: the hub state, the auth configuration, the clock and the log. */
import type { Message } from '../../codec/message.js';
import type { AmqpValue } from '../../codec/values.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { MessageReceiver } from '../../api/receiver.js';
import type { AcceptOptions, IncomingLink } from '../../server/incoming-link.js';
import type { ServerConnection } from '../../server/server-connection.js';
import type { Clock } from '../../util/timers.js';
import type { HubState } from '../hub/hub.js';
import { getEntry } from '../hub/message-utils.js';
import type { AuthConfig } from './auth.js';
import type { ConnectionState } from './connection-state.js';
import type { EpochRegistry } from './events.js';

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

export function refuse(l: IncomingLink, condition: string, description: string): void {
  const e: AmqpError = { condition, description };
  l.refuse(e);
}

/** An application property (or annotation) as a string, names compared case-insensitively. */
export function stringProp(
  m: Message,
  name: string,
  where: 'applicationProperties' | 'messageAnnotations' = 'applicationProperties',
): string | undefined {
  const v: AmqpValue = getEntry(m[where], name, true);
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

/** Runs a promise-returning job and logs (never throws) its failure. */
export function background(ctx: EmulatorContext, what: string, p: Promise<unknown>): void {
  p.catch((e: unknown) => ctx.log(`${what}: ${e instanceof Error ? e.message : String(e)}`));
}
