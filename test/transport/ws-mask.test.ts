import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { maskInPlace } from '../../src/transport/websocket/ws-mask.js';

/** The definition: byte i XOR mask[i mod 4]. */
function byteLoop(buf: Uint8Array, start: number, end: number, mask: Uint8Array): void {
  for (let i = start; i < end; i++) buf[i]! ^= mask[(i - start) & 3]!;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

describe('maskInPlace (word at a time) equals the byte loop', () => {
  test('any bytes, any alignment of the buffer and of the range, any mask', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(7),
        fc.nat(300),
        fc.nat(300),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (bytes, shift, a, b, mask) => {
          // A view at byteOffset `shift` of a larger buffer: every alignment is tried.
          const backing = new Uint8Array(bytes.length + 8);
          const fast = backing.subarray(shift, shift + bytes.length);
          fast.set(bytes);
          const slow = Uint8Array.from(bytes);
          const start = Math.min(a, b, bytes.length);
          const end = Math.min(Math.max(a, b), bytes.length);
          maskInPlace(fast, start, end, mask);
          byteLoop(slow, start, end, mask);
          return hex(fast) === hex(slow);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('masking twice gives back the payload', () => {
    const p = Buffer.from('the quick brown fox jumps over the lazy dog');
    const copy = Buffer.from(p);
    const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    maskInPlace(copy, 0, copy.length, mask);
    expect(copy.equals(p)).toBe(false);
    maskInPlace(copy, 0, copy.length, mask);
    expect(copy.equals(p)).toBe(true);
  });
});
