import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import { encodeFrame, FrameParser, Opcode, type WsFrame } from '../../src/transport/websocket/ws-frames.js';
import { WebSocketError } from '../../src/transport/websocket/ws-errors.js';

const MASK = Uint8Array.of(1, 2, 3, 4);
const server = (max = 1 << 20) => new FrameParser({ expectMasked: true, maxMessageSize: max });
const client = (max = 1 << 20) => new FrameParser({ expectMasked: false, maxMessageSize: max });

function errorOf(f: () => unknown): WebSocketError {
  try {
    f();
  } catch (e) {
    return e as WebSocketError;
  }
  throw new Error('no error');
}

// Lengths around the 7-, 16- and 64-bit boundaries.
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 130 }),
  fc.integer({ min: 65530, max: 65600 }).map((n) => new Uint8Array(n).fill(7)),
);

describe('WebSocket frames', () => {
  test('encode then decode gives the message back, masked or not', () => {
    fc.assert(
      fc.property(payload, fc.boolean(), (p, masked) => {
        const bytes = encodeFrame(
          { fin: true, opcode: Opcode.binary, payload: p },
          masked ? MASK : undefined,
        );
        const got = (masked ? server() : client()).push(bytes);
        expect(got.every((m) => m.opcode === Opcode.binary)).toBe(true);
        expect(Buffer.concat(got.map((m) => m.payload)).equals(Buffer.from(p))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('any split of the bytes, with fragments and pings between them, gives the same bytes and pings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (messages, cuts) => {
          const frames: WsFrame[] = [];
          for (const parts of messages) {
            parts.forEach((p, i) =>
              frames.push({ fin: i === parts.length - 1, opcode: i === 0 ? Opcode.binary : 0, payload: p }),
            );
            frames.push({ fin: true, opcode: Opcode.ping, payload: Uint8Array.of(9) });
          }
          const bytes = Buffer.concat(frames.map((f) => encodeFrame(f, MASK)));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const p = server();
          const got = [];
          let from = 0;
          for (const at of [...points, bytes.length]) {
            got.push(...p.push(bytes.subarray(from, at)));
            from = at;
          }
          // A message's bytes come in pieces, as they arrive: join the pieces between pings.
          const joined: { opcode: number; payload: Buffer }[] = [];
          for (const m of got) {
            const last = joined[joined.length - 1];
            if (m.opcode === Opcode.binary && last?.opcode === Opcode.binary)
              last.payload = Buffer.concat([last.payload, m.payload]);
            else joined.push({ ...m });
          }
          const want = messages.flatMap((parts) => [
            ...(parts.some((p) => p.length > 0)
              ? [{ opcode: Opcode.binary, payload: Buffer.concat(parts) }]
              : []),
            { opcode: Opcode.ping, payload: Buffer.of(9) },
          ]);
          expect(joined).toEqual(want);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('an unmasked client frame, or a masked server frame, is a protocol error (1002)', () => {
    const e = errorOf(() => server().push(encodeFrame({ fin: true, opcode: 2, payload: Buffer.of(1) })));
    expect(e).toBeInstanceOf(WebSocketError);
    expect([e.code, e.closeCode]).toEqual(['AMQP_WS_PROTOCOL', 1002]);
    const f = errorOf(() =>
      client().push(encodeFrame({ fin: true, opcode: 2, payload: Buffer.of(1) }, MASK)),
    );
    expect(f.code).toBe('AMQP_WS_PROTOCOL');
  });

  test('a text frame is refused at its header (1003)', () => {
    const head = encodeFrame({ fin: true, opcode: Opcode.text, payload: Buffer.alloc(300) }, MASK).subarray(
      0,
      8,
    );
    const e = errorOf(() => server().push(head));
    expect([e.code, e.closeCode]).toEqual(['AMQP_WS_TEXT', 1003]);
  });

  test('a fragmented control frame, an unknown opcode, reserved bits: 1002', () => {
    for (const bytes of [
      encodeFrame({ fin: false, opcode: Opcode.ping, payload: Buffer.alloc(0) }, MASK),
      encodeFrame({ fin: true, opcode: 0x3, payload: Buffer.alloc(0) }, MASK),
      Buffer.from([0xc2, 0x80, 1, 2, 3, 4]),
      encodeFrame({ fin: true, opcode: 0, payload: Buffer.of(1) }, MASK),
    ]) {
      const e = errorOf(() => server().push(bytes));
      expect([e.code, e.closeCode]).toEqual(['AMQP_WS_PROTOCOL', 1002]);
    }
  });

  test('a message over maxMessageSize is refused before its bytes arrive (1009)', () => {
    const head = encodeFrame({ fin: true, opcode: 2, payload: Buffer.alloc(70_000) }, MASK).subarray(0, 14);
    const e = errorOf(() => server(65_536).push(head));
    expect([e.code, e.closeCode]).toEqual(['AMQP_WS_TOO_BIG', 1009]);
    // Fragments count together.
    const p = server(100);
    p.push(encodeFrame({ fin: false, opcode: 2, payload: Buffer.alloc(60) }, MASK));
    const g = errorOf(() => p.push(encodeFrame({ fin: true, opcode: 0, payload: Buffer.alloc(60) }, MASK)));
    expect(g.code).toBe('AMQP_WS_TOO_BIG');
  });

  test('a length not in its shortest form is refused', () => {
    const b = Buffer.from([0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4, 0, 0, 0, 0, 0]);
    expect(errorOf(() => server().push(b)).code).toBe('AMQP_WS_PROTOCOL');
    const c = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(errorOf(() => server().push(c)).code).toBe('AMQP_WS_PROTOCOL');
  });

  test('64-bit lengths: the top bit set is 1002; 2^32 and 2^63 - 1 are too big (1009)', () => {
    const len64 = (...bytes: number[]) => Buffer.from([0x82, 0x80 | 127, ...bytes, 1, 2, 3, 4]);
    expect(errorOf(() => server().push(len64(0x80, 0, 0, 0, 0, 0, 0, 0))).code).toBe('AMQP_WS_PROTOCOL');
    expect(errorOf(() => server().push(len64(0, 0, 0, 1, 0, 0, 0, 0))).code).toBe('AMQP_WS_TOO_BIG');
    expect(errorOf(() => server().push(len64(0x7f, 255, 255, 255, 255, 255, 255, 255))).code).toBe(
      'AMQP_WS_TOO_BIG',
    );
    // Just under the limit: taken, and its bytes come as they arrive.
    const p = server(0x20000);
    expect(p.push(len64(0, 0, 0, 0, 0, 2, 0, 0))).toEqual([]);
    expect(p.push(Buffer.alloc(10)).map((m) => m.payload.length)).toEqual([10]);
  });
});

describe('FrameParser work', () => {
  test('a 1 MiB frame in 1 KiB chunks is given as it arrives, with nothing joined', () => {
    const body = new Uint8Array(1024 * 1024).fill(3);
    const bytes = encodeFrame({ fin: true, opcode: Opcode.binary, payload: body }, Buffer.from([9, 8, 7, 6]));
    const parser = new FrameParser({ expectMasked: true, maxMessageSize: 2 * 1024 * 1024 });
    const concat = vi.spyOn(Buffer, 'concat');
    const got: Buffer[] = [];
    try {
      for (let at = 0; at < bytes.length; at += 1024)
        for (const m of parser.push(bytes.subarray(at, at + 1024))) got.push(m.payload);
      expect(concat).not.toHaveBeenCalled();
    } finally {
      concat.mockRestore();
    }
    expect(Buffer.compare(Buffer.concat(got), Buffer.from(body))).toBe(0);
  });

  test('an unfinished message is not held: every payload byte pushed comes out at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (parts, cuts) => {
          // A message whose last fragment never comes.
          const bytes = Buffer.concat(
            parts.map((p, i) =>
              encodeFrame({ fin: false, opcode: i === 0 ? Opcode.binary : 0, payload: p }, MASK),
            ),
          );
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const p = server();
          const got: Buffer[] = [];
          let from = 0;
          for (const at of [...points, bytes.length]) {
            got.push(...p.push(bytes.subarray(from, at)).map((m) => m.payload));
            from = at;
          }
          expect(Buffer.concat(got)).toEqual(Buffer.concat(parts));
        },
      ),
      { numRuns: 100 },
    );
  });
});
