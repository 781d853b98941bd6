/**
 * Which partition a device's telemetry goes to: FNV-1a (32-bit) over the UTF-8 bytes of the
 * device id, modulo the partition count. Fixed and documented so that it is stable across
 * restarts, versions and machines: a device always lands in the same partition, and consumers
 * that read one partition see all of that device's events in order. (The real hub's hash is not
 * public; only "a hash of the device id" is promised, contract section 5.)
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32-bit, over the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** The partition (0..partitions-1) of a device's telemetry. */
export function partitionForDevice(deviceId: string, partitions: number): number {
  return fnv1a32(deviceId) % partitions;
}
