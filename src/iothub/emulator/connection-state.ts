/**
 * What the emulator keeps per client connection: the grants its credentials earned (SASL PLAIN,
 * CBS put-tokens by audience, a client certificate), the links those grants authorize (re-checked
 * when a grant expires: a link that nothing covers any more is detached with
 * `amqp:unauthorized-access`), and the links on which it reads CBS and `$management` responses.
 */
import { TLSSocket } from 'node:tls';
import type { Message } from '../../codec/message.js';
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { MessageSender } from '../../api/sender.js';
import type { ServerConnection } from '../../server/server-connection.js';
import { grantAllows, type Grant, type Resource } from './auth.js';
import { WebSocketStream } from '../../transport/websocket/ws-stream.js';
import type { Registry } from '../hub/registry.js';
import { peerCertificateOf, verifyCertificate, type PeerCertificate } from './x509.js';

/** A link that stays open only while some grant covers its resource. */
export interface GuardedLink {
  readonly name: string;
  readonly resource: Resource;
  /** True once the link is detached (by either side). */
  gone(): boolean;
  /** Detaches the link with the error (idempotent). */
  detach(error: AmqpError): void;
}

/** A client receiver on which responses go out (our sender). */
export interface ReplyLink {
  readonly name: string;
  /** The client's source and target addresses, as given. */
  readonly source: string | undefined;
  readonly target: string | undefined;
  readonly sender: MessageSender;
}

function addressPathLower(a: string | undefined): string | undefined {
  if (a === undefined) return undefined;
  return a
    .replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
    .replace(/^\/+|\/+$/g, '')
    .toLowerCase();
}

/**
 * Responses a client may leave unread, on one reply link or waiting for one: past it, requests on
 * this connection are refused (amqp:resource-limit-exceeded) instead of answered, so a client that
 * sends requests and never takes the answers cannot make the hub hold them.
 */
export const MAX_PENDING_REPLIES = 1000;

/**
 * CBS audiences one connection may hold a token for; the real hub also refuses "too many CBS
 * tokens". A renewal of an audience already held is always taken.
 */
export const MAX_GRANTS_PER_CONNECTION = 1000;

export class ConnectionState {
  readonly grants = new Map<string, Grant>();
  readonly guarded = new Set<GuardedLink>();
  readonly replyLinks = new Set<ReplyLink>();
  /** Responses whose reply link was not attached yet (sent when it is). */
  private readonly pendingReplies: { replyTo: string | undefined; node: string; message: Message }[] = [];
  /** The local port the client connected to, and whether it was TLS. */
  readonly localPort: number;
  readonly tls: boolean;
  /** The TLS client certificate, if the client sent one (judged per identity: x509.ts). */
  readonly certificate: PeerCertificate | undefined;

  /**
   * Until the first grant: when the connection is closed if none came (a client that skipped SASL
   * or used ANONYMOUS/MSSBCBS may only do CBS, and only for so long). Undefined once granted.
   */
  private grantDeadline: number | undefined;

  constructor(
    readonly connection: ServerConnection,
    grantDeadline?: number,
  ) {
    const s = connection.socket;
    this.localPort = s.localPort ?? 0;
    // Over a WebSocket, TLS (if any) is on the socket under it.
    const t = s instanceof WebSocketStream ? s.socket : s;
    this.tls = 'encrypted' in t && (t as { encrypted?: boolean }).encrypted === true;
    this.certificate = t instanceof TLSSocket ? peerCertificateOf(t) : undefined;
    this.grantDeadline = grantDeadline;
  }

  /** Adds (or replaces: a renewal) a grant. */
  setGrant(key: string, g: Grant): void {
    this.grants.set(key, g);
    this.grantDeadline = undefined;
  }

  /** A valid credential came some other way (a management request's own token): no deadline. */
  credentialSeen(): void {
    this.grantDeadline = undefined;
  }

  /** Keeps `l` open only while some grant covers it. */
  guard(l: GuardedLink): void {
    if (this.guarded.size > 64) for (const g of [...this.guarded]) if (g.gone()) this.guarded.delete(g);
    this.guarded.add(l);
  }

  /** Whether some live grant allows `r`. */
  allows(r: Resource, now: number): boolean {
    for (const g of this.grants.values()) if (grantAllows(g, r, now)) return true;
    return false;
  }

  /** The auth method of the grant that allows `r` (for the telemetry's auth-method annotation). */
  grantFor(r: Resource, now: number): Grant | undefined {
    for (const g of this.grants.values()) if (grantAllows(g, r, now)) return g;
    return undefined;
  }

  /** The earliest expiry of a grant (or of the wait for the first one), if any. */
  nextExpiry(): number | undefined {
    let min = this.grantDeadline;
    for (const g of this.grants.values())
      if (Number.isFinite(g.expiresAt) && (min === undefined || g.expiresAt < min)) min = g.expiresAt;
    return min;
  }

  /**
   * Closes the connection if its wait for a first grant is over; drops expired grants and detaches
   * the links nothing covers any more.
   */
  expire(now: number): void {
    if (this.grantDeadline !== undefined && this.grantDeadline <= now) {
      this.grantDeadline = undefined;
      this.connection
        .close({
          condition: Condition.UnauthorizedAccess,
          description: 'No credentials: the connection did not authenticate (SASL or CBS) in time.',
        })
        .catch(() => undefined);
      return;
    }
    let dropped = false;
    for (const [k, g] of this.grants)
      if (g.expiresAt <= now) {
        this.grants.delete(k);
        dropped = true;
      }
    if (dropped)
      this.detachUncovered(now, (path) => `The SAS token for ${path} expired and was not renewed.`);
  }

  /**
   * Judges the client certificate's grants again after a registry change (a thumbprint rotated, an
   * identity removed or switched to SAS): a grant it no longer earns is dropped, and the links
   * nothing covers any more are detached.
   */
  recheckCertificate(registry: Registry, now: number): void {
    if (this.certificate === undefined) return;
    let dropped = false;
    for (const [k, g] of this.grants) {
      if (g.method !== 'x509' || g.deviceId === undefined) continue;
      // The dates were judged when the grant was made (a connection outlives its certificate, as
      // in TLS): only what the registry says is judged again.
      const c = this.certificate;
      const within = Math.min(Math.max(now, c.notBefore), c.notAfter);
      if (!verifyCertificate(registry, c, g.deviceId, g.moduleId, within).ok) {
        this.grants.delete(k);
        dropped = true;
      }
    }
    if (dropped)
      this.detachUncovered(now, (path) => `The client certificate no longer authenticates ${path}.`);
  }

  /** Detaches the guarded links no grant covers any more, with `description` for each. */
  private detachUncovered(now: number, description: (path: string) => string): void {
    for (const l of [...this.guarded]) {
      if (l.gone()) {
        this.guarded.delete(l);
        continue;
      }
      if (!this.allows(l.resource, now)) {
        this.guarded.delete(l);
        l.detach({ condition: Condition.UnauthorizedAccess, description: description(l.resource.path) });
      }
    }
  }

  /**
   * The client receiver that a response goes to: the one named by `replyTo` (link name, source or
   * target address), else one whose source is the request node itself (`$cbs`, as uAMQP's
   * `$cbs-receiver`), else undefined.
   */
  replyLink(replyTo: string | undefined, node: string): ReplyLink | undefined {
    const open = [...this.replyLinks].filter((r) => r.sender.link.local === 'attached');
    if (replyTo !== undefined && replyTo !== '') {
      const want = addressPathLower(replyTo);
      const hit =
        open.find((r) => r.name === replyTo) ??
        open.find((r) => addressPathLower(r.source) === want) ??
        open.find((r) => addressPathLower(r.target) === want);
      if (hit) return hit;
    }
    const n = node.toLowerCase();
    return open.find((r) => {
      const s = addressPathLower(r.source);
      return s === n || (s !== undefined && s.endsWith(`/${n}`));
    });
  }

  /** True when a response to this request would only pile up: the client does not take them. */
  repliesBacklogged(replyTo: string | undefined, node: string): boolean {
    const rl = this.replyLink(replyTo, node);
    return (rl ? rl.sender.pending : this.pendingReplies.length) >= MAX_PENDING_REPLIES;
  }

  /** Sends a response on its reply link, or keeps it until that link attaches. */
  reply(replyTo: string | undefined, node: string, message: Message, log: (l: string) => void): void {
    const rl = this.replyLink(replyTo, node);
    if (!rl) {
      // Bounded: the request that would overflow it was refused (repliesBacklogged).
      this.pendingReplies.push({ replyTo, node, message });
      return;
    }
    rl.sender.send(message).catch((e: unknown) => log(`response on ${rl.name} failed: ${String(e)}`));
  }

  addReplyLink(r: ReplyLink, log: (l: string) => void): void {
    this.replyLinks.add(r);
    r.sender.once('close', () => this.replyLinks.delete(r));
    const waiting = this.pendingReplies.splice(0);
    for (const p of waiting) this.reply(p.replyTo, p.node, p.message, log);
  }
}
