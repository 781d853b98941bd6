/**
 * A session's unsettled deliveries by delivery-id. Ids are handed out in sequence and mostly
 * settled in order, so a power-of-two ring indexed by `id & mask` serves almost every lookup with
 * no hashing: a Map with thousands of entries coming and going cost ~10% of an unsettled sender's
 * time. The ring grows (up to MAX_RING) when an id's slot is taken by another unsettled delivery;
 * past that, such ids go to a Map on the side, so any pattern of ids stays correct.
 */
import type { Delivery } from '../link/delivery.js';

const MAX_RING = 1 << 16;

export class DeliveryIdMap {
  private ids: number[];
  private ring: (Delivery | undefined)[];
  private mask: number;
  private readonly spill = new Map<number, Delivery>();
  size = 0;

  constructor(capacity = 256) {
    this.ring = new Array<Delivery | undefined>(capacity).fill(undefined);
    this.ids = new Array<number>(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  get(id: number): Delivery | undefined {
    const i = id & this.mask;
    if (this.ids[i] === id) return this.ring[i];
    return this.spill.size > 0 ? this.spill.get(id) : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, d: Delivery): this {
    for (;;) {
      const i = id & this.mask;
      if (this.ids[i] === id) {
        this.ring[i] = d;
        return this;
      }
      if (this.spill.size > 0 && this.spill.has(id)) {
        this.spill.set(id, d);
        return this;
      }
      if (this.ring[i] === undefined) {
        this.ring[i] = d;
        this.ids[i] = id;
        this.size++;
        return this;
      }
      if (this.ring.length >= MAX_RING) {
        this.spill.set(id, d);
        this.size++;
        return this;
      }
      this.grow();
    }
  }

  delete(id: number): boolean {
    const i = id & this.mask;
    if (this.ids[i] === id) {
      this.ring[i] = undefined;
      this.ids[i] = -1;
      this.size--;
      return true;
    }
    if (this.spill.size > 0 && this.spill.delete(id)) {
      this.size--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.ids.fill(-1);
    this.spill.clear();
    this.size = 0;
  }

  /** Doubles the ring; entries move to their slots in it (two ids sharing one slot cannot). */
  private grow(): void {
    const { ring, ids } = this;
    const n = ring.length * 2;
    this.ring = new Array<Delivery | undefined>(n).fill(undefined);
    this.ids = new Array<number>(n).fill(-1);
    this.mask = n - 1;
    for (let i = 0; i < ring.length; i++) {
      const d = ring[i];
      if (d === undefined) continue;
      const j = ids[i]! & this.mask;
      this.ring[j] = d;
      this.ids[j] = ids[i]!;
    }
  }

  /** [id, delivery] pairs, in no particular order. */
  *entries(): IterableIterator<[number, Delivery]> {
    for (let i = 0; i < this.ring.length; i++) {
      const d = this.ring[i];
      if (d !== undefined) yield [this.ids[i]!, d];
    }
    yield* this.spill.entries();
  }

  *values(): IterableIterator<Delivery> {
    for (const [, d] of this.entries()) yield d;
  }

  [Symbol.iterator](): IterableIterator<[number, Delivery]> {
    return this.entries();
  }
}
