/**
 * A decoded message as plain JSON (dates as ISO strings, bytes as hex, wrappers by their fields),
 * so that what a page decodes and what Node decodes compare with toEqual across the DevTools wire.
 * Used on both sides: it is bundled into the page.
 */
export function toPlain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: toHex(v) };
  if (v instanceof Date) return { date: v.toISOString() };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [toPlain(k), toPlain(x)]) };
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = { class: v.constructor?.name };
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toPlain(x);
    return o;
  }
  return v;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
