/**
 * The decoder's generated shapes are shared by every connection: one peer sending endless new key
 * sets (or huge keys) must not keep a common key set from getting its shape, nor make us compile
 * long sources.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SHAPE_MAX_KEY_CHARS,
  SHAPE_MAX_KEY_LENGTH,
  hasKeyedMapShape,
  setKeyedMapShapes,
} from '../../src/codec/decoder.js';
import { decodeMessage, encodeMessage } from '../../src/codec/message.js';

const encoded = (keys: string[]): Buffer =>
  encodeMessage({ applicationProperties: Object.fromEntries(keys.map((k, i) => [k, i])) });

/** Decodes a message whose application properties have these keys `times` times. */
function decode(keys: string[], times = 1): void {
  const bytes = encoded(keys);
  for (let i = 0; i < times; i++) decodeMessage(bytes);
}

const COMMON = ['sensor', 'unit', 'seq'];
let hostile = 0;
/** A key set never seen before, sent twice (enough to earn a shape, were there no budget). */
function hostilePair(): void {
  decode([`h${hostile++}`, 'x'], 2);
}

beforeEach(() => {
  setKeyedMapShapes(true);
  hostile = 0;
});

describe('decoder shape cache under a hostile peer', () => {
  it('after 20,000 fresh key sets, a common key set still gets its shape', () => {
    for (let i = 0; i < 20_000; i++) hostilePair();
    for (let i = 0; i < 200 && !hasKeyedMapShape(COMMON); i++) decode(COMMON);
    expect(hasKeyedMapShape(COMMON)).toBe(true);
  });

  it('with fresh key sets in between, a common key set gets its shape and keeps it', () => {
    // One common map per eight fresh ones: never twice among the last few key sets seen.
    for (let i = 0; i < 3_000 && !hasKeyedMapShape(COMMON); i++) {
      decode(COMMON);
      for (let j = 0; j < 4; j++) hostilePair();
    }
    expect(hasKeyedMapShape(COMMON)).toBe(true);
    for (let i = 0; i < 3_000; i++) {
      decode(COMMON);
      for (let j = 0; j < 4; j++) hostilePair();
      expect(hasKeyedMapShape(COMMON)).toBe(true);
    }
  });

  it(`keys over ${SHAPE_MAX_KEY_LENGTH} characters, or over ${SHAPE_MAX_KEY_CHARS} in all, never get a shape`, () => {
    const atLimit = ['k'.repeat(SHAPE_MAX_KEY_LENGTH)];
    const tooLong = ['k'.repeat(SHAPE_MAX_KEY_LENGTH + 1)];
    const tooMany = Array.from({ length: 5 }, (_, i) => `${i}`.repeat(SHAPE_MAX_KEY_LENGTH - 4));
    expect(tooMany.join('').length).toBeGreaterThan(SHAPE_MAX_KEY_CHARS);
    decode(atLimit, 100);
    decode(tooLong, 100);
    decode(tooMany, 100);
    expect(hasKeyedMapShape(atLimit)).toBe(true);
    expect(hasKeyedMapShape(tooLong)).toBe(false);
    expect(hasKeyedMapShape(tooMany)).toBe(false);
  });
});
