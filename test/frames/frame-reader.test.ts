import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import {
  FrameReader,
  FramingError,
  PROTOCOL_ID_AMQP,
  PROTOCOL_ID_SASL,
  ProtocolHeaderMismatchError,
  writeProtocolHeader,
  type Frame,
  type FrameType,
} from '../../src/frames/index.js';
import { chunk, feed, plain, serialise, type FrameSpec } from './helpers.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  type: fc.constantFrom<FrameType>(0, 1),
  channel: fc.oneof(fc.constantFrom(0, 1, 0xffff), fc.integer({ min: 0, max: 0xffff })),
  extWords: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 4 })),
  body: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 300 })),
});

// From one byte at a time to everything at once, plus irregular cuts.
const chunking = fc.oneof(
  fc.constant([1]),
  fc.constant([1 << 30]),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
  fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 5 }),
);

const expected = (frames: FrameSpec[]) =>
  frames.map((f) => ({ type: f.type, channel: f.channel, body: [...f.body] }));

describe('FrameReader round trip (property)', () => {
  it('returns the written frames under any chunking', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { maxLength: 12 }), chunking, (frames, sizes) => {
        const r = new FrameReader();
        const got = feed(r, chunk(serialise(frames), sizes));
        expect(plain(got)).toEqual(expected(frames));
        expect(r.bytesBuffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('reads header, SASL frames, a second header, then AMQP frames (as a connection does)', () => {
    fc.assert(
      fc.property(
        fc.array(frameSpec, { maxLength: 4 }),
        fc.array(frameSpec, { maxLength: 6 }),
        chunking,
        (sasl, amqp, sizes) => {
          const w = new ByteWriter(16);
          writeProtocolHeader(w, PROTOCOL_ID_SASL);
          serialise(sasl, w);
          writeProtocolHeader(w, PROTOCOL_ID_AMQP);
          const bytes = serialise(amqp, w);
          const r = new FrameReader({ expectHeader: true });
          const out: unknown[] = [];
          let saslLeft = -1; // until the SASL header is read
          for (const c of chunk(bytes, sizes)) {
            r.push(c);
            for (let item = r.next(); item !== undefined; item = r.next()) {
              out.push(item);
              // The engine re-arms header mode after the last SASL frame (the outcome).
              if (item.kind === 'header' && item.protocolId === PROTOCOL_ID_SASL) saslLeft = sasl.length;
              else if (saslLeft > 0) saslLeft--;
              else continue;
              if (saslLeft === 0) r.expectHeader();
            }
          }
          const header = (protocolId: number) => ({
            kind: 'header',
            protocolId,
            major: 1,
            minor: 0,
            revision: 0,
          });
          expect(plain(out as Frame[])).toEqual([header(3), ...expected(sasl), header(0), ...expected(amqp)]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('FrameReader zero copy and copy-once', () => {
  it('a frame inside one chunk is a subarray of it', () => {
    const bytes = serialise([{ type: 0, channel: 1, extWords: 1, body: Buffer.from('hello') }]);
    const r = new FrameReader();
    r.push(bytes);
    const f = r.next() as Frame;
    expect(f.body.toString()).toBe('hello');
    expect(f.body.buffer).toBe(bytes.buffer);
    expect(f.body.byteOffset).toBe(bytes.byteOffset + 12);
    expect(r.copiedFrames).toBe(0);
  });

  it('a 1 MiB frame in 64 KiB chunks is copied once, into an exactly-sized body', () => {
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const bytes = serialise([{ type: 0, channel: 9, extWords: 0, body }]);
    const r = new FrameReader();
    const concat = vi.spyOn(Buffer, 'concat');
    const chunks = chunk(bytes, [64 * 1024]);
    expect(chunks.length).toBe(17);
    for (let i = 0; i < chunks.length - 1; i++) {
      r.push(chunks[i]);
      expect(r.next()).toBeUndefined();
      expect(r.copiedBytes).toBe(0);
    }
    expect(r.bytesBuffered).toBe(bytes.length - chunks[16].length);
    r.push(chunks[16]);
    const f = r.next() as Frame;
    expect(f.channel).toBe(9);
    expect(f.body.equals(body)).toBe(true);
    expect(f.body.length).toBe(1 << 20);
    expect(f.body.buffer.byteLength).toBe(1 << 20); // its own exactly-sized allocation
    expect(r.copiedFrames).toBe(1);
    expect(r.copiedBytes).toBe(1 << 20);
    expect(r.bytesBuffered).toBe(0);
    expect(concat).not.toHaveBeenCalled();
    concat.mockRestore();
  });

  it('many tiny chunks of one large frame stay linear', () => {
    const body = Buffer.alloc(200_000, 7);
    const bytes = serialise([{ type: 0, channel: 0, extWords: 0, body }]);
    const r = new FrameReader();
    const got = feed(r, chunk(bytes, [1]));
    expect((got[0] as Frame).body.equals(body)).toBe(true);
    expect(r.copiedBytes).toBe(body.length);
  });
});

describe('FrameReader rejects bad frames', () => {
  const codeOf = (bytes: Buffer, opts = {}) => {
    const r = new FrameReader(opts);
    r.push(bytes);
    try {
      r.next();
    } catch (err) {
      expect(err).toBeInstanceOf(FramingError);
      expect((err as FramingError).condition).toBe('amqp:connection:framing-error');
      return (err as FramingError).code;
    }
    return 'no error';
  };

  it('an oversized frame is refused from its header, before the body arrives', () => {
    expect(codeOf(hex('40000000 02 00 0000'))).toBe('no error'); // 1 GB is fine without a limit...
    expect(codeOf(hex('40000000 02 00 0000'), { maxFrameSize: 65536 })).toBe('AMQP_FRAME_TOO_LARGE');
    expect(codeOf(hex('40000000'), { maxFrameSize: 65536 })).toBe('AMQP_FRAME_TOO_LARGE'); // size field alone
    expect(codeOf(hex('00000201 02 00 0000'), { maxFrameSize: 512 })).toBe('AMQP_FRAME_TOO_LARGE');
    expect(codeOf(hex('00000200 02 00 0000'), { maxFrameSize: 512 })).toBe('no error');
  });

  it('the limit set after open applies to the next frame', () => {
    const r = new FrameReader();
    r.push(hex('00000008 02 00 0000 40000000 02 00 0000'));
    expect(r.next()).toBeDefined();
    r.maxFrameSize = 1 << 20;
    expect(() => r.next()).toThrow(FramingError);
    expect(r.bytesBuffered).toBe(8);
  });

  it.each([
    ['size 0', '00000000 02 00 0000', 'AMQP_FRAME_BAD_SIZE'],
    ['size 7', '00000007 02 00 0000', 'AMQP_FRAME_BAD_SIZE'],
    ['doff 0', '00000008 00 00 0000', 'AMQP_FRAME_BAD_DOFF'],
    ['doff 1', '00000008 01 00 0000', 'AMQP_FRAME_BAD_DOFF'],
    ['doff*4 > size', '0000000c 04 00 0000 00000000', 'AMQP_FRAME_BAD_DOFF'],
    ['type 2', '00000008 02 02 0000', 'AMQP_FRAME_BAD_TYPE'],
    ['type 0xff', '00000008 02 ff 0000', 'AMQP_FRAME_BAD_TYPE'],
  ])('%s', (_name, bytes, code) => {
    expect(codeOf(hex(bytes))).toBe(code);
  });

  it('a bad header in header mode keeps the received bytes; errors are sticky', () => {
    const r = new FrameReader({ expectHeader: true });
    r.push(Buffer.from('HTTP/1.1 400'));
    let first: unknown;
    try {
      r.next();
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(ProtocolHeaderMismatchError);
    expect((first as ProtocolHeaderMismatchError).received.toString()).toBe('HTTP/1.1');
    r.push(Buffer.alloc(100));
    expect(() => r.next()).toThrow(first as Error);
  });

  it('refuses a max-frame-size below the spec minimum of 512', () => {
    expect(() => new FrameReader({ maxFrameSize: 511 })).toThrow(RangeError);
    const r = new FrameReader();
    expect(() => (r.maxFrameSize = 2 ** 32)).toThrow(RangeError);
    expect(r.maxFrameSize).toBe(0xffffffff);
  });

  it('random bytes give only frames or FramingError, and terminate', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        chunking,
        fc.boolean(),
        fc.constantFrom(512, 4096, 0xffffffff),
        (bytes, sizes, header, maxFrameSize) => {
          const r = new FrameReader({ expectHeader: header, maxFrameSize });
          let items = 0;
          try {
            for (const c of chunk(Buffer.from(bytes), sizes)) {
              r.push(c);
              for (let item = r.next(); item !== undefined; item = r.next()) {
                items++;
                expect(items).toBeLessThanOrEqual(bytes.length / 8 + 1); // each item consumes >= 8 bytes
                if (item.kind === 'frame' && item.body[0] === 0x41) r.expectHeader();
              }
            }
          } catch (err) {
            if (!(err instanceof FramingError)) throw err;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('random mutations of valid streams give only frames or FramingError', () => {
    fc.assert(
      fc.property(
        fc.array(frameSpec, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        chunking,
        (frames, edits, sizes) => {
          const bytes = serialise(frames);
          for (const [at, v] of edits) bytes[at % bytes.length] = v;
          const r = new FrameReader({ maxFrameSize: 4096 });
          try {
            feed(r, chunk(bytes, sizes));
          } catch (err) {
            if (!(err instanceof FramingError)) throw err;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('FrameReader bookkeeping', () => {
  it('tracks bytesBuffered and accepts plain Uint8Array chunks', () => {
    const r = new FrameReader();
    r.push(new Uint8Array([0, 0, 0, 10, 2, 0]));
    expect(r.bytesBuffered).toBe(6);
    expect(r.next()).toBeUndefined();
    r.push(new Uint8Array([0, 3, 0xaa]));
    r.push(new Uint8Array(0));
    expect(r.next()).toBeUndefined();
    r.push(new Uint8Array([0xbb, 0, 0]));
    expect(r.bytesBuffered).toBe(12);
    const f = r.next() as Frame;
    expect(f).toEqual({ kind: 'frame', type: 0, channel: 3, body: hex('aabb') });
    expect(Buffer.isBuffer(f.body)).toBe(true);
    expect(r.bytesBuffered).toBe(2);
  });
});
