import { ByteWriter } from '../../src/codec/byte-writer.js';
import {
  beginFrame,
  endFrame,
  type Frame,
  type FrameReader,
  type FrameType,
} from '../../src/frames/index.js';
import type { ProtocolHeader } from '../../src/frames/index.js';

export interface FrameSpec {
  type: FrameType;
  channel: number;
  /** Extended header length in 4-byte words (0 = doff 2). */
  extWords: number;
  body: Uint8Array;
}

/** Serialises frames with the writer under test (extended header filled with 0xee). */
export function serialise(frames: FrameSpec[], w = new ByteWriter(16)): Buffer {
  for (const f of frames) {
    const start = beginFrame(w, f.type, f.channel, Buffer.alloc(f.extWords * 4, 0xee));
    w.bytes(f.body);
    endFrame(w, start);
  }
  return w.copy();
}

/** Cuts `bytes` into chunks whose sizes cycle through `sizes`. */
export function chunk(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(bytes.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

/** Pushes every chunk, draining the reader after each one, as an engine would. */
export function feed(reader: FrameReader, chunks: Buffer[]): Array<Frame | ProtocolHeader> {
  const out: Array<Frame | ProtocolHeader> = [];
  for (const c of chunks) {
    reader.push(c);
    for (let item = reader.next(); item !== undefined; item = reader.next()) out.push(item);
  }
  return out;
}

export function plain(items: Array<Frame | ProtocolHeader>): unknown[] {
  return items.map((i) => (i.kind === 'frame' ? { type: i.type, channel: i.channel, body: [...i.body] } : i));
}
