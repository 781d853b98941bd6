/**
 * encodeMessageShared (the send path's encoder) hands out views of a shared slab: bytes handed out
 * must never be written again, whatever is encoded after them (small messages, a message larger
 * than the slab, a failed encode).
 */
import { describe, expect, test } from 'vitest';
import { decodeMessage, encodeMessage, encodeMessageShared, type Message } from '../../src/codec/message.js';

const msg = (i: number, size: number): Message => ({
  properties: { messageId: `m-${i}`, to: 'q' },
  applicationProperties: { i },
  body: Buffer.alloc(size, i & 0xff),
});

describe('encodeMessageShared', () => {
  test('encodes like encodeMessage', () => {
    const m = msg(1, 300);
    expect(encodeMessageShared(m).equals(encodeMessage(m))).toBe(true);
    expect(decodeMessage(encodeMessageShared(m))).toEqual(decodeMessage(encodeMessage(m)));
  });

  test('bytes handed out are never overwritten by later encodes', () => {
    const kept: { bytes: Buffer; copy: Buffer }[] = [];
    const sizes = [0, 10, 500, 3000, 1, 40_000, 7, 100_000, 900, 20];
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeMessageShared(msg(i, sizes[i % sizes.length]!));
      kept.push({ bytes, copy: Buffer.from(bytes) });
      if (i % 97 === 0) {
        // A failed encode leaves nothing behind that matters.
        expect(() => encodeMessageShared({ body: Symbol('x') as never })).toThrow();
      }
    }
    for (const k of kept) expect(k.bytes.equals(k.copy)).toBe(true);
    for (let i = 0; i < kept.length; i += 101) {
      const m = decodeMessage(kept[i]!.bytes);
      expect(m.properties?.messageId).toBe(`m-${i}`);
    }
  });
});
