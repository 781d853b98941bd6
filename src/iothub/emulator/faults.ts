/**
 * IoT Hub's fault injection, as the official SDKs' disconnect tests drive it (docs/iothub-protocol.md,
 * "Fault injection"). A device's telemetry message with the application properties
 * `AzIoTHub_FaultOperationType`, `...CloseReason`, `...DelayInSecs` and `...DurationInSecs` makes the
 * hub, after the delay, do the operation on the connection the message came on:
 *
 * | operation | what the hub does |
 * |---|---|
 * | `KillTcp` | destroys the socket (no AMQP close) |
 * | `KillAmqpConnection` | closes the connection: `amqp:connection:forced`, the close reason as description |
 * | `ShutDownAmqp` | detaches every link and ends every session, then closes as KillAmqpConnection |
 * | `KillAmqpSession` | ends the sessions carrying the device's links (`amqp:internal-error`) |
 * | `KillAmqpCBSLinkReq` / `Resp` | detaches the `$cbs` sender / the CBS reply receiver (`amqp:link:detach-forced`) |
 * | `KillAmqpD2CLink` / `C2DLink` | detaches the telemetry / C2D link |
 * | `KillAmqpMethodReqLink` / `RespLink` | detaches the method request (hub to device) / response link |
 * | `KillAmqpTwinLinkReq` / `Resp` | detaches the twin request (device to hub) / response link |
 *
 * The duration is the time the device stays faulted: while it lasts, what the device re-creates is
 * refused as it attaches (a link of the killed kind; for the session and connection faults, any
 * link of the device, and the session or connection is killed again), so the device only gets back
 * in after it. The refusal comes once the link is authorized and before anything is routed to it: a
 * caller without a credential for the device gets `amqp:unauthorized-access` as ever, and cannot
 * tell that the device is faulted. The fault message itself is
 * telemetry like any other: stored, accepted, and read on the events endpoint.
 *
 * Bounds: one pending fault per connection (a newer request replaces it); delay and duration
 * clamped to {@link MAX_FAULT_DELAY_S} and {@link MAX_FAULT_DURATION_S}; one faulted window per
 * identity; a resent fault message (same message-id as the identity's last one: at-least-once after
 * the very fault it asked for) does not fault again. Unknown or not emulated operations, and bad
 * numbers, are logged and ignored. `--fault` (startHub's `faults`) applies the same operations on a
 * schedule. Time is the hub's clock: deadlines join startHub's `nextDeadline()` / `tick()`.
 */
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { Link } from '../../link/link.js';
import type { Message } from '../../codec/message.js';
import type { IncomingLink } from '../../server/server-connection.js';
import { WebSocketStream } from '../../transport/websocket/ws-stream.js';
import type { Clock } from '../../util/timers.js';
import { addressPath, parseHubAddress } from '../hub/address.js';
import type { ConnectionState } from './connection-state.js';
import { faultOf, type FaultOperation, type FaultRequest, type ScheduledFault } from './fault-requests.js';

export {
  FAULT_OPERATIONS,
  FAULT_PROPERTIES,
  MAX_FAULT_DELAY_S,
  MAX_FAULT_DURATION_S,
  MIN_FAULT_PERIOD_MS,
  checkScheduledFaults,
  faultOf,
  isFaultOperation,
  parseFaultSchedule,
  type FaultOperation,
  type FaultRequest,
  type ScheduledFault,
} from './fault-requests.js';

/** Identities whose last fault message-id is remembered (oldest forgotten first). */
const MAX_REMEMBERED_IDS = 10_000;
/** Faults kept in {@link FaultInjector.history}. */
export const FAULT_HISTORY = 100;

/** One fault done: by a fault message, a schedule, or again while the identity was faulted. */
export interface FaultRecord {
  operation: FaultOperation;
  identity: string;
  /** Objects killed (see applyFault). */
  killed: number;
  /** True for a kill of what was re-created while the identity was faulted. */
  again: boolean;
}

/** The link kinds a fault can name. */
type LinkKind = 'cbsReq' | 'cbsResp' | 'd2c' | 'c2d' | 'methodReq' | 'methodResp' | 'twinReq' | 'twinResp';

const LINK_OF: Partial<Record<FaultOperation, LinkKind>> = {
  KillAmqpCBSLinkReq: 'cbsReq',
  KillAmqpCBSLinkResp: 'cbsResp',
  KillAmqpD2CLink: 'd2c',
  KillAmqpC2DLink: 'c2d',
  KillAmqpMethodReqLink: 'methodReq',
  KillAmqpMethodRespLink: 'methodResp',
  KillAmqpTwinLinkReq: 'twinReq',
  KillAmqpTwinLinkResp: 'twinResp',
};

const CONNECTION_FAULTS = new Set<FaultOperation>(['KillTcp', 'KillAmqpConnection', 'ShutDownAmqp']);

/** `deviceId` or `deviceId/moduleId`. */
function identityKey(deviceId: string, moduleId: string | undefined): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

interface Pending {
  readonly request: FaultRequest;
  readonly identity: string;
  readonly at: number;
}

interface Window {
  readonly operation: FaultOperation;
  readonly reason: string;
  readonly until: number;
}

/** The kind of a link and the identity it belongs to (none for CBS links). */
function classify(link: Link): { kind: LinkKind; identity?: string } | undefined {
  const a = link.remoteAttach;
  // Our receiver is the client's sender: its address is the target; our sender's is the source.
  const clientSends = link.role === 'receiver';
  const t = a?.target;
  const raw = clientSends ? (t && 'address' in t ? t.address : undefined) : a?.source?.address;
  const address = typeof raw === 'string' ? raw : undefined;
  const h = parseHubAddress(address);
  if (h?.kind === 'cbs') return { kind: clientSends ? 'cbsReq' : 'cbsResp' };
  if (h === undefined) {
    // A CBS reply node: `cbs` (the Node SDKs), `cbs-<uuid>` (core-amqp).
    const p = address === undefined ? [] : addressPath(address);
    if (!clientSends && p.length === 1 && /^cbs/i.test(p[0]!)) return { kind: 'cbsResp' };
    return undefined;
  }
  if (h.kind !== 'deviceEvents' && h.kind !== 'deviceBound' && h.kind !== 'methods' && h.kind !== 'twin')
    return undefined;
  const identity = identityKey(h.deviceId, h.moduleId);
  switch (h.kind) {
    case 'deviceEvents':
      return clientSends ? { kind: 'd2c', identity } : undefined; // a module's input has no fault
    case 'deviceBound':
      return clientSends ? undefined : { kind: 'c2d', identity };
    case 'methods':
      return { kind: clientSends ? 'methodResp' : 'methodReq', identity };
    case 'twin':
      return { kind: clientSends ? 'twinReq' : 'twinResp', identity };
  }
}

function attachedLinks(cs: ConnectionState): Link[] {
  const out: Link[] = [];
  for (const s of cs.connection.engine.allSessions)
    for (const l of s.allLinks) if (l.local === 'attached') out.push(l);
  return out;
}

/** The identities (device, or device/module) a connection holds a device grant for. */
function identitiesOf(cs: ConnectionState): Set<string> {
  const out = new Set<string>();
  for (const g of cs.grants.values())
    if (g.deviceId !== undefined && g.kind !== 'policy') out.add(identityKey(g.deviceId, g.moduleId));
  return out;
}

/**
 * Does one fault operation on one connection, for one identity. Returns how many objects it killed
 * (the connection counts as one; 0 when nothing of the kind was open).
 */
export function applyFault(
  cs: ConnectionState,
  operation: FaultOperation,
  reason: string,
  identity: string,
): number {
  const c = cs.connection;
  const error = (condition: string): AmqpError => ({ condition, description: reason });
  switch (operation) {
    case 'KillTcp': {
      const s = c.socket;
      const raw = s instanceof WebSocketStream ? s.socket : s;
      // At once, so that nothing (a method call) is handed to it after the fault. The fault
      // message's accept went out turns ago (the delay), or, with no delay, may be lost: the
      // client's resend is then stored, and not armed again (same message-id).
      raw.destroy();
      if (s !== raw) s.destroy();
      return 1;
    }
    case 'KillAmqpConnection':
      c.engine.close(error(Condition.ConnectionForced));
      c.schedule();
      return 1;
    case 'ShutDownAmqp':
      for (const s of c.engine.allSessions) {
        for (const l of s.allLinks) if (l.local === 'attached') l.detach({ closed: true });
        if (s.local !== 'detached') s.end();
      }
      c.engine.close(error(Condition.ConnectionForced));
      c.schedule();
      return 1;
    case 'KillAmqpSession': {
      const sessions = new Set(
        attachedLinks(cs)
          .filter((l) => classify(l)?.identity === identity)
          .map((l) => l.session),
      );
      let n = 0;
      for (const s of sessions)
        if (s.local !== 'detached') {
          s.end(error(Condition.InternalError));
          n++;
        }
      c.schedule();
      return n;
    }
    default: {
      const kind = LINK_OF[operation]!;
      let n = 0;
      for (const l of attachedLinks(cs)) {
        const k = classify(l);
        if (k?.kind === kind && (k.identity === undefined || k.identity === identity)) {
          l.detach({ error: error(Condition.DetachForced) });
          n++;
        }
      }
      c.schedule();
      return n;
    }
  }
}

/**
 * The hub's fault injector: pending faults per connection, faulted windows per identity, and the
 * scheduled faults, all on the hub's clock (nextDeadline / tick).
 */
export class FaultInjector {
  private readonly pending = new Map<ConnectionState, Pending>();
  private readonly windows = new Map<string, Window>();
  private readonly lastIds = new Map<string, string>();
  private readonly schedules: { fault: ScheduledFault; next: number }[];
  /** The last {@link FAULT_HISTORY} faults done, oldest first (what tests and the log look at). */
  readonly history: FaultRecord[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
    /** Connections alive now (for scheduled faults). */
    private readonly live: () => Iterable<ConnectionState>,
    /** A deadline moved: re-arm the hub's timer. */
    private readonly changed: () => void,
    scheduled: readonly ScheduledFault[] = [],
  ) {
    const now = clock.now();
    this.schedules = scheduled.map((fault) => ({ fault, next: now + fault.everyMs }));
  }

  /** Faults waiting for their delay (at most one per connection). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** A telemetry message from `deviceId[/moduleId]` on `cs` was accepted: is it a fault message? */
  onTelemetry(cs: ConnectionState, deviceId: string, moduleId: string | undefined, m: Message): void {
    const f = faultOf(m);
    if (f === undefined) return;
    const identity = identityKey(deviceId, moduleId);
    if (typeof f === 'string') return this.log(`fault injection from ${identity}: ${f}; ignored`);
    const id = m.properties?.messageId;
    if (id !== undefined && id !== null) {
      const key = String(id);
      if (this.lastIds.get(identity) === key)
        return this.log(`fault injection from ${identity}: message ${key} again (a resend); ignored`);
      this.lastIds.delete(identity);
      this.lastIds.set(identity, key);
      if (this.lastIds.size > MAX_REMEMBERED_IDS) this.lastIds.delete(this.lastIds.keys().next().value!);
    }
    if (this.pending.has(cs)) this.log(`fault injection from ${identity}: replaces the pending fault`);
    this.pending.set(cs, { request: f, identity, at: this.clock.now() + f.delayMs });
    this.log(
      `fault injection from ${identity}: ${f.operation} in ${f.delayMs} ms for ${f.durationMs} ms (${f.reason})`,
    );
    this.changed();
  }

  /** The earliest pending fault, window end or scheduled fault. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    const see = (t: number): void => {
      if (min === undefined || t < min) min = t;
    };
    for (const p of this.pending.values()) see(p.at);
    for (const w of this.windows.values()) see(w.until);
    for (const s of this.schedules) see(s.next);
    return min;
  }

  /** Does what is due at `now`. */
  tick(now: number): void {
    for (const [cs, p] of this.pending) {
      if (p.at > now) continue;
      this.pending.delete(cs);
      if (cs.connection.engine.finished) continue; // gone before its fault
      this.fire(cs, p.request.operation, p.request.reason, p.identity, p.request.durationMs, now);
    }
    for (const [k, w] of this.windows) if (w.until <= now) this.windows.delete(k);
    for (const s of this.schedules) {
      if (s.next > now) continue;
      // Missed periods are not made up: one fault per tick, then the next period from now.
      s.next = now + s.fault.everyMs;
      this.runScheduled(s.fault, now);
    }
  }

  private runScheduled(f: ScheduledFault, now: number): void {
    const reason = f.reason ?? `scheduled fault ${f.operation}`;
    for (const cs of [...this.live()]) {
      for (const identity of identitiesOf(cs)) {
        if (f.deviceId !== undefined && identity.split('/')[0] !== f.deviceId) continue;
        this.fire(cs, f.operation, reason, identity, f.durationMs ?? 0, now);
        if (CONNECTION_FAULTS.has(f.operation)) break; // once per connection
      }
    }
  }

  private fire(
    cs: ConnectionState,
    operation: FaultOperation,
    reason: string,
    identity: string,
    durationMs: number,
    now: number,
  ): void {
    const killed = applyFault(cs, operation, reason, identity);
    this.log(`fault injection: ${operation} on ${identity} (${reason}): ${killed} killed`);
    this.record({ operation, identity, killed, again: false });
    if (durationMs > 0) this.windows.set(identity, { operation, reason, until: now + durationMs });
  }

  private record(r: FaultRecord): void {
    this.history.push(r);
    if (this.history.length > FAULT_HISTORY) this.history.shift();
  }

  /** A connection is gone: its pending fault with it. */
  forget(cs: ConnectionState): void {
    this.pending.delete(cs);
  }

  /**
   * Called by the router once a device's link is authorized (never before: a caller without a
   * credential for the device must get `amqp:unauthorized-access`, not learn that it is faulted).
   * While the identity is faulted, what it re-creates is refused (`amqp:link:detach-forced`, the
   * close reason) before anything is routed to it, and a connection or session fault is done again
   * on the connection or the link's session. Returns true when the link was refused.
   */
  refuseDuringFault(cs: ConnectionState, l: IncomingLink): boolean {
    const k = this.windows.size === 0 ? undefined : classify(l.engineLink);
    return k?.identity !== undefined && this.refuse(cs, l, k);
  }

  /**
   * Called for each attach before the router: a CBS link is refused while an identity the
   * connection already holds a grant for is faulted (it reveals nothing the caller does not hold).
   * A fresh connection has no identity before its put-token, so its CBS links are not refused.
   */
  refuseCbsDuringFault(cs: ConnectionState, l: IncomingLink): boolean {
    const k = this.windows.size === 0 ? undefined : classify(l.engineLink);
    return k !== undefined && k.identity === undefined && this.refuse(cs, l, k);
  }

  private refuse(cs: ConnectionState, l: IncomingLink, k: { kind: LinkKind; identity?: string }): boolean {
    const link = l.engineLink;
    const now = this.clock.now();
    const owners = k.identity === undefined ? identitiesOf(cs) : new Set([k.identity]);
    for (const identity of owners) {
      const w = this.windows.get(identity);
      if (!w || w.until <= now) continue;
      const kind = LINK_OF[w.operation];
      // CBS links come before the grant: a connection or session fault waits for the device's links.
      if (kind === undefined ? k.identity === undefined : kind !== k.kind) continue;
      this.log(`fault injection: ${w.operation} again on ${identity} (faulted for ${w.until - now} ms more)`);
      l.refuse({ condition: Condition.DetachForced, description: w.reason });
      let killed = 1;
      if (w.operation === 'KillAmqpSession')
        link.session.end({ condition: Condition.InternalError, description: w.reason });
      else if (kind === undefined) killed = applyFault(cs, w.operation, w.reason, identity);
      cs.connection.schedule();
      this.record({ operation: w.operation, identity, killed, again: true });
      return true;
    }
    return false;
  }
}
