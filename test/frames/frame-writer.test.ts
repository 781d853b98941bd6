import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import {
  FRAME_TYPE_AMQP,
  FRAME_TYPE_SASL,
  FrameReader,
  FramingError,
  beginFrame,
  endFrame,
  frameRoom,
  maxPayloadSize,
  writeEmptyFrame,
  writeFrame,
  type Frame,
} from '../../src/frames/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// A described open with an empty list (0x00 0x53 0x10 0x45): enough of a performative for framing.
const OPEN = [0x00, 0x53, 0x10, 0x45];
const writeOpen = (w: ByteWriter) => w.bytes(Buffer.from(OPEN));

function readOne(bytes: Buffer): Frame {
  const r = new FrameReader();
  r.push(bytes);
  const f = r.next() as Frame;
  expect(r.next()).toBeUndefined();
  expect(r.bytesBuffered).toBe(0);
  return f;
}

describe('frame writer known answers (spec 2.3.1)', () => {
  it('empty frame (heartbeat)', () => {
    const w = new ByteWriter();
    expect(writeEmptyFrame(w)).toBe(8);
    expect(w.view()).toEqual(hex('00000008 02 00 0000'));
    expect(readOne(w.view())).toEqual({ kind: 'frame', type: 0, channel: 0, body: Buffer.alloc(0) });
  });

  it('AMQP frame, doff 2, channel 5', () => {
    const w = new ByteWriter();
    expect(writeFrame(w, FRAME_TYPE_AMQP, 5, writeOpen)).toBe(12);
    expect(w.view()).toEqual(hex('0000000c 02 00 0005 00531045'));
    expect(readOne(w.view())).toEqual({ kind: 'frame', type: 0, channel: 5, body: Buffer.from(OPEN) });
  });

  it('AMQP frame on channel 0xffff with performative and payload', () => {
    const w = new ByteWriter(8);
    expect(writeFrame(w, FRAME_TYPE_AMQP, 0xffff, writeOpen, Buffer.from([1, 2, 3]))).toBe(15);
    expect(w.view()).toEqual(hex('0000000f 02 00 ffff 00531045 010203'));
  });

  it('SASL frame (type 1, channel bytes 0)', () => {
    const w = new ByteWriter();
    expect(writeFrame(w, FRAME_TYPE_SASL, 0, (x) => x.u16(0xabcd))).toBe(10);
    expect(w.view()).toEqual(hex('0000000a 02 01 0000 abcd'));
    expect(readOne(w.view())).toEqual({ kind: 'frame', type: 1, channel: 0, body: hex('abcd') });
  });

  it('extended header, doff 3 and doff 4, is skipped by the reader', () => {
    const w = new ByteWriter();
    const s = beginFrame(w, FRAME_TYPE_AMQP, 0x0102, hex('deadbeef'));
    w.bytes(Buffer.from(OPEN));
    expect(endFrame(w, s)).toBe(16);
    expect(w.view()).toEqual(hex('00000010 03 00 0102 deadbeef 00531045'));
    expect(readOne(w.view()).body).toEqual(Buffer.from(OPEN));

    const by = hex('00000010 04 01 0007 0000000000000000');
    expect(readOne(by)).toEqual({ kind: 'frame', type: 1, channel: 7, body: Buffer.alloc(0) });
  });

  it('appends after earlier output (frames share one buffer)', () => {
    const w = new ByteWriter(4);
    writeEmptyFrame(w);
    writeFrame(w, FRAME_TYPE_AMQP, 1, writeOpen);
    expect(w.view()).toEqual(hex('00000008 02 00 0000 0000000c 02 00 0001 00531045'));
  });

  it('rolls back and throws a frame over the max size', () => {
    const w = new ByteWriter();
    writeEmptyFrame(w);
    expect(() => writeFrame(w, FRAME_TYPE_AMQP, 0, writeOpen, Buffer.alloc(600), 512)).toThrow(FramingError);
    expect(w.pos).toBe(8);
  });

  it('rejects bad channels and extended header lengths', () => {
    const w = new ByteWriter();
    expect(() => beginFrame(w, FRAME_TYPE_AMQP, 0x10000)).toThrow(RangeError);
    expect(() => beginFrame(w, FRAME_TYPE_AMQP, -1)).toThrow(RangeError);
    expect(() => beginFrame(w, FRAME_TYPE_AMQP, 0, Buffer.alloc(3))).toThrow(RangeError);
    expect(() => beginFrame(w, FRAME_TYPE_AMQP, 0, Buffer.alloc(1016))).toThrow(RangeError);
    expect(beginFrame(w, FRAME_TYPE_AMQP, 0, Buffer.alloc(1012))).toBe(0);
    expect(w.buf[4]).toBe(255);
  });
});

describe('splitting payload across frames', () => {
  it('maxPayloadSize and frameRoom agree', () => {
    expect(maxPayloadSize(512, 20)).toBe(484);
    expect(maxPayloadSize(512, 20, 4)).toBe(480);
    expect(maxPayloadSize(512, 600)).toBe(0);
    const w = new ByteWriter();
    writeEmptyFrame(w);
    const s = beginFrame(w, FRAME_TYPE_AMQP, 3);
    w.bytes(Buffer.alloc(20));
    expect(frameRoom(w, s, 512)).toBe(484);
  });

  it('a multi-frame transfer written by room fills every frame exactly to max size', () => {
    const max = 512;
    const payload = Buffer.from(Array.from({ length: 2100 }, (_, i) => i & 0xff));
    const w = new ByteWriter();
    const sizes: number[] = [];
    for (let off = 0; off < payload.length;) {
      const s = beginFrame(w, FRAME_TYPE_AMQP, 1);
      w.bytes(Buffer.from(OPEN)); // stands in for the transfer performative
      const n = Math.min(frameRoom(w, s, max), payload.length - off);
      w.bytes(payload.subarray(off, off + n));
      off += n;
      sizes.push(endFrame(w, s, max));
    }
    expect(sizes).toEqual([512, 512, 512, 512, 112]);
    const r = new FrameReader({ maxFrameSize: max });
    r.push(w.view());
    const parts: Buffer[] = [];
    for (let f = r.next(); f; f = r.next()) if (f.kind === 'frame') parts.push(f.body.subarray(4));
    expect(Buffer.concat(parts)).toEqual(payload);
  });
});
