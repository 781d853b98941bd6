/**
 * A value as one line of text, in the shapes Node's `util.inspect` gives them (`{ type: 'open',
 * channelMax: 0 }`, `Typed { type: 'uint', value: 5 }`, `5n`), for where there is no Node: frame
 * traces in a browser. It covers what decoded frames hold (plain data, the codec's wrappers, byte
 * arrays, Maps, Dates, bigints); nesting past `depth` shows as `[Object]` or `[Array]`, strings past
 * `maxString` are cut, byte arrays show their first 50 bytes in hex.
 */
import { toHex } from '../codec/bytes.js';

const MAX_BYTES = 50;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function showValue(v: unknown, depth: number, maxString: number): string {
  return show(v, depth, maxString);
}

function quote(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const body = cut.replace(/[\\'\n\r\t]/g, (c) => ESCAPES[c]!);
  return `'${body}'${s.length > max ? `... ${s.length - max} more characters` : ''}`;
}
const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function show(v: unknown, depth: number, max: number): string {
  switch (typeof v) {
    case 'string':
      return quote(v, max);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return `[Function: ${v.name || '(anonymous)'}]`;
  }
  if (v === null) return 'null';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof Uint8Array) {
    const hex = toHex(v.subarray(0, MAX_BYTES)).replace(/(..)(?!$)/g, '$1 ');
    const more = v.length > MAX_BYTES ? ` ... ${v.length - MAX_BYTES} more bytes` : '';
    return `<Bytes${hex ? ` ${hex}` : ''}${more}>`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (depth < 0) return '[Array]';
    return `[ ${v.map((x) => show(x, depth - 1, max)).join(', ')} ]`;
  }
  if (v instanceof Map) {
    if (depth < 0) return '[Map]';
    const items = [...v].map(([k, x]) => `${show(k, depth - 1, max)} => ${show(x, depth - 1, max)}`);
    return `Map(${v.size}) {${items.length ? ` ${items.join(', ')} ` : ''}}`;
  }
  const o = v as Record<string, unknown>;
  const proto = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
  const name =
    proto === null
      ? '[Object: null prototype] '
      : proto === Object.prototype
        ? ''
        : `${proto.constructor?.name ?? 'Object'} `;
  if (depth < 0) return name ? `[${name.trim()}]` : '[Object]';
  const keys = Object.keys(o);
  if (keys.length === 0) return `${name}{}`;
  const items = keys.map(
    (k) => `${IDENTIFIER.test(k) ? k : quote(k, Infinity)}: ${show(o[k], depth - 1, max)}`,
  );
  return `${name}{ ${items.join(', ')} }`;
}
