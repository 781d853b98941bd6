/**
 * Known-answer tests for the codec: byte-exact vectors written by hand from the AMQP 1.0 spec
 * (types.bare.xml encodings, part 1.6; the performatives of part 2.7; the message format of 3.2).
 * None of the expected bytes come from our encoder: every hex string below was worked out on paper
 * (constructor, size, count, items), and the `size`/`count` bytes are commented where they are not
 * obvious.
 *
 * Each vector says which way it is checked:
 * - 'both': the bytes decode to the value, and the value encodes to exactly these bytes (so these
 *   bytes are the most compact encoding, which the encoder must choose);
 * - 'decode': a valid but non-compact encoding the decoder must accept;
 * - 'encode': a JS input that has no decoded form of its own (undefined, a plain object...).
 */
import { describe, expect, it } from 'vitest';
import {
  ByteWriter,
  DecodeError,
  EncodeError,
  array,
  byte,
  char,
  decimal128,
  decimal32,
  decimal64,
  decodeComposite,
  decodeMessage,
  decodeValue,
  described,
  double,
  encode,
  encodeComposite,
  encodeMessage,
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
  type CompositeRecord,
  type Message,
} from '../../src/codec/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers: hex in, hex out. Spaces are for the reader; anything else that is not hex is a typo.

function hex(s: string): Buffer {
  const clean = s.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex vector: ${s}`);
  return Buffer.from(clean, 'hex');
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** `byteHex` repeated n times, e.g. rep('61', 3) === '616161'. */
function rep(byteHex: string, n: number): string {
  return byteHex.repeat(n);
}

type Direction = 'both' | 'decode' | 'encode';

interface Vector {
  name: string;
  hex: string;
  value: AmqpValue;
  dir: Direction;
}

const v = (name: string, hexStr: string, value: AmqpValue, dir: Direction = 'both'): Vector => ({
  name,
  hex: hexStr,
  value,
  dir,
});

// ---------------------------------------------------------------------------------------------
// Primitive vectors, one group per type in types.bare.xml.

const UUID_TEXT = '01234567-89ab-cdef-0123-456789abcdef';
const DEC32 = Buffer.from([0x22, 0x50, 0x00, 0x01]);
const DEC64 = Buffer.from([0x22, 0x38, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07]);
const DEC128 = Buffer.from([
  0x22, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
]);

const PRIMITIVES: Vector[] = [
  // null 0x40
  v('null', '40', null),
  v('undefined is null', '40', undefined, 'encode'),

  // boolean 0x41 / 0x42 (compact), 0x56 with one byte
  v('true', '41', true),
  v('false', '42', false),
  v('boolean 0x56 01', '56 01', true, 'decode'),
  v('boolean 0x56 00', '56 00', false, 'decode'),

  // ubyte 0x50
  v('ubyte 0', '50 00', ubyte(0)),
  v('ubyte 127', '50 7f', ubyte(127)),
  v('ubyte 128', '50 80', ubyte(128)),
  v('ubyte 255', '50 ff', ubyte(255)),

  // ushort 0x60
  v('ushort 0', '60 00 00', ushort(0)),
  v('ushort 255', '60 00 ff', ushort(255)),
  v('ushort 256', '60 01 00', ushort(256)),
  v('ushort 65535', '60 ff ff', ushort(65535)),

  // uint 0x70, smalluint 0x52, uint0 0x43
  v('uint 0 as uint0', '43', uint(0)),
  v('uint 1 as smalluint', '52 01', uint(1)),
  v('uint 5 as smalluint', '52 05', uint(5)),
  v('uint 255 as smalluint', '52 ff', uint(255)),
  v('uint 256 as uint', '70 00 00 01 00', uint(256)),
  v('uint 65536', '70 00 01 00 00', uint(65536)),
  v('uint max', '70 ff ff ff ff', uint(0xffffffff)),
  v('uint 0 as smalluint', '52 00', uint(0), 'decode'),
  v('uint 0 as uint', '70 00 00 00 00', uint(0), 'decode'),
  v('uint 5 as uint', '70 00 00 00 05', uint(5), 'decode'),
  v('uint 255 as uint', '70 00 00 00 ff', uint(255), 'decode'),

  // ulong 0x80, smallulong 0x53, ulong0 0x44
  v('ulong 0 as ulong0', '44', ulong(0)),
  v('ulong 1 as smallulong', '53 01', ulong(1)),
  v('ulong 255 as smallulong', '53 ff', ulong(255)),
  v('ulong 256 as ulong', '80 00 00 00 00 00 00 01 00', ulong(256)),
  v('ulong 2^32', '80 00 00 00 01 00 00 00 00', ulong(0x100000000n)),
  v('ulong max', '80 ff ff ff ff ff ff ff ff', ulong(0xffffffffffffffffn)),
  v('ulong 0 as smallulong', '53 00', ulong(0), 'decode'),
  v('ulong 0 as ulong', '80 00 00 00 00 00 00 00 00', ulong(0), 'decode'),
  v('ulong 1 as ulong', '80 00 00 00 00 00 00 00 01', ulong(1), 'decode'),

  // byte 0x51
  v('byte 0', '51 00', byte(0)),
  v('byte -1', '51 ff', byte(-1)),
  v('byte 127', '51 7f', byte(127)),
  v('byte -128', '51 80', byte(-128)),

  // short 0x61
  v('short 0', '61 00 00', short(0)),
  v('short -1', '61 ff ff', short(-1)),
  v('short 256', '61 01 00', short(256)),
  v('short 32767', '61 7f ff', short(32767)),
  v('short -32768', '61 80 00', short(-32768)),

  // int 0x71, smallint 0x54
  v('int 0', '54 00', 0),
  v('int 1', '54 01', 1),
  v('int -1', '54 ff', -1),
  v('int 127', '54 7f', 127),
  v('int -128', '54 80', -128),
  v('int 128', '71 00 00 00 80', 128),
  v('int -129', '71 ff ff ff 7f', -129),
  v('int 255', '71 00 00 00 ff', 255),
  v('int 256', '71 00 00 01 00', 256),
  v('int max', '71 7f ff ff ff', 2147483647),
  v('int min', '71 80 00 00 00', -2147483648),
  v('int 5 as int', '71 00 00 00 05', 5, 'decode'),
  v('int -1 as int', '71 ff ff ff ff', -1, 'decode'),
  v('int -128 as int', '71 ff ff ff 80', -128, 'decode'),

  // long 0x81, smalllong 0x55
  v('long 0', '55 00', 0n),
  v('long -1', '55 ff', -1n),
  v('long 127', '55 7f', 127n),
  v('long -128', '55 80', -128n),
  v('long 128', '81 00 00 00 00 00 00 00 80', 128n),
  v('long -129', '81 ff ff ff ff ff ff ff 7f', -129n),
  v('long 2^32', '81 00 00 00 01 00 00 00 00', 0x100000000n),
  v('long max', '81 7f ff ff ff ff ff ff ff', 0x7fffffffffffffffn),
  v('long min', '81 80 00 00 00 00 00 00 00', -0x8000000000000000n),
  v('long 1 as long', '81 00 00 00 00 00 00 00 01', 1n, 'decode'),
  v('long -1 as long', '81 ff ff ff ff ff ff ff ff', -1n, 'decode'),

  // float 0x72 (IEEE 754 binary32, big-endian)
  v('float 0', '72 00 00 00 00', float(0)),
  v('float 1', '72 3f 80 00 00', float(1)),
  v('float -2', '72 c0 00 00 00', float(-2)),
  v('float 1.5', '72 3f c0 00 00', float(1.5)),
  v('float 0.1', '72 3d cc cc cd', float(0.1)),

  // double 0x82 (IEEE 754 binary64, big-endian)
  v('double 1 (typed)', '82 3f f0 00 00 00 00 00 00', double(1)),
  v('double 0 (typed)', '82 00 00 00 00 00 00 00 00', double(0)),
  v('double 0.5', '82 3f e0 00 00 00 00 00 00', 0.5),
  v('double 1.5', '82 3f f8 00 00 00 00 00 00', 1.5),
  v('double 0.1', '82 3f b9 99 99 99 99 99 9a', 0.1),
  v('double pi', '82 40 09 21 fb 54 44 2d 18', Math.PI),
  v('double 2^31 (int max + 1)', '82 41 e0 00 00 00 00 00 00', 2147483648),
  v('double -2^31-1 (int min - 1)', '82 c1 e0 00 00 00 20 00 00', -2147483649),
  v('double +Infinity', '82 7f f0 00 00 00 00 00 00', Infinity),
  v('double -Infinity', '82 ff f0 00 00 00 00 00 00', -Infinity),
  v('double NaN', '82 7f f8 00 00 00 00 00 00', NaN),
  v('double -0 (typed)', '82 80 00 00 00 00 00 00 00', double(-0), 'decode'),
  v('plain -0 is a double', '82 80 00 00 00 00 00 00 00', -0, 'encode'),

  // decimal32 0x74, decimal64 0x84, decimal128 0x94: raw bytes
  v('decimal32', '74 22 50 00 01', decimal32(DEC32)),
  v('decimal64', '84 22 38 00 00 00 00 00 07', decimal64(DEC64)),
  v('decimal128', '94 22 08 00 00 00 00 00 00 00 00 00 00 00 00 00 2a', decimal128(DEC128)),

  // char 0x73: UTF-32BE code point
  v('char a', '73 00 00 00 61', char('a')),
  v('char U+0000', '73 00 00 00 00', char(0)),
  v('char é', '73 00 00 00 e9', char('é')),
  v('char U+1F600 (astral)', '73 00 01 f6 00', char(0x1f600)),

  // timestamp 0x83: signed 64-bit ms since the epoch
  v('timestamp epoch', '83 00 00 00 00 00 00 00 00', new Date(0)),
  v('timestamp 2^40 ms', '83 00 00 01 00 00 00 00 00', new Date(1099511627776)),
  v('timestamp -1 ms', '83 ff ff ff ff ff ff ff ff', new Date(-1)),
  v('timestamp beyond Date', '83 40 00 00 00 00 00 00 00', timestamp(1n << 62n)),

  // uuid 0x98
  v('uuid', '98 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef', uuid(UUID_TEXT)),

  // binary: vbin8 0xa0, vbin32 0xb0
  v('binary empty', 'a0 00', Buffer.alloc(0)),
  v('binary 3 bytes', 'a0 03 01 02 03', Buffer.from([1, 2, 3])),
  v('binary 255 bytes (vbin8)', 'a0 ff' + rep('ab', 255), Buffer.alloc(255, 0xab)),
  v('binary 256 bytes (vbin32)', 'b0 00 00 01 00' + rep('ab', 256), Buffer.alloc(256, 0xab)),
  v('binary short as vbin32', 'b0 00 00 00 02 ab cd', Buffer.from([0xab, 0xcd]), 'decode'),
  v('binary empty as vbin32', 'b0 00 00 00 00', Buffer.alloc(0), 'decode'),
  v('Uint8Array is binary', 'a0 02 01 02', new Uint8Array([1, 2]), 'encode'),

  // string: str8-utf8 0xa1, str32-utf8 0xb1
  v('string empty', 'a1 00', ''),
  v('string hello', 'a1 05 68 65 6c 6c 6f', 'hello'),
  v('string é (2-byte UTF-8)', 'a1 02 c3 a9', 'é'),
  v('string € (3-byte UTF-8)', 'a1 03 e2 82 ac', '€'),
  v('string astral (4-byte UTF-8)', 'a1 04 f0 9f 98 80', '\u{1f600}'),
  v('string 255 ASCII (str8)', 'a1 ff' + rep('61', 255), 'a'.repeat(255)),
  v('string 256 ASCII (str32)', 'b1 00 00 01 00' + rep('61', 256), 'a'.repeat(256)),
  v('string 300 ASCII (str32)', 'b1 00 00 01 2c' + rep('61', 300), 'a'.repeat(300)),
  v('string 85 x € = 255 bytes (str8)', 'a1 ff' + rep('e282ac', 85), '€'.repeat(85)),
  v('string 86 x € = 258 bytes (str32)', 'b1 00 00 01 02' + rep('e282ac', 86), '€'.repeat(86)),
  v('string 86 x é = 172 bytes (str8)', 'a1 ac' + rep('c3a9', 86), 'é'.repeat(86)),
  v('string 127 x é + a = 255 bytes (str8)', 'a1 ff' + rep('c3a9', 127) + '61', 'é'.repeat(127) + 'a'),
  v('string 128 x é = 256 bytes (str32)', 'b1 00 00 01 00' + rep('c3a9', 128), 'é'.repeat(128)),
  v('string short as str32', 'b1 00 00 00 02 68 69', 'hi', 'decode'),
  v('string empty as str32', 'b1 00 00 00 00', '', 'decode'),

  // symbol: sym8 0xa3, sym32 0xb3
  v('symbol empty', 'a3 00', symbol('')),
  v('symbol PLAIN', 'a3 05 50 4c 41 49 4e', symbol('PLAIN')),
  v('symbol amqp:open:list', 'a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74', symbol('amqp:open:list')),
  v('symbol 255 (sym8)', 'a3 ff' + rep('73', 255), symbol('s'.repeat(255))),
  v('symbol 256 (sym32)', 'b3 00 00 01 00' + rep('73', 256), symbol('s'.repeat(256))),
  v('symbol short as sym32', 'b3 00 00 00 01 61', symbol('a'), 'decode'),

  // list: list0 0x45, list8 0xc0, list32 0xd0 (size counts the count field and the items)
  v('list empty (list0)', '45', []),
  v('list [1, true]', 'c0 04 02 54 01 41', [1, true]),
  v('list [[], null]', 'c0 03 02 45 40', [[], null]),
  v('list ["a", [null]]', 'c0 08 02 a1 01 61 c0 02 01 40', ['a', [null]]),
  v('list [uint 0, ulong 0, "x"]', 'c0 06 03 43 44 a1 01 78', [uint(0), ulong(0), 'x']),
  // 252-char string: item is a1 fc + 252 = 254 bytes; size = 1 + 254 = 255: still list8.
  v('list of 255 bytes (list8)', 'c0 ff 01 a1 fc' + rep('61', 252), ['a'.repeat(252)]),
  // 253-char string: item 255 bytes; size would be 256: list32, size = 4 + 255 = 0x103.
  v('list of 256 bytes (list32)', 'd0 00 00 01 03 00 00 00 01 a1 fd' + rep('61', 253), ['a'.repeat(253)]),
  // 254 nulls: size = 1 + 254 = 255 (list8); 255 nulls: size 256 (list32, 4 + 255 = 0x103).
  v('list of 254 nulls (list8)', 'c0 ff fe' + rep('40', 254), new Array<AmqpValue>(254).fill(null)),
  v(
    'list of 255 nulls (list32)',
    'd0 00 00 01 03 00 00 00 ff' + rep('40', 255),
    new Array<AmqpValue>(255).fill(null),
  ),
  v(
    'list of 256 nulls (list32, count > 255)',
    'd0 00 00 01 04 00 00 01 00' + rep('40', 256),
    new Array<AmqpValue>(256).fill(null),
  ),
  v('list empty as list8', 'c0 01 00', [], 'decode'),
  v('list empty as list32', 'd0 00 00 00 04 00 00 00 00', [], 'decode'),
  v('list32 with one item', 'd0 00 00 00 05 00 00 00 01 40', [null], 'decode'),
  v('list32 [1, true]', 'd0 00 00 00 07 00 00 00 02 54 01 41', [1, true], 'decode'),

  // map: map8 0xc1, map32 0xd1 (count is keys + values)
  // A map whose keys are all strings is a plain object; any other is a Map (both encode alike).
  v('map empty', 'c1 01 00', {}),
  v('an empty Map is an empty map', 'c1 01 00', new Map(), 'encode'),
  v('map {"a": 1}', 'c1 06 02 a1 01 61 54 01', { a: 1 }),
  v(
    'a Map with string keys is the same map',
    'c1 06 02 a1 01 61 54 01',
    new Map<AmqpValue, AmqpValue>([['a', 1]]),
    'encode',
  ),
  v(
    'map {"0": 1, "1": 2, "b": 3}: an object keeps that order',
    'c1 10 06 a1 01 30 54 01 a1 01 31 54 02 a1 01 62 54 03',
    { 0: 1, 1: 2, b: 3 },
  ),
  v(
    'map {"b": 1, "0": 2}: an object would list "0" first, so a Map',
    'c1 0b 04 a1 01 62 54 01 a1 01 30 54 02',
    new Map<AmqpValue, AmqpValue>([
      ['b', 1],
      ['0', 2],
    ]),
  ),
  v(
    'map {"1": 1, "0": 2}: not ascending, so a Map',
    'c1 0b 04 a1 01 31 54 01 a1 01 30 54 02',
    new Map<AmqpValue, AmqpValue>([
      ['1', 1],
      ['0', 2],
    ]),
  ),
  v('map {sym x: null}', 'c1 05 02 a3 01 78 40', new Map<AmqpValue, AmqpValue>([[symbol('x'), null]])),
  v(
    'map with ulong and symbol keys',
    'c1 0a 04 53 01 a1 01 78 a3 01 73 41',
    new Map<AmqpValue, AmqpValue>([
      [ulong(1), 'x'],
      [symbol('s'), true],
    ]),
  ),
  // key a1 01 6b (3) + value a1 f9 + 249 (251): size = 1 + 254 = 255 (map8).
  v('map of 255 bytes (map8)', 'c1 ff 02 a1 01 6b a1 f9' + rep('61', 249), { k: 'a'.repeat(249) }),
  // value a1 fc + 252 (254): size would be 258; map32 size = 4 + 257 = 0x105.
  v('map of 258 bytes (map32)', 'd1 00 00 01 05 00 00 00 02 a1 01 6b a1 fc' + rep('61', 252), {
    k: 'a'.repeat(252),
  }),
  v('map empty as map32', 'd1 00 00 00 04 00 00 00 00', {}, 'decode'),
  v('map {"a": 1} as map32', 'd1 00 00 00 09 00 00 00 02 a1 01 61 54 01', { a: 1 }, 'decode'),

  // described 0x00: descriptor then value
  v('described, ulong descriptor', '00 53 01 a1 02 68 69', described(ulong(1), 'hi')),
  v('described, symbol descriptor', '00 a3 03 78 3a 79 40', described(symbol('x:y'), null)),
  v(
    'described, domain ulong descriptor',
    '00 80 00 00 46 8c 00 00 00 01 45',
    described(ulong(0x0000468c00000001n), []),
  ),
  v('described in described', '00 53 01 00 53 02 40', described(ulong(1), described(ulong(2), null))),
  v(
    'described, descriptor as full ulong',
    '00 80 00 00 00 00 00 00 00 01 40',
    described(ulong(1), null),
    'decode',
  ),
  v('described, descriptor as ulong0', '00 44 54 07', described(ulong(0), 7)),
];

// ---------------------------------------------------------------------------------------------
// Arrays: array8 0xe0, array32 0xf0. size counts the count, the element constructor and the
// elements; the constructor is written once.

const ARRAYS: Vector[] = [
  v('array of smallint', 'e0 05 03 54 01 02 03', array('int', [1, 2, 3])),
  v('array of int (one needs 4 bytes)', 'e0 0a 02 71 00 00 00 01 00 00 01 00', array('int', [1, 256])),
  v('array of int with -1', 'e0 04 02 54 ff 7f', array('int', [-1, 127])),
  // 9 + 5 bytes of symbol, 1 + 1 length bytes, constructor, count: 18 = 0x12.
  v(
    'array of symbols (capabilities)',
    'e0 12 02 a3 09 41 4e 4f 4e 59 4d 4f 55 53 05 50 4c 41 49 4e',
    array('symbol', ['ANONYMOUS', 'PLAIN']),
  ),
  v('array of smalluint', 'e0 05 03 52 00 01 ff', array('uint', [0, 1, 255])),
  v('array of uint', 'e0 0a 02 70 00 00 00 01 00 00 01 00', array('uint', [1, 256])),
  v('array of uint0', 'e0 02 03 43', array('uint', [0, 0, 0]), 'decode'),
  v('array of smallulong', 'e0 04 02 53 01 02', array('ulong', [1n, 2n])),
  v('array of ulong', 'e0 0a 01 80 00 00 00 00 00 00 01 00', array('ulong', [256n])),
  v('array of ulong0', 'e0 02 02 44', array('ulong', [0n, 0n]), 'decode'),
  v('array of smalllong', 'e0 04 02 55 01 ff', array('long', [1n, -1n])),
  v('array of long', 'e0 0a 01 81 ff ff ff ff ff ff ff 7f', array('long', [-129n])),
  v('array of boolean (0x56)', 'e0 04 02 56 01 00', array('boolean', [true, false])),
  v('array of true (0x41)', 'e0 02 02 41', array('boolean', [true, true]), 'decode'),
  v('array of false (0x42)', 'e0 02 01 42', array('boolean', [false]), 'decode'),
  v('array of ubyte', 'e0 04 02 50 00 ff', array('ubyte', [0, 255])),
  v('array of ushort', 'e0 06 02 60 00 01 ff ff', array('ushort', [1, 65535])),
  v('array of byte', 'e0 04 02 51 80 7f', array('byte', [-128, 127])),
  v('array of short', 'e0 06 02 61 80 00 00 01', array('short', [-32768, 1])),
  v('array of float', 'e0 06 01 72 3f c0 00 00', array('float', [1.5])),
  v('array of double', 'e0 0a 01 82 3f f8 00 00 00 00 00 00', array('double', [1.5])),
  v('array of char', 'e0 0a 02 73 00 00 00 61 00 01 f6 00', array('char', ['a', '\u{1f600}'])),
  v('array of timestamp', 'e0 0a 01 83 00 00 00 00 00 00 00 00', array('timestamp', [new Date(0)])),
  v(
    'array of uuid',
    'e0 12 01 98 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef',
    array('uuid', [UUID_TEXT]),
  ),
  v('array of decimal32', 'e0 06 01 74 22 50 00 01', array('decimal32', [DEC32])),
  v(
    'array of binary',
    'e0 07 02 a0 01 01 02 02 03',
    array('binary', [Buffer.from([1]), Buffer.from([2, 3])]),
  ),
  v('array of string', 'e0 04 01 a1 01 61', array('string', ['a'])),
  v('array of str32', 'e0 08 01 b1 00 00 00 02 68 69', array('string', ['hi']), 'decode'),
  v('array of sym32', 'e0 07 01 b3 00 00 00 01 61', array('symbol', ['a']), 'decode'),
  v('empty array of int', 'e0 02 00 54', array('int', [])),
  v('empty array of symbol', 'e0 02 00 a3', array('symbol', [])),
  v('empty array8 of uint (0x70)', 'e0 02 00 70', array('uint', []), 'decode'),
  // array32: size = 4 (count) + 1 (constructor) + elements.
  v('array32 of smallint', 'f0 00 00 00 07 00 00 00 02 54 01 02', array('int', [1, 2]), 'decode'),
  v('array32, empty', 'f0 00 00 00 05 00 00 00 00 54', array('int', []), 'decode'),
  // 253 ubytes: size = 1 + 1 + 253 = 255 (array8); 254: 256 (array32, size 4 + 1 + 254 = 0x103).
  v(
    'array8 of 253 ubytes',
    'e0 ff fd 50' + rep('00', 253),
    array('ubyte', new Array<AmqpValue>(253).fill(0)),
  ),
  v(
    'array32 of 254 ubytes',
    'f0 00 00 01 03 00 00 00 fe 50' + rep('00', 254),
    array('ubyte', new Array<AmqpValue>(254).fill(0)),
  ),
  // 256 smallints: count > 255, size = 4 + 1 + 256 = 0x105.
  v(
    'array32 of 256 smallints',
    'f0 00 00 01 05 00 00 01 00 54' + rep('07', 256),
    array('int', new Array<AmqpValue>(256).fill(7)),
  ),
  // Described arrays: 00 <descriptor> <element constructor>, then elements.
  v(
    'array of described strings (symbol descriptor)',
    'e0 0a 02 00 a3 01 64 a1 01 78 01 79',
    array('string', ['x', 'y'], symbol('d')),
  ),
  v('array of described ints (ulong descriptor)', 'e0 06 01 00 53 70 54 07', array('int', [7], ulong(0x70))),
  // Nested: the element constructor is array32 (f0); each element is size(4) count(4) ctor items.
  v(
    'array of arrays',
    'e0 17 02 f0 00 00 00 07 00 00 00 02 54 01 02 00 00 00 06 00 00 00 01 54 03',
    array('array', [array('int', [1, 2]), array('int', [3])]),
  ),
  v(
    'array of arrays (array8 elements)',
    'e0 0b 02 e0 04 02 54 01 02 03 01 54 03',
    array('array', [array('int', [1, 2]), array('int', [3])]),
    'decode',
  ),
  v(
    'array of lists',
    'e0 14 02 d0 00 00 00 06 00 00 00 01 54 01 00 00 00 04 00 00 00 00',
    array('list', [[1], []]),
  ),
  v('array of lists (list8 elements)', 'e0 08 02 c0 03 01 54 01 01 00', array('list', [[1], []]), 'decode'),
  v('array of list0', 'e0 02 02 45', array('list', [[], []]), 'decode'),
  v('array of maps', 'e0 0f 01 d1 00 00 00 09 00 00 00 02 a1 01 61 54 01', array('map', [{ a: 1 }])),
  v('array of maps (map8 elements)', 'e0 09 01 c1 06 02 a1 01 61 54 01', array('map', [{ a: 1 }]), 'decode'),
  v('array inside a list', 'c0 06 01 e0 03 01 54 05', [array('int', [5])]),
];

function checkVectors(title: string, vectors: Vector[]): void {
  describe(title, () => {
    const decodes = vectors.filter((x) => x.dir !== 'encode');
    const encodes = vectors.filter((x) => x.dir !== 'decode');
    it.each(decodes)('decodes $name', ({ hex: h, value }) => {
      expect(decodeValue(hex(h))).toStrictEqual(value);
    });
    it.each(encodes)('encodes $name', ({ hex: h, value }) => {
      expect(toHex(encode(value))).toBe(toHex(hex(h)));
    });
  });
}

checkVectors('known-answer primitives', PRIMITIVES);
checkVectors('known-answer arrays', ARRAYS);

describe('known-answer: every encoding code has a vector', () => {
  const CODES = [
    0x40, 0x56, 0x41, 0x42, 0x50, 0x60, 0x70, 0x52, 0x43, 0x80, 0x53, 0x44, 0x51, 0x61, 0x71, 0x54, 0x81,
    0x55, 0x72, 0x82, 0x74, 0x84, 0x94, 0x73, 0x83, 0x98, 0xa0, 0xb0, 0xa1, 0xb1, 0xa3, 0xb3, 0x45, 0xc0,
    0xd0, 0xc1, 0xd1, 0xe0, 0xf0, 0x00,
  ];
  it.each(CODES.map((c) => ({ code: c, label: c.toString(16).padStart(2, '0') })))(
    'code 0x$label is decoded and encoded by some vector',
    ({ code }) => {
      const all = [...PRIMITIVES, ...ARRAYS];
      expect(all.some((x) => x.dir !== 'encode' && hex(x.hex)[0] === code)).toBe(true);
      expect(all.some((x) => x.dir !== 'decode' && hex(x.hex)[0] === code)).toBe(code !== 0x56);
    },
  );
});

describe('known-answer: invalid bodies', () => {
  const bad: { name: string; hex: string; code: string }[] = [
    { name: 'boolean 0x56 02', hex: '56 02', code: 'AMQP_DECODE_INVALID_VALUE' },
    { name: 'char above U+10FFFF', hex: '73 00 11 00 00', code: 'AMQP_DECODE_INVALID_VALUE' },
    { name: 'char surrogate', hex: '73 00 00 d8 00', code: 'AMQP_DECODE_INVALID_VALUE' },
    { name: 'str8 with invalid UTF-8', hex: 'a1 02 c3 28', code: 'AMQP_DECODE_INVALID_UTF8' },
    { name: 'truncated uint', hex: '70 00 00 01', code: 'AMQP_DECODE_TRUNCATED' },
    { name: 'truncated vbin8', hex: 'a0 03 01 02', code: 'AMQP_DECODE_TRUNCATED' },
    { name: 'list8 size past the end', hex: 'c0 05 01 40', code: 'AMQP_DECODE_BAD_SIZE' },
    { name: 'list8 size larger than items', hex: 'c0 03 01 40 40', code: 'AMQP_DECODE_BAD_SIZE' },
    { name: 'map with odd count', hex: 'c1 02 01 40', code: 'AMQP_DECODE_BAD_SIZE' },
    { name: 'trailing byte', hex: '40 40', code: 'AMQP_DECODE_TRAILING_BYTES' },
    { name: 'empty input', hex: '', code: 'AMQP_DECODE_TRUNCATED' },
  ];
  it.each(bad)('rejects $name', ({ hex: h, code }) => {
    let err: unknown;
    try {
      decodeValue(hex(h));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe(code);
  });
});

// ---------------------------------------------------------------------------------------------
// Performatives (transport 2.7, security 5.3.3) and delivery states. The descriptor is written as
// smallulong 0x53 <code>; trailing null fields are omitted; interior nulls are 0x40.

interface CompositeVector {
  name: string;
  hex: string;
  record: CompositeRecord;
  dir: Direction;
}

const c = (
  name: string,
  hexStr: string,
  record: CompositeRecord,
  dir: Direction = 'both',
): CompositeVector => ({
  name,
  hex: hexStr,
  record,
  dir,
});

// 'ANONYMOUS-RELAY' is 15 bytes: 41 4e 4f 4e 59 4d 4f 55 53 2d 52 45 4c 41 59.
const ANON_RELAY = '41 4e 4f 4e 59 4d 4f 55 53 2d 52 45 4c 41 59';
// 'amqp:link:detach-forced' is 23 (0x17) bytes, 'amqp:internal-error' 19 (0x13).
const DETACH_FORCED = '61 6d 71 70 3a 6c 69 6e 6b 3a 64 65 74 61 63 68 2d 66 6f 72 63 65 64';
const INTERNAL_ERROR = '61 6d 71 70 3a 69 6e 74 65 72 6e 61 6c 2d 65 72 72 6f 72';

// source {address 'src', durable 2, expiry-policy 'never', timeout 60, dynamic false, filter {f: 'x'}}:
// items 5 + 2 + 7 + 2 + 1 + 1 + 1 + 9 = 28, count 8, size 0x1d; 34 bytes in all.
const SOURCE_HEX =
  '00 53 28 c0 1d 08 a1 03 73 72 63 52 02 a3 05 6e 65 76 65 72 52 3c 42 40 40 c1 07 02 a3 01 66 a1 01 78';
// target {address 'dst'}: 11 bytes.
const TARGET_HEX = '00 53 29 c0 06 01 a1 03 64 73 74';

const COMPOSITES: CompositeVector[] = [
  // open: container-id only.
  c('open (container-id only)', '00 53 10 c0 05 01 a1 02 63 31', { type: 'open', containerId: 'c1' }),
  // open: container-id, hostname, max-frame-size 65536 (uint), channel-max 255 (ushort),
  // idle-time-out 30000 (uint 0x7530), two absent locales, offered-capabilities array8 of symbols.
  // Items 4 + 3 + 5 + 3 + 5 + 1 + 1 + 20 = 42, count 8, size 43 = 0x2b.
  c(
    'open (limits and capabilities)',
    '00 53 10 c0 2b 08 a1 02 63 31 a1 01 68 70 00 01 00 00 60 00 ff 70 00 00 75 30 40 40' +
      ` e0 12 01 a3 0f ${ANON_RELAY}`,
    {
      type: 'open',
      containerId: 'c1',
      hostname: 'h',
      maxFrameSize: 65536,
      channelMax: 255,
      idleTimeOut: 30000,
      offeredCapabilities: ['ANONYMOUS-RELAY'],
    },
  ),
  // max-frame-size 255 fits smalluint 52 ff; channel-max 0 is still a full ushort (60 00 00).
  // Items 4 + 1 + 2 + 3 = 10, count 4, size 11.
  c('open (smalluint, ushort 0)', '00 53 10 c0 0b 04 a1 02 63 31 40 52 ff 60 00 00', {
    type: 'open',
    containerId: 'c1',
    maxFrameSize: 255,
    channelMax: 0,
  }),
  // A 250-char hostname makes the list 4 + 252 = 256 bytes of items: list32, size 4 + 256 = 0x104.
  c('open (list32)', '00 53 10 d0 00 00 01 04 00 00 00 02 a1 02 63 31 a1 fa' + rep('68', 250), {
    type: 'open',
    containerId: 'c1',
    hostname: 'h'.repeat(250),
  }),
  // Other spellings the decoder must accept: symbolic descriptor, full ulong descriptor, list32,
  // and a single symbol where an array of symbols is allowed (multiple="true").
  c(
    'open (symbolic descriptor)',
    '00 a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74 c0 05 01 a1 02 63 31',
    { type: 'open', containerId: 'c1' },
    'decode',
  ),
  c(
    'open (ulong descriptor)',
    '00 80 00 00 00 00 00 00 00 10 c0 05 01 a1 02 63 31',
    { type: 'open', containerId: 'c1' },
    'decode',
  ),
  c(
    'open (list32 body)',
    '00 53 10 d0 00 00 00 08 00 00 00 01 a1 02 63 31',
    { type: 'open', containerId: 'c1' },
    'decode',
  ),
  c(
    'open (single symbol capability)',
    `00 53 10 c0 1c 08 a1 02 63 31 40 40 40 40 40 40 a3 0f ${ANON_RELAY}`,
    { type: 'open', containerId: 'c1', offeredCapabilities: ['ANONYMOUS-RELAY'] },
    'decode',
  ),
  c(
    'open (explicit trailing nulls)',
    '00 53 10 c0 07 03 a1 02 63 31 40 40',
    { type: 'open', containerId: 'c1' },
    'decode',
  ),

  // begin: remote-channel 0 (ushort), next-outgoing-id 1, windows 2048 (uint 0x800).
  // Items 3 + 2 + 5 + 5 = 15, count 4, size 16.
  c('begin (reply)', '00 53 11 c0 10 04 60 00 00 52 01 70 00 00 08 00 70 00 00 08 00', {
    type: 'begin',
    remoteChannel: 0,
    nextOutgoingId: 1,
    incomingWindow: 2048,
    outgoingWindow: 2048,
  }),
  // begin without remote-channel (interior 0x40), next-outgoing-id 0 (uint0), handle-max 255.
  // Items 1 + 1 + 2 + 5 + 2 = 11, count 5, size 12.
  c('begin (no remote-channel)', '00 53 11 c0 0c 05 40 43 52 64 70 ff ff ff ff 52 ff', {
    type: 'begin',
    nextOutgoingId: 0,
    incomingWindow: 100,
    outgoingWindow: 0xffffffff,
    handleMax: 255,
  }),

  // attach, sender: name 'snd', handle 0, role false (sender), snd-settle-mode 1 (settled),
  // rcv-settle-mode absent, source, target, unsettled and incomplete-unsettled absent,
  // initial-delivery-count 0. Items 5+1+1+2+1+11+11+1+1+1 = 35, count 10, size 36 = 0x24.
  c(
    'attach (sender)',
    '00 53 12 c0 24 0a a1 03 73 6e 64 43 42 50 01 40' +
      ' 00 53 28 c0 06 01 a1 03 73 72 63' +
      ` ${TARGET_HEX} 40 40 43`,
    {
      type: 'attach',
      name: 'snd',
      handle: 0,
      role: false,
      sndSettleMode: 1,
      source: { type: 'source', address: 'src' },
      target: { type: 'target', address: 'dst' },
      initialDeliveryCount: 0,
    },
  ),
  // attach, receiver: name 'rcv', handle 1, role true (receiver), rcv-settle-mode 1 (second), a full
  // source, target, max-message-size 1 MiB (ulong 0x100000).
  // Items 5+2+1+1+2+34+11+1+1+1+9 = 68, count 11, size 69 = 0x45.
  c(
    'attach (receiver)',
    `00 53 12 c0 45 0b a1 03 72 63 76 52 01 41 40 50 01 ${SOURCE_HEX} ${TARGET_HEX} 40 40 40` +
      ' 80 00 00 00 00 00 10 00 00',
    {
      type: 'attach',
      name: 'rcv',
      handle: 1,
      role: true,
      rcvSettleMode: 1,
      source: {
        type: 'source',
        address: 'src',
        durable: 2,
        expiryPolicy: 'never',
        timeout: 60,
        dynamic: false,
        filter: { f: 'x' },
      },
      target: { type: 'target', address: 'dst' },
      maxMessageSize: 1048576,
    },
  ),

  // flow: next-incoming-id 1, incoming-window 2048, next-outgoing-id 1, outgoing-window 2048,
  // handle 0, delivery-count 0, link-credit 100, available absent, drain true.
  // Items 2+5+2+5+1+1+2+1+1 = 20, count 9, size 21 = 0x15.
  c('flow', '00 53 13 c0 15 09 52 01 70 00 00 08 00 52 01 70 00 00 08 00 43 43 52 64 40 41', {
    type: 'flow',
    nextIncomingId: 1,
    incomingWindow: 2048,
    nextOutgoingId: 1,
    outgoingWindow: 2048,
    handle: 0,
    deliveryCount: 0,
    linkCredit: 100,
    drain: true,
  }),

  // transfer: handle 0, delivery-id 5, delivery-tag 00000001 (vbin8), message-format 0, settled.
  // Items 1+2+6+1+1 = 11, count 5, size 12.
  c('transfer', '00 53 14 c0 0c 05 43 52 05 a0 04 00 00 00 01 43 41', {
    type: 'transfer',
    handle: 0,
    deliveryId: 5,
    deliveryTag: Buffer.from([0, 0, 0, 1]),
    messageFormat: 0,
    settled: true,
  }),
  // transfer continuation: handle 0 and more=true only; fields 1..4 are interior nulls.
  c('transfer (more)', '00 53 14 c0 07 06 43 40 40 40 40 41', { type: 'transfer', handle: 0, more: true }),

  // disposition: role receiver, first 0, last 2, settled, state accepted (00 53 24 45).
  // Items 1+1+2+1+4 = 9, count 5, size 10.
  c('disposition (accepted)', '00 53 15 c0 0a 05 41 43 52 02 41 00 53 24 45', {
    type: 'disposition',
    role: true,
    first: 0,
    last: 2,
    settled: true,
    state: { type: 'accepted' },
  }),
  c(
    'disposition (accepted as list8)',
    '00 53 15 c0 0c 05 41 43 52 02 41 00 53 24 c0 01 00',
    { type: 'disposition', role: true, first: 0, last: 2, settled: true, state: { type: 'accepted' } },
    'decode',
  ),
  // disposition with a rejected state carrying an error: error = 00 53 1d c0 15 01 a3 13 <19 bytes>
  // (size 0x16, 27 bytes); rejected = 00 53 25 c0 1c 01 <error> (33 bytes).
  // role false (42), first 7 (52 07), last and settled absent (40 40), then the state.
  // Items 1 + 2 + 1 + 1 + 33 = 38, count 5, size 39 = 0x27.
  c(
    'disposition (rejected)',
    `00 53 15 c0 27 05 42 52 07 40 40 00 53 25 c0 1c 01 00 53 1d c0 16 01 a3 13 ${INTERNAL_ERROR}`,
    {
      type: 'disposition',
      role: false,
      first: 7,
      state: { type: 'rejected', error: { type: 'error', condition: 'amqp:internal-error' } },
    },
  ),

  // detach: handle 1, closed, error {condition amqp:link:detach-forced, description 'bye'}.
  // error items 25 + 5 = 30, count 2, size 31 = 0x1f (36 bytes); detach items 2 + 1 + 36 = 39,
  // count 3, size 40 = 0x28.
  c(
    'detach (with error)',
    `00 53 16 c0 28 03 52 01 41 00 53 1d c0 1f 02 a3 17 ${DETACH_FORCED} a1 03 62 79 65`,
    {
      type: 'detach',
      handle: 1,
      closed: true,
      error: { type: 'error', condition: 'amqp:link:detach-forced', description: 'bye' },
    },
  ),
  c('detach (handle only)', '00 53 16 c0 02 01 43', { type: 'detach', handle: 0 }),

  // end: no fields at all is list0.
  c('end', '00 53 17 45', { type: 'end' }),
  // end with an error {condition amqp:internal-error}: error list size 0x16 (27 bytes), end size 28 = 0x1c.
  c('end (with error)', `00 53 17 c0 1c 01 00 53 1d c0 16 01 a3 13 ${INTERNAL_ERROR}`, {
    type: 'end',
    error: { type: 'error', condition: 'amqp:internal-error' },
  }),

  // close with error {condition amqp:internal-error, description 'oops', info {k: 1}}:
  // error items 21 + 6 + 8 = 35, count 3, size 36 = 0x24 (41 bytes); close size 42 = 0x2a.
  c(
    'close (with error)',
    `00 53 18 c0 2a 01 00 53 1d c0 24 03 a3 13 ${INTERNAL_ERROR} a1 04 6f 6f 70 73 c1 06 02 a3 01 6b 54 01`,
    {
      type: 'close',
      error: { type: 'error', condition: 'amqp:internal-error', description: 'oops', info: { k: 1 } },
    },
  ),
  c('close', '00 53 18 45', { type: 'close' }),

  // sasl-mechanisms: array8 of sym8 ANONYMOUS, PLAIN (20 bytes); size 21.
  c('sasl-mechanisms', '00 53 40 c0 15 01 e0 12 02 a3 09 41 4e 4f 4e 59 4d 4f 55 53 05 50 4c 41 49 4e', {
    type: 'sasl-mechanisms',
    saslServerMechanisms: ['ANONYMOUS', 'PLAIN'],
  }),
  c('sasl-mechanisms (one)', '00 53 40 c0 0b 01 e0 08 01 a3 05 50 4c 41 49 4e', {
    type: 'sasl-mechanisms',
    saslServerMechanisms: ['PLAIN'],
  }),
  c(
    'sasl-mechanisms (single symbol)',
    '00 53 40 c0 08 01 a3 05 50 4c 41 49 4e',
    { type: 'sasl-mechanisms', saslServerMechanisms: ['PLAIN'] },
    'decode',
  ),

  // sasl-init: mechanism PLAIN, initial-response "\0user\0pass" (10 bytes), hostname 'h'.
  // Items 7 + 12 + 3 = 22, count 3, size 23.
  c('sasl-init', '00 53 41 c0 17 03 a3 05 50 4c 41 49 4e a0 0a 00 75 73 65 72 00 70 61 73 73 a1 01 68', {
    type: 'sasl-init',
    mechanism: 'PLAIN',
    initialResponse: Buffer.from('\0user\0pass'),
    hostname: 'h',
  }),
  c('sasl-init (mechanism only)', '00 53 41 c0 0c 01 a3 09 41 4e 4f 4e 59 4d 4f 55 53', {
    type: 'sasl-init',
    mechanism: 'ANONYMOUS',
  }),

  // sasl-outcome: code is a ubyte (50 xx).
  c('sasl-outcome (ok)', '00 53 44 c0 03 01 50 00', { type: 'sasl-outcome', code: 0 }),
  c('sasl-outcome (auth, additional data)', '00 53 44 c0 06 02 50 01 a0 01 78', {
    type: 'sasl-outcome',
    code: 1,
    additionalData: Buffer.from('x'),
  }),
];

describe('known-answer performatives', () => {
  const decodes = COMPOSITES.filter((x) => x.dir !== 'encode');
  const encodes = COMPOSITES.filter((x) => x.dir !== 'decode');
  it.each(decodes)('decodes $name', ({ hex: h, record }) => {
    const bytes = hex(h);
    const { value, offset } = decodeComposite(bytes);
    expect(value).toStrictEqual(record);
    expect(offset).toBe(bytes.length);
  });
  it.each(encodes)('encodes $name', ({ hex: h, record }) => {
    const w = new ByteWriter(8);
    encodeComposite(w, record);
    expect(toHex(w.view())).toBe(toHex(hex(h)));
  });
  it('appends after what the writer already holds', () => {
    const w = new ByteWriter(4);
    w.u8(0xee);
    encodeComposite(w, { type: 'end' });
    encodeComposite(w, { type: 'close' });
    expect(toHex(w.view())).toBe(toHex(hex('ee 00 53 17 45 00 53 18 45')));
  });
  it('decodes a composite at an offset, stopping at its end', () => {
    const bytes = hex('ff ff 00 53 17 45 00 53 18 45');
    expect(decodeComposite(bytes, 2)).toStrictEqual({ value: { type: 'end' }, offset: 6 });
    expect(decodeComposite(bytes, 6)).toStrictEqual({ value: { type: 'close' }, offset: 10 });
  });
});

describe('known-answer: composite errors', () => {
  const decodeCode = (h: string): string | undefined => {
    try {
      decodeComposite(hex(h));
    } catch (e) {
      return e instanceof DecodeError ? e.code : `not a DecodeError: ${String(e)}`;
    }
    return undefined;
  };
  it('rejects an open without container-id', () => {
    expect(decodeCode('00 53 10 45')).toBe('AMQP_DECODE_MISSING_FIELD');
    expect(decodeCode('00 53 10 c0 02 01 40')).toBe('AMQP_DECODE_MISSING_FIELD');
  });
  it('rejects a field of the wrong type', () => {
    // container-id as a symbol instead of a string.
    expect(decodeCode('00 53 10 c0 05 01 a3 02 63 31')).toBe('AMQP_DECODE_WRONG_TYPE');
    // handle (uint) as an int.
    expect(decodeCode('00 53 16 c0 03 01 54 01')).toBe('AMQP_DECODE_WRONG_TYPE');
  });
  it('rejects an unknown descriptor', () => {
    expect(decodeCode('00 53 ff 45')).toBe('AMQP_DECODE_WRONG_TYPE');
  });

  const encodeThrows = (rec: object): unknown => {
    try {
      encodeComposite(new ByteWriter(8), rec as CompositeRecord);
    } catch (e) {
      return e;
    }
    return undefined;
  };
  it('refuses to encode a missing mandatory field before the last present one', () => {
    // begin without next-outgoing-id but with a later field present.
    expect(encodeThrows({ type: 'begin', incomingWindow: 1, outgoingWindow: 1 })).toBeInstanceOf(EncodeError);
  });
  // Mandatory fields after the last present one must be checked too: otherwise the encoder writes
  // a frame that every peer (and our own decoder) rejects with a missing-field decode error.
  it('refuses to encode begin with only remote-channel (next-outgoing-id and windows missing)', () => {
    expect(encodeThrows({ type: 'begin', remoteChannel: 1 })).toBeInstanceOf(EncodeError);
  });
  it('refuses to encode attach with only its name (handle and role missing)', () => {
    expect(encodeThrows({ type: 'attach', name: 'x' })).toBeInstanceOf(EncodeError);
  });
  it('refuses to encode flow with only next-incoming-id (windows and next-outgoing-id missing)', () => {
    expect(encodeThrows({ type: 'flow', nextIncomingId: 1 })).toBeInstanceOf(EncodeError);
  });
  it('refuses to encode a record with no fields when one is mandatory', () => {
    expect(encodeThrows({ type: 'open' })).toBeInstanceOf(EncodeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Messages (messaging 3.2): each section is a described value 00 53 <code> <body>.

const HEADER_HEX = '00 53 70 c0 02 01 41'; // header {durable true}
// properties {message-id 'm1', to 'q'}: a1 02 6d 31, user-id 40, a1 01 71; 8 bytes, count 3.
const PROPERTIES_HEX = '00 53 73 c0 09 03 a1 02 6d 31 40 a1 01 71';
// application-properties {k: 'v'}: string keys, map8 size 7 count 2.
const APP_PROPS_HEX = '00 53 74 c1 07 02 a1 01 6b a1 01 76';
const DATA_HEX = '00 53 75 a0 02 68 69'; // data "hi"

describe('known-answer messages', () => {
  it('encodes header + properties + application-properties + data', () => {
    const m: Message = {
      header: { durable: true },
      properties: { messageId: 'm1', to: 'q' },
      applicationProperties: { k: 'v' },
      body: Buffer.from('hi'),
    };
    expect(toHex(encodeMessage(m))).toBe(toHex(hex(HEADER_HEX + PROPERTIES_HEX + APP_PROPS_HEX + DATA_HEX)));
  });

  it('decodes header + properties + application-properties + data', () => {
    expect(decodeMessage(hex(HEADER_HEX + PROPERTIES_HEX + APP_PROPS_HEX + DATA_HEX))).toStrictEqual({
      header: { durable: true },
      properties: { messageId: 'm1', to: 'q' },
      applicationProperties: { k: 'v' },
      body: Buffer.from('hi'),
      bodyType: 'data',
    });
  });

  it('writes no header section when the message has no header', () => {
    const bytes = encodeMessage({ properties: { messageId: 'm1', to: 'q' }, body: Buffer.from('hi') });
    expect(toHex(bytes)).toBe(toHex(hex(PROPERTIES_HEX + DATA_HEX)));
    expect(toHex(encodeMessage({ body: Buffer.from('hi') }))).toBe(toHex(hex(DATA_HEX)));
  });

  it('writes nothing at all for an empty message', () => {
    expect(encodeMessage({}).length).toBe(0);
  });

  it('encodes an amqp-value body and message annotations with symbol keys', () => {
    // message-annotations {x-opt-a: 1}: a3 07 78 2d 6f 70 74 2d 61 (9) + 54 01 (2), size 12.
    const annotations = '00 53 72 c1 0c 02 a3 07 78 2d 6f 70 74 2d 61 54 01';
    const value = '00 53 77 a1 01 78';
    const m: Message = { messageAnnotations: { 'x-opt-a': 1 }, body: 'x' };
    expect(toHex(encodeMessage(m))).toBe(toHex(hex(annotations + value)));
    expect(decodeMessage(hex(annotations + value))).toStrictEqual({ ...m, bodyType: 'value' });
  });

  it('encodes several data sections and an amqp-sequence body', () => {
    const twoData = '00 53 75 a0 01 61 00 53 75 a0 00';
    expect(toHex(encodeMessage({ body: [Buffer.from('a'), Buffer.alloc(0)], bodyType: 'data' }))).toBe(
      toHex(hex(twoData)),
    );
    const seq = '00 53 76 c0 04 02 54 01 41 00 53 76 45';
    expect(toHex(encodeMessage({ body: [[1, true], []], bodyType: 'sequence' }))).toBe(toHex(hex(seq)));
    expect(decodeMessage(hex(seq))).toStrictEqual({ body: [[1, true], []], bodyType: 'sequence' });
  });

  it('decodes a header with a non-compact descriptor and a symbolic properties descriptor', () => {
    // 'amqp:properties:list' is 20 (0x14) bytes.
    const bytes = hex(
      '00 80 00 00 00 00 00 00 00 70 c0 02 01 41' +
        ' 00 a3 14 61 6d 71 70 3a 70 72 6f 70 65 72 74 69 65 73 3a 6c 69 73 74 c0 04 01 a1 01 61',
    );
    expect(decodeMessage(bytes)).toStrictEqual({ header: { durable: true }, properties: { messageId: 'a' } });
  });

  it('rejects sections out of order', () => {
    let err: unknown;
    try {
      decodeMessage(hex(PROPERTIES_HEX + HEADER_HEX));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
  });
});
