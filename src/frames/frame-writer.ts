import type { ByteWriter } from '../codec/byte-writer.js';
import { FramingError } from '../protocol/framing-errors.js';

/** Frame types of spec 2.3.1 (AMQP) and 5.3.1 (SASL). */
export const FRAME_TYPE_AMQP = 0;
/** The frame type of SASL frames. */
export const FRAME_TYPE_SASL = 1;
/** AMQP or SASL frame. */
export type FrameType = typeof FRAME_TYPE_AMQP | typeof FRAME_TYPE_SASL;

/** SIZE (4) + DOFF (1) + TYPE (1) + channel (2). */
export const FRAME_HEADER_SIZE = 8;
/** Spec 2.7.1: MIN-MAX-FRAME-SIZE; also the limit before open is exchanged. */
export const MIN_MAX_FRAME_SIZE = 512;
/** The largest max-frame-size the spec allows (uint). */
export const MAX_FRAME_SIZE_LIMIT = 0xffffffff;

/** Writes a performative (or SASL frame body) into the frame's own buffer: no intermediate Buffer. */
export type BodyWriter = (w: ByteWriter) => void;

/**
 * Starts a frame at `w.pos`: size placeholder, doff, type, channel, optional extended header
 * (a multiple of 4 bytes, at most 1012; the spec ignores it, we write it only for tests).
 * Returns the frame's start offset, to pass to `endFrame` / `frameRoom`.
 */
export function beginFrame(
  w: ByteWriter,
  type: FrameType,
  channel: number,
  extendedHeader?: Uint8Array,
): number {
  const ext = extendedHeader === undefined ? 0 : extendedHeader.length;
  if (ext % 4 !== 0 || ext > 255 * 4 - FRAME_HEADER_SIZE) {
    throw new RangeError(`extended header must be a multiple of 4 bytes up to 1012, got ${ext}`);
  }
  if (!(channel >= 0 && channel <= 0xffff) || !Number.isInteger(channel)) {
    throw new RangeError(`channel must be a ushort, got ${channel}`);
  }
  w.ensure(FRAME_HEADER_SIZE + ext);
  const start = w.pos;
  const b = w.buf;
  // Size stays garbage until endFrame back-fills it.
  b[start + 4] = (FRAME_HEADER_SIZE + ext) >>> 2; // doff in 4-byte words
  b[start + 5] = type;
  b[start + 6] = channel >>> 8;
  b[start + 7] = channel & 0xff;
  w.pos = start + FRAME_HEADER_SIZE;
  if (ext > 0) w.bytes(extendedHeader!);
  return start;
}

/**
 * Back-fills the size of the frame begun at `start` and returns it. A frame over `maxFrameSize`
 * (the peer's limit) is rolled back out of `w` before throwing, so nothing half-written is sent.
 */
export function endFrame(w: ByteWriter, start: number, maxFrameSize = MAX_FRAME_SIZE_LIMIT): number {
  const size = w.pos - start;
  if (size > maxFrameSize) {
    w.pos = start;
    throw new FramingError(
      'AMQP_FRAME_TOO_LARGE',
      `frame of ${size} bytes exceeds max-frame-size ${maxFrameSize}`,
    );
  }
  w.patchU32(start, size);
  return size;
}

/** Bytes still free in the frame begun at `start` before it reaches `maxFrameSize` (never negative). */
export function frameRoom(w: ByteWriter, start: number, maxFrameSize: number): number {
  return Math.max(0, maxFrameSize - (w.pos - start));
}

/**
 * How much payload fits in one frame of at most `maxFrameSize` bytes after a performative of
 * `performativeSize` bytes. The engine splits a multi-frame transfer by this.
 */
export function maxPayloadSize(
  maxFrameSize: number,
  performativeSize: number,
  extendedHeaderSize = 0,
): number {
  return Math.max(0, maxFrameSize - FRAME_HEADER_SIZE - extendedHeaderSize - performativeSize);
}

/**
 * Writes a whole frame: header, the performative via `body`, then `payload` (a transfer's message
 * bytes). Returns the frame size. For a frame without body, see `writeEmptyFrame`.
 */
export function writeFrame(
  w: ByteWriter,
  type: FrameType,
  channel: number,
  body?: BodyWriter,
  payload?: Uint8Array,
  maxFrameSize = MAX_FRAME_SIZE_LIMIT,
): number {
  const start = beginFrame(w, type, channel);
  if (body !== undefined) body(w);
  if (payload !== undefined && payload.length > 0) w.bytes(payload);
  return endFrame(w, start, maxFrameSize);
}

/** An AMQP frame with no body: the heartbeat of spec 2.4.5 (00 00 00 08 02 00 00 00 on channel 0). */
export function writeEmptyFrame(w: ByteWriter, channel = 0): number {
  return endFrame(w, beginFrame(w, FRAME_TYPE_AMQP, channel));
}
