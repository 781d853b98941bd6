/**
 * Conformance of the primitive codec to spec/amqp-1.0/types.bare.xml. A small regex reader written
 * here lists every <encoding code=... category=... width=...> of every primitive <type>, and:
 *
 * (a) the decoder accepts each constructor followed by a body made from its category and width,
 *     and returns a value whose AMQP type (read back from its JS form) is the XML type's name;
 * (b) the encoder, given values of each type, only emits constructors the XML lists for that type;
 * (c) every constructor byte the XML does not list (other than 0x00, described) is refused with
 *     AMQP_DECODE_UNKNOWN_CONSTRUCTOR, as a value and as an array's element constructor;
 * (d) each constructor (but null's) is accepted as an array element constructor;
 * (e) each body cut one byte short is refused;
 * (f) symbols are written as seven-bit ASCII, as the spec's sym8/sym32 encodings require.
 *
 * The expected side always comes from the XML or from this file, never from the code under test.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AmqpArray,
  AmqpSymbol,
  DecodeError,
  Described,
  Typed,
  array,
  byte,
  char,
  decimal128,
  decimal32,
  decimal64,
  decodeValue,
  double,
  encode,
  float,
  short,
  symbol,
  timestamp,
  ubyte,
  uint,
  ulong,
  ushort,
  uuid,
  type AmqpValue,
} from '../../src/codec/index.js';

// ---------------------------------------------------------------------------------------------
// The XML, read with regular expressions (types.bare.xml is flat: <type> elements holding
// self-closing <encoding/> elements).

type Category = 'fixed' | 'variable' | 'compound' | 'array';

interface XmlEncoding {
  type: string;
  name: string | undefined;
  code: number;
  category: Category;
  width: number;
}

function attrsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

function readPrimitiveEncodings(xml: string): XmlEncoding[] {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  const out: XmlEncoding[] = [];
  let typesSeen = 0;
  for (const t of text.matchAll(/<type\s([^>]*?)>([\s\S]*?)<\/type>/g)) {
    typesSeen++;
    const ta = attrsOf(t[1]!);
    if (ta['class'] !== 'primitive') continue;
    const typeName = ta['name'];
    if (!typeName) throw new Error(`a <type> without a name: ${t[1]}`);
    for (const e of t[2]!.matchAll(/<encoding\s([^>]*?)\/>/g)) {
      const ea = attrsOf(e[1]!);
      const code = ea['code'];
      const category = ea['category'];
      const width = ea['width'];
      if (!code || !/^0x[0-9a-f]{2}$/i.test(code)) throw new Error(`${typeName}: bad code ${code}`);
      if (
        category !== 'fixed' &&
        category !== 'variable' &&
        category !== 'compound' &&
        category !== 'array'
      ) {
        throw new Error(`${typeName} ${code}: bad category ${category}`);
      }
      if (!width || !/^\d+$/.test(width)) throw new Error(`${typeName} ${code}: bad width ${width}`);
      out.push({
        type: typeName,
        name: ea['name'],
        code: parseInt(code, 16),
        category,
        width: Number(width),
      });
    }
  }
  // Nothing may escape the reader: every <type> and <encoding> in the file must have been seen.
  if (typesSeen !== (text.match(/<type\s/g) ?? []).length) throw new Error('unread <type> elements');
  if (out.length !== (text.match(/<encoding\s/g) ?? []).length) throw new Error('unread <encoding> elements');
  return out;
}

const XML = readFileSync(new URL('../../spec/amqp-1.0/types.bare.xml', import.meta.url), 'utf8');
const ENCODINGS = readPrimitiveEncodings(XML);
const TYPE_NAMES = [...new Set(ENCODINGS.map((e) => e.type))];
const CODES_OF_TYPE = new Map<string, Set<number>>();
for (const e of ENCODINGS) {
  if (!CODES_OF_TYPE.has(e.type)) CODES_OF_TYPE.set(e.type, new Set());
  CODES_OF_TYPE.get(e.type)!.add(e.code);
}
const XML_CODES = new Set(ENCODINGS.map((e) => e.code));

const hex2 = (n: number): string => '0x' + n.toString(16).padStart(2, '0');
const label = (e: XmlEncoding): string =>
  `${e.type} ${e.name ?? ''} ${hex2(e.code)} (${e.category}/${e.width})`;

// ---------------------------------------------------------------------------------------------
// The AMQP type a decoded JS value stands for (the value mapping of src/codec/values.ts).

function typeNameOf(v: AmqpValue): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'long';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? 'int' : 'double';
  if (v instanceof AmqpSymbol) return 'symbol';
  if (v instanceof Typed) return v.type;
  if (v instanceof Date) return 'timestamp';
  if (v instanceof Uint8Array) return 'binary';
  if (v instanceof AmqpArray) return 'array';
  if (v instanceof Described) return 'described';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'map';
  if (Object.getPrototypeOf(v) === Object.prototype) return 'map';
  return `unknown (${Object.prototype.toString.call(v)})`;
}

// ---------------------------------------------------------------------------------------------
// Bodies made from an encoding's category and width.

/** `n` as a big-endian unsigned integer of `width` bytes. */
function be(n: number, width: number): number[] {
  const out: number[] = [];
  for (let i = width - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

/** Two smallint items (1, 2): a valid list of two and a valid map of one pair. */
const COMPOUND_ITEMS = [0x54, 0x01, 0x54, 0x02];

function bodyFor(e: Pick<XmlEncoding, 'category' | 'width'>): number[] {
  const w = e.width;
  switch (e.category) {
    case 'fixed':
      // All zero but the last byte (1): a valid boolean (true), char (U+0001), anything else.
      return w === 0 ? [] : [...new Array<number>(w - 1).fill(0), 0x01];
    case 'variable':
      // A length, then 'ab'.
      return [...be(2, w), 0x61, 0x62];
    case 'compound':
      // size (covers count and items), count, items.
      return [...be(w + COMPOUND_ITEMS.length, w), ...be(2, w), ...COMPOUND_ITEMS];
    case 'array':
      // size (covers count, constructor and elements), count, smallint constructor, 1, 2.
      return [...be(w + 3, w), ...be(2, w), 0x54, 0x01, 0x02];
  }
}

/** What `bodyFor` holds, for the categories whose content is worth checking beyond its type. */
function expectedContent(e: XmlEncoding): AmqpValue | undefined {
  if (e.category === 'variable') {
    if (e.type === 'binary') return Buffer.from('ab');
    if (e.type === 'string') return 'ab';
    if (e.type === 'symbol') return symbol('ab');
  }
  if (e.category === 'compound') {
    if (e.type === 'list') return [1, 2];
    if (e.type === 'map') return new Map<AmqpValue, AmqpValue>([[1, 2]]);
  }
  if (e.category === 'array') return array('int', [1, 2]);
  return undefined;
}

function decodeErrorCode(bytes: number[]): string | undefined {
  try {
    decodeValue(Buffer.from(bytes));
  } catch (err) {
    return err instanceof DecodeError ? err.code : `not a DecodeError: ${String(err)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

describe('types.bare.xml as read here', () => {
  it('lists the primitive encodings of part 1.6', () => {
    // Part 1.6 defines 24 primitive types and 39 encodings; if the reader found fewer, it is broken.
    expect(TYPE_NAMES).toHaveLength(24);
    expect(ENCODINGS).toHaveLength(39);
    expect(XML_CODES.size).toBe(ENCODINGS.length);
    expect(XML_CODES.has(0x00)).toBe(false);
    expect(TYPE_NAMES).toEqual(
      expect.arrayContaining(['null', 'boolean', 'uint', 'symbol', 'list', 'map', 'array']),
    );
  });
});

describe('(a) the decoder accepts every encoding in the XML', () => {
  it.each(ENCODINGS.map((e) => ({ e, name: label(e) })))('$name', ({ e }) => {
    const bytes = Buffer.from([e.code, ...bodyFor(e)]);
    const value = decodeValue(bytes);
    expect(typeNameOf(value)).toBe(e.type);
    const content = expectedContent(e);
    if (content !== undefined) expect(value).toStrictEqual(content);
  });
});

// Values of every XML type, covering each type's boundaries (compact and full encodings).
const SAMPLES: Record<string, AmqpValue[]> = {
  null: [null, undefined],
  boolean: [true, false],
  ubyte: [ubyte(0), ubyte(1), ubyte(255)],
  ushort: [ushort(0), ushort(256), ushort(65535)],
  uint: [uint(0), uint(1), uint(255), uint(256), uint(0xffffffff)],
  ulong: [ulong(0), ulong(1), ulong(255), ulong(256), ulong(0xffffffffffffffffn)],
  byte: [byte(-128), byte(0), byte(127)],
  short: [short(-32768), short(0), short(32767)],
  int: [0, 1, -1, 127, -128, 128, -129, 2147483647, -2147483648],
  long: [0n, 127n, -128n, 128n, -129n, 0x7fffffffffffffffn, -0x8000000000000000n],
  float: [float(0), float(1.5), float(-1e30)],
  double: [double(0), double(1), 0.5, -0, 2147483648, -2147483649, 1e300, NaN, Infinity],
  decimal32: [decimal32(Buffer.alloc(4, 1))],
  decimal64: [decimal64(Buffer.alloc(8, 2))],
  decimal128: [decimal128(Buffer.alloc(16, 3))],
  char: [char('a'), char(0), char(0x10ffff)],
  timestamp: [new Date(0), new Date(-1), new Date(8.64e15), timestamp(1n << 62n)],
  uuid: [uuid('00000000-0000-0000-0000-000000000000'), uuid(Buffer.alloc(16, 0xff))],
  binary: [
    Buffer.alloc(0),
    new Uint8Array([1, 2]),
    Buffer.alloc(255),
    Buffer.alloc(256),
    Buffer.alloc(70000),
  ],
  string: ['', 'a', 'é'.repeat(127), 'é'.repeat(128), 'x'.repeat(255), 'x'.repeat(256), '€'.repeat(100)],
  symbol: [symbol(''), symbol('PLAIN'), symbol('s'.repeat(255)), symbol('s'.repeat(256))],
  list: [
    [],
    [null],
    new Array<AmqpValue>(255).fill(1),
    new Array<AmqpValue>(300).fill(null),
    ['x'.repeat(300)],
  ],
  map: [
    new Map(),
    { a: 1 },
    new Map<AmqpValue, AmqpValue>([[symbol('k'), 'x'.repeat(300)]]),
    Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])),
  ],
  array: [
    array('int', []),
    array('symbol', ['a', 'b']),
    array('ulong', [1n, 1n << 40n]),
    array('int', new Array<AmqpValue>(300).fill(1)),
    array('string', ['x'.repeat(300)]),
    array('list', [[1], []]),
  ],
};

describe('(b) the encoder only emits constructors the XML lists for the type', () => {
  it('has samples for exactly the XML types', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...TYPE_NAMES].sort());
  });
  const cases = Object.entries(SAMPLES).flatMap(([type, values]) =>
    values.map((value, i) => ({ type, value, name: `${type} #${i}` })),
  );
  it.each(cases)('$name', ({ type, value }) => {
    const bytes = encode(value);
    const allowed = [...(CODES_OF_TYPE.get(type) ?? [])].map(hex2);
    expect(allowed).toContain(hex2(bytes[0]!));
    // And the bytes read back as that same type.
    expect(typeNameOf(decodeValue(bytes))).toBe(type);
  });
});

describe('(c) constructors outside the XML are refused', () => {
  const unknown = Array.from({ length: 256 }, (_, code) => code).filter(
    (c) => c !== 0x00 && !XML_CODES.has(c),
  );
  it('leaves 256 - 39 - 1 codes to refuse', () => {
    expect(unknown).toHaveLength(256 - XML_CODES.size - 1);
  });
  it.each(unknown.map((code) => ({ code, name: hex2(code) })))('as a value: $name', ({ code }) => {
    // Followed by enough bytes that "truncated" can never be the reason.
    expect(decodeErrorCode([code, ...new Array<number>(32).fill(0)])).toBe('AMQP_DECODE_UNKNOWN_CONSTRUCTOR');
  });
  it.each(unknown.map((code) => ({ code, name: hex2(code) })))(
    'as an array element constructor: $name',
    ({ code }) => {
      // array8, size 2, count 0, constructor.
      expect(decodeErrorCode([0xe0, 0x02, 0x00, code])).toBe('AMQP_DECODE_UNKNOWN_CONSTRUCTOR');
    },
  );
  it.each(unknown.map((code) => ({ code, name: hex2(code) })))('as a descriptor: $name', ({ code }) => {
    expect(decodeErrorCode([0x00, code, ...new Array<number>(32).fill(0)])).toBe(
      'AMQP_DECODE_UNKNOWN_CONSTRUCTOR',
    );
  });
});

describe('(d) every XML constructor but null works as an array element constructor', () => {
  const elementEncodings = ENCODINGS.filter((e) => e.type !== 'null');
  it.each(elementEncodings.map((e) => ({ e, name: label(e) })))('$name', ({ e }) => {
    const body = bodyFor(e);
    const content = [e.code, ...body, ...body]; // constructor once, two elements
    const bytes = Buffer.from([0xe0, 1 + content.length, 0x02, ...content]);
    const value = decodeValue(bytes);
    expect(value).toBeInstanceOf(AmqpArray);
    const arr = value as AmqpArray;
    expect(arr.elementType).toBe(e.type);
    expect(arr.items).toHaveLength(2);
    expect(arr.descriptor).toBeUndefined();
  });
});

describe('(e) a body one byte short is refused', () => {
  const withBody = ENCODINGS.filter((e) => bodyFor(e).length > 0);
  it.each(withBody.map((e) => ({ e, name: label(e) })))('$name', ({ e }) => {
    const body = bodyFor(e);
    const code = decodeErrorCode([e.code, ...body.slice(0, -1)]);
    expect(['AMQP_DECODE_TRUNCATED', 'AMQP_DECODE_BAD_SIZE']).toContain(code);
  });
});

describe('(f) symbols are seven-bit ASCII (spec 1.6.21: sym8/sym32 hold ASCII characters)', () => {
  const encodeError = (v: AmqpValue): string | undefined => {
    try {
      encode(v);
    } catch (err) {
      return err instanceof Error ? (err as Error & { code?: string }).code : String(err);
    }
    return undefined;
  };
  it('encodes an ASCII symbol, all 128 characters', () => {
    const all = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
    expect(encode(symbol(all)).subarray(0, 2)).toStrictEqual(Buffer.from([0xa3, 0x80]));
  });
  it('refuses a symbol with a non-ASCII character', () => {
    expect(encodeError(symbol('caf\u00e9'))).toBe('AMQP_ENCODE_INVALID_VALUE');
  });
  it('refuses a non-ASCII symbol as an array element', () => {
    expect(encodeError(array('symbol', ['ok', '\u20ac']))).toBe('AMQP_ENCODE_INVALID_VALUE');
  });
});
