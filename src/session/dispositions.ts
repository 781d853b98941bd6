/**
 * Dispositions in ranges (spec 2.7.6): what we send is coalesced into first..last runs; what we
 * receive may name a huge range, so it is walked by whichever is smaller, the range or our map.
 */
import type { DeliveryState, Disposition } from '../codec/spec/records.js';
import type { Delivery } from '../link/delivery.js';
import { Role } from '../link/link.js';

export type PendingDisposition = { d: Delivery; role: 'sender' | 'receiver' };

/** True when `id` lies in the serial-number range first..last (both inclusive, mod 2^32). */
export function inRange(id: number, first: number, last: number): boolean {
  return (id - first) >>> 0 <= (last - first) >>> 0;
}

/** Deliveries by delivery-id (a Map, or the session's DeliveryIdMap). */
export interface DeliveriesById extends Iterable<[number, Delivery]> {
  readonly size: number;
  get(id: number): Delivery | undefined;
}

/** The deliveries of `map` (keyed by delivery-id) within first..last, in id order, in bounded time. */
export function deliveriesInRange(map: DeliveriesById, first: number, last: number): Delivery[] {
  const span = ((last - first) >>> 0) + 1;
  const hits: Delivery[] = [];
  if (span <= map.size) {
    for (let i = 0; i < span; i++) {
      const d = map.get((first + i) >>> 0);
      if (d) hits.push(d);
    }
  } else {
    const ids: number[] = [];
    for (const [id, d] of map) {
      if (inRange(id, first, last)) {
        hits.push(d);
        ids.push((id - first) >>> 0);
      }
    }
    // The map's order is not the ids': sort by distance from `first` (serial order).
    const order = hits.map((_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
    return order.map((i) => hits[i]!);
  }
  return hits;
}

/**
 * The disposition frames for what was queued: a delivery queued twice goes out once (its state is
 * the latest), and ids sorted per role form ranges of the same settlement and outcome.
 */
export function coalesce(queued: PendingDisposition[]): Disposition[] {
  // The usual case, one role settled in delivery order: no duplicate, nothing to sort.
  if (inSerialOrder(queued)) return ranges(queued);
  const seen = new Set<Delivery>();
  const pending: PendingDisposition[] = [];
  for (let k = queued.length - 1; k >= 0; k--) {
    const q = queued[k]!;
    if (!seen.has(q.d)) {
      seen.add(q.d);
      pending.push(q);
    }
  }
  pending.sort((a, b) => (a.role === b.role ? a.d.id - b.d.id : a.role === 'sender' ? -1 : 1));
  return ranges(pending);
}

/**
 * True when every entry has the same role and the ids strictly ascend in serial order from the
 * first (mod 2^32, so a run across the wrap counts): then no delivery is queued twice.
 */
export function inSerialOrder(queued: PendingDisposition[]): boolean {
  const n = queued.length;
  if (n === 0) return true;
  const role = queued[0]!.role;
  const base = queued[0]!.d.id;
  let prev = 0;
  for (let k = 1; k < n; k++) {
    const q = queued[k]!;
    if (q.role !== role) return false;
    const off = (q.d.id - base) >>> 0;
    if (off <= prev) return false;
    prev = off;
  }
  return true;
}

/** Frames for distinct deliveries, ordered by id within each role: runs of consecutive ids. */
function ranges(pending: PendingDisposition[]): Disposition[] {
  const out: Disposition[] = [];
  let i = 0;
  while (i < pending.length) {
    const { d, role } = pending[i]!;
    let last = d.id;
    let j = i + 1;
    for (; j < pending.length; j++) {
      const n = pending[j]!;
      const joins =
        n.role === role &&
        n.d.id === (last + 1) >>> 0 &&
        n.d.settled === d.settled &&
        sameState(n.d.state, d.state);
      if (!joins) break;
      last = n.d.id;
    }
    out.push({
      type: 'disposition',
      role: role === 'receiver' ? Role.Receiver : Role.Sender,
      first: d.id,
      last: last === d.id ? undefined : last,
      settled: d.settled || undefined,
      state: d.state,
    });
    i = j;
  }
  return out;
}

function sameState(a: DeliveryState | undefined, b: DeliveryState | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.type !== b.type) return false;
  // Outcomes without fields are interchangeable; others only when they are the same object.
  return Object.keys(a).length === 1 && Object.keys(b).length === 1;
}
