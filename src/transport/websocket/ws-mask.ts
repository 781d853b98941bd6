/**
 * XOR masking of WebSocket payloads (RFC 6455 section 5.3), four bytes at a time: a client masks
 * everything it sends and a server unmasks everything it receives, so a byte loop would cost a
 * fifth of a core at bench rates. Both the payload's words and the mask's word are read in the
 * platform's byte order, so the XOR is the same as byte by byte (test/transport/ws-mask.test.ts
 * checks it against the byte loop).
 */

/** XORs buf[start, end) with the 4-byte `mask`, its first byte at `start`. */
export function maskInPlace(buf: Uint8Array, start: number, end: number, mask: Uint8Array): void {
  let i = start;
  // Bytes up to the first 4-byte aligned address, then whole words, then the tail.
  const lead = Math.min(end - i, (4 - ((buf.byteOffset + i) & 3)) & 3);
  for (const stop = i + lead; i < stop; i++) buf[i]! ^= mask[(i - start) & 3]!;
  const words = (end - i) >>> 2;
  if (words > 0) {
    const phase = (i - start) & 3;
    const rotated = new Uint8Array(4);
    for (let k = 0; k < 4; k++) rotated[k] = mask[(phase + k) & 3]!;
    const m = new Int32Array(rotated.buffer)[0]!;
    const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= m;
    i += words * 4;
  }
  for (; i < end; i++) buf[i]! ^= mask[(i - start) & 3]!;
}
