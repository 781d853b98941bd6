/**
 * Epochs on the Event Hubs endpoint: per partition and consumer group, a receiver with a higher
 * epoch takes the partition from the others (amqp:link:stolen), and a receiver without an epoch is
 * refused while one with an epoch holds it. Kept apart from the link handlers so that the shared
 * emulator context can own one registry without importing them.
 */
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';

export interface EpochHolder {
  epoch: bigint | undefined;
  steal(error: AmqpError): void;
}

/** Who holds each partition of each consumer group. */
export class EpochRegistry {
  private readonly holders = new Map<string, Set<EpochHolder>>();

  /**
   * Registers a receiver; returns undefined (and detaches the losers) or the refusal when a
   * receiver with a higher epoch (or any epoch, for a receiver without one) holds the partition.
   */
  claim(key: string, h: EpochHolder): AmqpError | undefined {
    let set = this.holders.get(key);
    if (!set) this.holders.set(key, (set = new Set()));
    const others = [...set];
    const held = others.filter((o) => o.epoch !== undefined);
    if (h.epoch === undefined) {
      if (held.length > 0)
        return {
          condition: Condition.Stolen,
          description: `A receiver with epoch ${held[0]!.epoch} holds ${key}; receivers without an epoch are refused.`,
        };
    } else {
      const higher = held.find((o) => o.epoch! > h.epoch!);
      if (higher)
        return {
          condition: Condition.Stolen,
          description: `A receiver with a higher epoch (${higher.epoch}) holds ${key}; epoch ${h.epoch} is refused.`,
        };
      for (const o of others) {
        set.delete(o);
        o.steal({
          condition: Condition.Stolen,
          description: `New receiver with epoch ${h.epoch} was created for ${key}, so this receiver${
            o.epoch === undefined ? '' : ` with epoch ${o.epoch}`
          } is being disconnected.`,
        });
      }
    }
    set.add(h);
    return undefined;
  }

  release(key: string, h: EpochHolder): void {
    const set = this.holders.get(key);
    if (!set) return;
    set.delete(h);
    if (set.size === 0) this.holders.delete(key);
  }
}
