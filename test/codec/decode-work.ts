/**
 * Counts the decoder's work instead of timing it: every value it reads (`Decoder.readBody`) and
 * every array element (`Decoder.element`) is one unit. Tests bound the work by the input's size,
 * so that a decode doing more than linear work fails however fast or busy the machine is.
 */
import { Decoder } from '../../src/codec/decoder.js';

/**
 * Units of work per input byte that a decode may use. The most per byte is an array8 of 255
 * booleans in 3 bytes: 510 units (an element, then its value), 170 per byte.
 */
export const WORK_PER_BYTE = 256;

/** The work allowed for an input of `bytes` bytes: linear in its size. */
export function workBound(bytes: number): number {
  return WORK_PER_BYTE * (bytes + 8);
}

/** Thrown from inside the decoder once a decode has used up its work budget. */
export class WorkBudgetExceeded extends Error {
  override name = 'WorkBudgetExceeded';
}

let work = 0;
let budget = Infinity;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const name of ['readBody', 'element'] as const) {
    const original = Decoder.prototype[name];
    Decoder.prototype[name] = function (this: Decoder, code: number) {
      if (++work > budget) throw new WorkBudgetExceeded(`the decode went past ${budget} units of work`);
      return original.call(this, code);
    };
  }
}

export type Metered = { work: number } & ({ ok: true; value: unknown } | { ok: false; error: unknown });

/** Runs `decode`, counting its work; past `limit` units it throws {@link WorkBudgetExceeded}. */
export function metered(decode: () => unknown, limit = Infinity): Metered {
  install();
  work = 0;
  budget = limit;
  try {
    const value = decode();
    return { ok: true, value, work };
  } catch (error) {
    return { ok: false, error, work };
  } finally {
    budget = Infinity;
  }
}
