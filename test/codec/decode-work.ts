/**
 * The decoder's work, counted: every value it reads (`Decoder.readBody`) and every array element
 * (`Decoder.element`) is one unit. Tests bound it linearly in the input's size.
 */
import { Decoder } from '../../src/codec/decoder.js';
import { WorkMeter, type Metered } from '../support/work-meter.js';

/**
 * Units of work per input byte that a decode may use. The most per byte is an array8 of 255
 * booleans in 3 bytes: 510 units (an element, then its value), 170 per byte.
 */
export const WORK_PER_BYTE = 256;

/** The work allowed for an input of `bytes` bytes: linear in its size. */
export function workBound(bytes: number): number {
  return WORK_PER_BYTE * (bytes + 8);
}

let meter: WorkMeter | undefined;

/** Runs `decode`, counting its work; past `limit` units it throws WorkBudgetExceeded. */
export function metered(decode: () => unknown, limit = Infinity): Metered<unknown> {
  meter ??= new WorkMeter([Decoder.prototype, ['readBody', 'element']]);
  return meter.run(decode, limit);
}
