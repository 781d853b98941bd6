/**
 * The streaming message reader against the whole-message decoder: for any message cut anywhere,
 * the head, the data bytes and the tail it reports are what decodeMessage makes of the same bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type Message } from '../../src/codec/message.js';
import { MessageStreamParser } from '../../src/codec/message-stream.js';
import { DecodeError } from '../../src/codec/errors.js';
import { messageArb } from './arbitraries.js';

interface Streamed {
  head: Message | undefined;
  chunks: Uint8Array[];
  headBeforeChunks: boolean;
  tail: Message;
}

function stream(bytes: Buffer, cuts: number[], maxSectionBytes?: number): Streamed {
  const out: Streamed = { head: undefined, chunks: [], headBeforeChunks: true, tail: {} };
  const p = new MessageStreamParser(
    {
      head: (m) => {
        out.head = m;
      },
      chunk: (c) => {
        if (out.head === undefined) out.headBeforeChunks = false;
        out.chunks.push(c);
      },
    },
    { maxSectionBytes },
  );
  let at = 0;
  for (const n of cuts) {
    if (at >= bytes.length) break;
    p.push(bytes.subarray(at, at + n));
    at += n;
  }
  if (at < bytes.length) p.push(bytes.subarray(at));
  out.tail = p.end();
  return out;
}

/** decodeMessage's view, with a data body as the bytes of all its sections run together. */
function ordinary(bytes: Buffer): Message {
  const m = decodeMessage(bytes);
  if (m.bodyType === 'data') {
    const parts = Array.isArray(m.body) ? (m.body as Buffer[]) : [m.body as Buffer];
    m.body = Buffer.concat(parts);
  }
  return m;
}

const cutsArb = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 });

describe('MessageStreamParser', () => {
  it('reports what decodeMessage decodes, wherever the bytes are cut', () => {
    fc.assert(
      fc.property(messageArb, cutsArb, (m, cuts) => {
        const bytes = encodeMessage(m);
        const s = stream(bytes, cuts);
        const merged: Message = { ...s.head, ...s.tail };
        if (s.tail.bodyType === 'data') merged.body = Buffer.concat(s.chunks);
        expect(merged).toEqual(ordinary(bytes));
        expect(s.headBeforeChunks).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('hands data bytes on as views of the input, not copies', () => {
    const body = Buffer.alloc(1000, 7);
    const bytes = encodeMessage({ properties: { subject: 's' }, body });
    const s = stream(bytes, [bytes.length]);
    expect(s.chunks).toHaveLength(1);
    expect(s.chunks[0]!.buffer).toBe(bytes.buffer);
    expect(s.head).toEqual({ properties: { subject: 's' } });
  });

  it('refuses a message that ends inside a section', () => {
    const bytes = encodeMessage({ body: Buffer.alloc(100) });
    const p = new MessageStreamParser({ head: () => undefined, chunk: () => undefined });
    p.push(bytes.subarray(0, 50));
    expect(() => p.end()).toThrow(expect.objectContaining({ code: 'AMQP_DECODE_TRUNCATED' }));
  });

  it('refuses sections out of order', () => {
    const data = encodeMessage({ body: Buffer.from('x') });
    const header = encodeMessage({ header: { durable: true } });
    const p = new MessageStreamParser({ head: () => undefined, chunk: () => undefined });
    p.push(data);
    expect(() => p.push(header)).toThrow(DecodeError);
  });

  it('bounds the bytes of non-data sections it holds, even before a section is complete', () => {
    const big = encodeMessage({ applicationProperties: { k: 'v'.repeat(5000) }, body: Buffer.from('x') });
    const p = new MessageStreamParser(
      { head: () => undefined, chunk: () => undefined },
      { maxSectionBytes: 4096 },
    );
    expect(() => p.push(big.subarray(0, 4200))).toThrow(
      expect.objectContaining({ code: 'AMQP_DECODE_BAD_SIZE' }),
    );
    // A data body of any size streams past the same bound.
    const s = stream(encodeMessage({ body: Buffer.alloc(100_000) }), [7, 4096], 4096);
    expect(Buffer.concat(s.chunks).length).toBe(100_000);
  });
});
