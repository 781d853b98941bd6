/**
 * Cross-implementation checks against rhea 3 (an independent AMQP 1.0 codec): messages,
 * performatives and primitive values encoded by amqp-one must read correctly in rhea, and rhea's
 * encodings must decode correctly in amqp-one.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  AmqpArray,
  AmqpSymbol,
  ByteWriter,
  DecodeError,
  Described,
  Typed,
  decodeComposite,
  decodeMessage,
  decodeValue,
  encode,
  encodeComposite,
  encodeMessage,
  uuidToString,
  type AmqpValue,
  type ElementType,
  type Message,
} from '../../src/codec/index.js';
import { amqpValue, canonicalDouble, decodedForm } from './arbitraries.js';

// rhea is CommonJS without bundled types for its lib/ modules: load it with require, typed loosely.
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');
const types: Any = require('rhea/lib/types.js');
const frames: Any = require('rhea/lib/frames.js');
const terminus: Any = require('rhea/lib/terminus.js');
const rmessage: Any = rhea.message;

/** Property runs; FC_RUNS=20000 for a longer hunt. */
const RUNS = Math.max(1, Math.round(Number(process.env.FC_RUNS ?? 500)));

// ------------------------------------------------------------------------------ helpers

function encodeRecord(rec: object): Buffer {
  const w = new ByteWriter(64);
  encodeComposite(w, rec as { type: string });
  return w.copy();
}

/** Wraps a performative body in an AMQP frame header (size, doff 2, type 0, channel). */
function frameOf(body: Buffer, channel = 0): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length, 0);
  h[4] = 2;
  h[5] = 0;
  h.writeUInt16BE(channel, 6);
  return Buffer.concat([h, body]);
}

/** Reads a frame amqp-one encoded with rhea's frame reader; returns rhea's performative object. */
function rheaReadPerformative(rec: object, channel = 0): Any {
  const frame = frames.read_frame(frameOf(encodeRecord(rec), channel));
  expect(frame.channel).toBe(channel);
  return frame.performative;
}

/** Encodes a performative with rhea and decodes its body with amqp-one. */
function fromRheaFrame(performative: Any): Record<string, unknown> {
  const buf: Buffer = frames.write_frame(frames.amqp_frame(0, performative));
  const { value, offset } = decodeComposite(buf, 8);
  expect(offset).toBe(buf.length);
  return value as unknown as Record<string, unknown>;
}

const u64 = (v: number | Buffer): bigint => (Buffer.isBuffer(v) ? v.readBigUInt64BE(0) : BigInt(v));
const i64 = (v: number | Buffer): bigint => (Buffer.isBuffer(v) ? v.readBigInt64BE(0) : BigInt(v));
const u64Bytes = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const i64Bytes = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};

/** Element type of an array by its element constructor (what amqp-one reports). */
// prettier-ignore
const ELEMENT_TYPE: Record<number, ElementType> = {
  0x41: 'boolean', 0x42: 'boolean', 0x56: 'boolean', 0x50: 'ubyte', 0x60: 'ushort', 0x43: 'uint', 0x52: 'uint',
  0x70: 'uint', 0x44: 'ulong', 0x53: 'ulong', 0x80: 'ulong', 0x51: 'byte', 0x61: 'short', 0x54: 'int', 0x71: 'int',
  0x55: 'long', 0x81: 'long', 0x72: 'float', 0x82: 'double', 0x74: 'decimal32', 0x84: 'decimal64', 0x94: 'decimal128',
  0x73: 'char', 0x83: 'timestamp', 0x98: 'uuid', 0xa0: 'binary', 0xb0: 'binary', 0xa1: 'string', 0xb1: 'string',
  0xa3: 'symbol', 0xb3: 'symbol', 0x45: 'list', 0xc0: 'list', 0xd0: 'list', 0xc1: 'map', 0xd1: 'map', 0xe0: 'array',
  0xf0: 'array',
};

/**
 * Converts what rhea's Reader returns (a tree of rhea Typed) to amqp-one's canonical form, by
 * rhea's type names only: an independent reading of the same bytes.
 */
function fromRhea(t: Any): AmqpValue {
  if (t.descriptor !== undefined) {
    const { descriptor, ...rest } = t;
    return new Described(
      fromRhea(descriptor),
      fromRhea(Object.assign(Object.create(Object.getPrototypeOf(t)), rest)),
    );
  }
  const v = t.value;
  switch (t.type.name as string) {
    case 'Null':
      return null;
    case 'True':
      return true;
    case 'False':
      return false;
    case 'Boolean':
      return v === 1;
    case 'Ubyte':
      return new Typed('ubyte', v);
    case 'Ushort':
      return new Typed('ushort', v);
    case 'Uint0':
    case 'SmallUint':
    case 'Uint':
      return new Typed('uint', v);
    case 'Ulong0':
    case 'SmallUlong':
    case 'Ulong':
      return new Typed('ulong', u64(v));
    case 'Byte':
      return new Typed('byte', v);
    case 'Short':
      return new Typed('short', v);
    case 'SmallInt':
    case 'Int':
      return v;
    case 'SmallLong':
    case 'Long':
      return i64(v);
    case 'Float':
      return new Typed('float', v);
    case 'Double':
      return canonicalDouble(v);
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
      return new Typed(t.type.name.toLowerCase(), Buffer.from(v));
    case 'CharUTF32':
      return new Typed('char', String.fromCodePoint(v));
    case 'Timestamp':
      return v as Date;
    case 'Uuid':
      return new Typed('uuid', uuidToString(v, 0));
    case 'Vbin8':
    case 'Vbin32':
      return Buffer.from(v);
    case 'Str8':
    case 'Str32':
      return v as string;
    case 'Sym8':
    case 'Sym32':
      return new AmqpSymbol(v);
    case 'List0':
    case 'List8':
    case 'List32':
      return (v as Any[]).map(fromRhea);
    case 'Map8':
    case 'Map32': {
      const m = new Map<AmqpValue, AmqpValue>();
      for (let i = 0; i < v.length; i += 2) m.set(fromRhea(v[i]), fromRhea(v[i + 1]));
      return decodedForm(m);
    }
    case 'Array8':
    case 'Array32': {
      const code: number = t.array_constructor.typecode;
      const d = t.array_constructor.descriptor;
      return new AmqpArray(
        ELEMENT_TYPE[code]!,
        (v as Any[]).map((x) => plainItem(fromRhea(x))),
        d === undefined ? undefined : fromRhea(d),
      );
    }
  }
  throw new Error(`rhea type ${t.type.name} not handled`);
}

/** A map decoded as a plain object (all its keys strings). */
function isObject(v: unknown): v is Record<string, AmqpValue> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** An array item's plain form, as amqp-one keeps it inside an AmqpArray. */
function plainItem(v: AmqpValue): AmqpValue {
  if (v instanceof Typed) return v.type === 'double' ? (v.value as number) : (v.value as AmqpValue);
  if (v instanceof AmqpSymbol) return v.value;
  return v;
}

/** rhea element typecodes per amqp-one element type (the explicit, full-width encodings). */
// prettier-ignore
const RHEA_CODE: Partial<Record<ElementType, number>> = {
  boolean: 0x56, ubyte: 0x50, ushort: 0x60, uint: 0x70, ulong: 0x80, byte: 0x51, short: 0x61, int: 0x71, long: 0x81,
  float: 0x72, double: 0x82, decimal32: 0x74, decimal64: 0x84, decimal128: 0x94, char: 0x73, timestamp: 0x83,
  uuid: 0x98, binary: 0xb0, string: 0xb1, symbol: 0xb3, list: 0xd0, map: 0xd1,
};

/** Converts an amqp-one canonical value to a rhea Typed tree for rhea's Writer. */
function toRhea(v: AmqpValue): Any {
  if (v === null || v === undefined) return types.Null();
  if (typeof v === 'boolean') return v ? types.True() : types.False();
  if (typeof v === 'number') return (v | 0) === v && !Object.is(v, -0) ? types.wrap_int(v) : types.Double(v);
  if (typeof v === 'bigint') return types.wrap_long(i64Bytes(v));
  if (typeof v === 'string') return types.wrap_string(v);
  if (v instanceof Uint8Array) return types.wrap_binary(Buffer.from(v));
  if (v instanceof Date) return types.Timestamp(v);
  if (v instanceof AmqpSymbol) return types.wrap_symbol(v.value);
  if (v instanceof Typed) {
    const x = v.value as Any;
    switch (v.type) {
      case 'ubyte':
        return types.Ubyte(x);
      case 'ushort':
        return types.Ushort(x);
      case 'uint':
        return types.wrap_uint(x);
      case 'ulong':
        return types.wrap_ulong(u64Bytes(x));
      case 'byte':
        return types.Byte(x);
      case 'short':
        return types.Short(x);
      case 'float':
        return types.Float(x);
      case 'double':
        return types.Double(x);
      case 'decimal32':
        return types.Decimal32(x);
      case 'decimal64':
        return types.Decimal64(x);
      case 'decimal128':
        return types.Decimal128(x);
      case 'char':
        return types.CharUTF32((x as string).codePointAt(0));
      case 'uuid':
        return types.Uuid(Buffer.from((x as string).replace(/-/g, ''), 'hex'));
      case 'timestamp':
        return types.Timestamp(i64Bytes(x));
    }
  }
  if (Array.isArray(v)) return v.length === 0 ? types.List0() : types.List32(v.map(toRhea));
  if (v instanceof Map) return types.Map32([...v].flatMap(([k, x]) => [toRhea(k), toRhea(x)]));
  if (isObject(v)) return types.Map32(Object.keys(v).flatMap((k) => [toRhea(k), toRhea(v[k])]));
  if (v instanceof Described) return types.described(toRhea(v.descriptor), toRhea(v.value));
  if (v instanceof AmqpArray) {
    const code = RHEA_CODE[v.elementType];
    if (code === undefined) throw new Error(`rhea cannot write arrays of ${v.elementType}`);
    const d = v.descriptor === undefined ? undefined : toRhea(v.descriptor);
    return types.Array32(
      v.items.map((x) => rheaItem(v.elementType, x)),
      code,
      d,
    );
  }
  throw new Error(`cannot convert ${String(v)} for rhea`);
}

/** An array item as rhea's write_value wants it for the element type's constructor. */
function rheaItem(t: ElementType, x: AmqpValue): Any {
  switch (t) {
    case 'boolean':
      return x ? 1 : 0;
    case 'ulong':
      return u64Bytes(x as bigint);
    case 'long':
      return i64Bytes(x as bigint);
    case 'timestamp':
      return x instanceof Date ? x : i64Bytes(x as bigint);
    case 'char':
      return (x as string).codePointAt(0);
    case 'uuid':
      return Buffer.from((x as string).replace(/-/g, ''), 'hex');
    case 'list':
      return (x as AmqpValue[]).map(toRhea);
    case 'map':
      if (isObject(x)) return Object.keys(x).flatMap((k) => [toRhea(k), toRhea(x[k])]);
      return [...(x as Map<AmqpValue, AmqpValue>)].flatMap(([k, y]) => [toRhea(k), toRhea(y)]);
    default:
      return x;
  }
}

/**
 * What rhea can carry faithfully: no described value directly inside another (rhea keeps only the
 * first descriptor), no timestamps outside ±2^53 ms (rhea reads them as Dates), and for rhea's
 * writer no arrays of arrays (it cannot write a nested array's constructor).
 */
function rheaCanCarry(v: AmqpValue, writer: boolean): boolean {
  if (v instanceof Typed) return v.type !== 'timestamp';
  if (Array.isArray(v)) return v.every((x) => rheaCanCarry(x, writer));
  if (v instanceof Map) return [...v].every(([k, x]) => rheaCanCarry(k, writer) && rheaCanCarry(x, writer));
  if (isObject(v)) return Object.keys(v).every((k) => rheaCanCarry(v[k], writer));
  if (v instanceof Described) {
    return (
      !(v.value instanceof Described) && rheaCanCarry(v.descriptor, writer) && rheaCanCarry(v.value, writer)
    );
  }
  if (v instanceof AmqpArray) {
    if (writer && v.elementType === 'array') return false;
    if (v.descriptor !== undefined && !rheaCanCarry(v.descriptor, writer)) return false;
    if (v.elementType === 'timestamp' && v.items.some((x) => !(x instanceof Date))) return false;
    return v.items.every((x) => rheaCanCarry(x, writer));
  }
  return true;
}

// ------------------------------------------------------------------------------ messages

describe('messages: amqp-one → rhea', () => {
  const created = new Date(1_700_000_000_123);
  const expiry = new Date(1_800_000_000_000);
  const full: Message = {
    header: { durable: true, priority: 7, ttl: 60_000, firstAcquirer: true, deliveryCount: 3 },
    deliveryAnnotations: { 'x-opt-lock-token': 'tok' },
    messageAnnotations: {
      'x-opt-partition-key': 'pk',
      'x-opt-sequence-number': 42n,
      'x-opt-enqueued': created,
    },
    properties: {
      messageId: 'msg-1',
      userId: Buffer.from('user'),
      to: '/queue/a',
      subject: 'subj',
      replyTo: '/queue/reply',
      correlationId: new Typed('ulong', 99n),
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      absoluteExpiryTime: expiry,
      creationTime: created,
      groupId: 'g',
      groupSequence: 12,
      replyToGroupId: 'rg',
    },
    applicationProperties: { str: 'v', int: -5, big: 1n << 40n, dbl: 2.5, yes: true, none: null },
    body: Buffer.from('{"a":1}'),
    footer: { 'x-checksum': 'abc' },
  };

  it('properties, header, annotations, application properties, data body and footer', () => {
    const r = rmessage.decode(encodeMessage(full));
    expect(r.durable).toBe(true);
    expect(r.priority).toBe(7);
    expect(r.ttl).toBe(60_000);
    expect(r.first_acquirer).toBe(true);
    expect(r.delivery_count).toBe(3);
    expect(r.delivery_annotations).toStrictEqual({ 'x-opt-lock-token': 'tok' });
    expect(r.message_annotations['x-opt-partition-key']).toBe('pk');
    expect(r.message_annotations['x-opt-sequence-number']).toBe(42);
    expect(r.message_annotations['x-opt-enqueued']).toStrictEqual(created);
    expect(r.message_id).toBe('msg-1');
    expect(Buffer.from(r.user_id).toString()).toBe('user');
    expect(r.to).toBe('/queue/a');
    expect(r.subject).toBe('subj');
    expect(r.reply_to).toBe('/queue/reply');
    expect(r.correlation_id).toBe(99);
    expect(r.content_type).toBe('application/json');
    expect(r.content_encoding).toBe('utf-8');
    expect(r.absolute_expiry_time).toStrictEqual(expiry);
    expect(r.creation_time).toStrictEqual(created);
    expect(r.group_id).toBe('g');
    expect(r.group_sequence).toBe(12);
    expect(r.reply_to_group_id).toBe('rg');
    expect(r.application_properties).toStrictEqual({
      str: 'v',
      int: -5,
      big: 2 ** 40,
      dbl: 2.5,
      yes: true,
      none: null,
    });
    expect(r.body.typecode).toBe(0x75);
    expect(Buffer.from(r.body.content).toString()).toBe('{"a":1}');
    expect(r.footer).toStrictEqual({ 'x-checksum': 'abc' });
  });

  it('amqp-value bodies', () => {
    const cases: [AmqpValue, unknown][] = [
      ['hello', 'hello'],
      [123, 123],
      [-1.25, -1.25],
      [null, null],
      [true, true],
      [
        [1, 'two', [3]],
        [1, 'two', [3]],
      ],
      [
        new Map<AmqpValue, AmqpValue>([
          ['k', 'v'],
          ['n', 1],
        ]),
        { k: 'v', n: 1 },
      ],
      [new AmqpSymbol('sym'), 'sym'],
      [Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])],
    ];
    for (const [body, expected] of cases) {
      const r = rmessage.decode(encodeMessage({ body, bodyType: 'value' }));
      expect(r.body).toStrictEqual(expected);
    }
  });

  it('several data sections and amqp-sequence sections', () => {
    const data = rmessage.decode(
      encodeMessage({ body: [Buffer.from('a'), Buffer.from('bc')], bodyType: 'data' }),
    );
    expect(data.body.typecode).toBe(0x75);
    expect(data.body.multiple).toBe(true);
    expect(data.body.content.map((b: Buffer) => b.toString())).toStrictEqual(['a', 'bc']);
    const seq = rmessage.decode(encodeMessage({ body: [[1, 'x'], [true]], bodyType: 'sequence' }));
    expect(seq.body.typecode).toBe(0x76);
    expect(seq.body.content).toStrictEqual([[1, 'x'], [true]]);
  });

  it('a uuid message id and a binary correlation id', () => {
    const id = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const r = rmessage.decode(
      encodeMessage({
        properties: { messageId: new Typed('uuid', id), correlationId: Buffer.from('corr') },
        body: 'x',
      }),
    );
    expect(Buffer.from(r.message_id).toString('hex')).toBe(id.replace(/-/g, ''));
    expect(Buffer.from(r.correlation_id).toString()).toBe('corr');
  });

  it('arbitrary amqp-value bodies read back the same in rhea', () => {
    fc.assert(
      fc.property(
        amqpValue.filter((v) => !(v instanceof Described) && rheaCanCarry(v, false)),
        (v) => {
          const bytes = encodeMessage({ body: v, bodyType: 'value' });
          const reader = new types.Reader(bytes);
          const section = reader.read();
          expect(reader.remaining()).toBe(0);
          expect(fromRhea(section)).toStrictEqual(new Described(new Typed('ulong', 0x77n), v));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('messages: rhea → amqp-one', () => {
  it('properties, header, annotations, application properties, amqp-value body and footer', () => {
    const created = new Date(1_700_000_000_000);
    const bytes: Buffer = rmessage.encode({
      durable: true,
      priority: 3,
      ttl: 5000,
      first_acquirer: false,
      delivery_count: 2,
      delivery_annotations: { 'x-d': 'd' },
      message_annotations: { 'x-opt-a': 'a', 'x-opt-n': 7 },
      message_id: 'id-9',
      user_id: Buffer.from('me'),
      to: 'dest',
      subject: 's',
      reply_to: 'back',
      correlation_id: 77,
      content_type: 'text/plain',
      content_encoding: 'gzip',
      absolute_expiry_time: new Date(1_900_000_000_000),
      creation_time: created,
      group_id: 'grp',
      group_sequence: 4,
      reply_to_group_id: 'rgrp',
      application_properties: { s: 'str', n: -3, f: 0.5, b: false },
      body: { nested: ['list', 1] },
    });
    const m = decodeMessage(bytes);
    expect(m.header).toStrictEqual({
      durable: true,
      priority: 3,
      ttl: 5000,
      firstAcquirer: false,
      deliveryCount: 2,
    });
    expect(m.deliveryAnnotations).toStrictEqual({ 'x-d': 'd' });
    expect(m.messageAnnotations).toStrictEqual({ 'x-opt-a': 'a', 'x-opt-n': new Typed('uint', 7) });
    expect(m.properties).toStrictEqual({
      messageId: 'id-9',
      userId: Buffer.from('me'),
      to: 'dest',
      subject: 's',
      replyTo: 'back',
      correlationId: new Typed('ulong', 77n),
      contentType: 'text/plain',
      contentEncoding: 'gzip',
      absoluteExpiryTime: new Date(1_900_000_000_000),
      creationTime: created,
      groupId: 'grp',
      groupSequence: 4,
      replyToGroupId: 'rgrp',
    });
    expect(m.applicationProperties).toStrictEqual({ s: 'str', n: -3, f: 0.5, b: false });
    expect(m.bodyType).toBe('value');
    // rhea's object body comes back as a plain object, as rhea itself gives it.
    expect(m.body).toStrictEqual({ nested: ['list', new Typed('uint', 1)] });
  });

  it("rhea's footer comes before the body (against spec 3.2): amqp-one refuses the order", () => {
    // rhea 3.0.5 registers the footer's writer before the body's, so it writes them swapped.
    const bytes: Buffer = rmessage.encode({ body: 'b', footer: { 'x-f': 'foot' } });
    expect(bytes.subarray(-6).toString('hex')).toBe('005377a10162');
    let err: unknown;
    try {
      decodeMessage(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('AMQP_DECODE_INVALID_VALUE');
  });

  it('a minimal rhea message (empty header and properties lists) decodes', () => {
    const m = decodeMessage(rmessage.encode({ body: 'hi' }));
    expect(m.body).toBe('hi');
    expect(m.bodyType).toBe('value');
  });

  it('data, several data sections and sequences', () => {
    const one = decodeMessage(rmessage.encode({ body: rmessage.data_section(Buffer.from('raw')) }));
    expect(one.bodyType).toBe('data');
    expect(one.body).toStrictEqual(Buffer.from('raw'));
    const many = decodeMessage(
      rmessage.encode({ body: rmessage.data_sections([Buffer.from('a'), Buffer.alloc(300, 7)]) }),
    );
    expect(many.bodyType).toBe('data');
    expect(many.body).toStrictEqual([Buffer.from('a'), Buffer.alloc(300, 7)]);
    const seq = decodeMessage(rmessage.encode({ body: rmessage.sequence_sections([['a', -1], []]) }));
    expect(seq.bodyType).toBe('sequence');
    expect(seq.body).toStrictEqual([['a', -1], []]);
  });

  it('a uuid message id and a binary correlation id', () => {
    const raw = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const m = decodeMessage(
      rmessage.encode({ message_id: raw, correlation_id: types.wrap_binary(Buffer.from('c')), body: null }),
    );
    expect(m.properties?.messageId).toStrictEqual(new Typed('uuid', '00112233-4455-6677-8899-aabbccddeeff'));
    expect(m.properties?.correlationId).toStrictEqual(Buffer.from('c'));
  });

  it('arbitrary amqp-value bodies written by rhea decode the same in amqp-one', () => {
    fc.assert(
      fc.property(
        // (rhea puts its section descriptor on the body's own Typed: a described body would lose its own)
        amqpValue.filter((v) => !(v instanceof Described) && rheaCanCarry(v, true)),
        (v) => {
          const bytes: Buffer = rmessage.encode({ body: { toRheaTyped: () => toRhea(v) } });
          const m = decodeMessage(bytes);
          expect(m.bodyType).toBe('value');
          expect(m.body).toStrictEqual(v);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------------------ performatives

describe('performatives: amqp-one → rhea frame reader', () => {
  it('open', () => {
    const p = rheaReadPerformative({
      type: 'open',
      containerId: 'container-1',
      hostname: 'example.net',
      maxFrameSize: 65536,
      channelMax: 255,
      idleTimeOut: 30_000,
      outgoingLocales: ['en-US'],
      offeredCapabilities: ['ANONYMOUS-RELAY', 'x'],
      desiredCapabilities: ['y'],
      properties: { product: 'amqp-one', version: 1 },
    });
    expect(p.constructor.toString()).toBe('open#10');
    expect(p.container_id).toBe('container-1');
    expect(p.hostname).toBe('example.net');
    expect(p.max_frame_size).toBe(65536);
    expect(p.channel_max).toBe(255);
    expect(p.idle_time_out).toBe(30_000);
    expect(p.outgoing_locales).toStrictEqual(['en-US']);
    expect(p.offered_capabilities).toStrictEqual(['ANONYMOUS-RELAY', 'x']);
    expect(p.desired_capabilities).toStrictEqual(['y']);
    expect(p.properties).toStrictEqual({ product: 'amqp-one', version: 1 });
  });

  it('begin', () => {
    const p = rheaReadPerformative(
      {
        type: 'begin',
        remoteChannel: 4,
        nextOutgoingId: 0,
        incomingWindow: 2048,
        outgoingWindow: 0xffffffff,
        handleMax: 63,
      },
      4,
    );
    expect(p.constructor.toString()).toBe('begin#11');
    expect(p.remote_channel).toBe(4);
    expect(p.next_outgoing_id).toBe(0);
    expect(p.incoming_window).toBe(2048);
    expect(p.outgoing_window).toBe(0xffffffff);
    expect(p.handle_max).toBe(63);
  });

  it('attach with source and target', () => {
    const p = rheaReadPerformative({
      type: 'attach',
      name: 'sender-link',
      handle: 1,
      role: false,
      sndSettleMode: 2,
      rcvSettleMode: 0,
      source: {
        type: 'source',
        address: 'src',
        durable: 1,
        expiryPolicy: 'never',
        timeout: 10,
        dynamic: false,
        outcomes: ['amqp:accepted:list'],
      },
      target: { type: 'target', address: 'tgt', capabilities: ['queue'] },
      initialDeliveryCount: 0,
      maxMessageSize: 1n << 20n,
      offeredCapabilities: ['cap'],
      properties: { 'com.example': 'x' },
    });
    expect(p.constructor.toString()).toBe('attach#12');
    expect(p.name).toBe('sender-link');
    expect(p.handle).toBe(1);
    expect(p.role).toBe(false);
    expect(p.snd_settle_mode).toBe(2);
    expect(p.rcv_settle_mode).toBe(0);
    const source = terminus.unwrap(p.source);
    expect(source.address).toBe('src');
    expect(source.durable).toBe(1);
    expect(source.expiry_policy).toBe('never');
    expect(source.timeout).toBe(10);
    expect(source.dynamic).toBe(false);
    expect(source.outcomes).toStrictEqual(['amqp:accepted:list']);
    const target = terminus.unwrap(p.target);
    expect(target.address).toBe('tgt');
    expect(target.capabilities).toStrictEqual(['queue']);
    expect(p.initial_delivery_count).toBe(0);
    expect(p.max_message_size).toBe(1 << 20);
    expect(p.offered_capabilities).toStrictEqual(['cap']);
    expect(p.properties).toStrictEqual({ 'com.example': 'x' });
  });

  it('flow', () => {
    const p = rheaReadPerformative({
      type: 'flow',
      nextIncomingId: 10,
      incomingWindow: 100,
      nextOutgoingId: 20,
      outgoingWindow: 200,
      handle: 3,
      deliveryCount: 5,
      linkCredit: 50,
      available: 7,
      drain: true,
      echo: false,
      properties: { k: 'v' },
    });
    expect(p.constructor.toString()).toBe('flow#13');
    expect([p.next_incoming_id, p.incoming_window, p.next_outgoing_id, p.outgoing_window]).toStrictEqual([
      10, 100, 20, 200,
    ]);
    expect([p.handle, p.delivery_count, p.link_credit, p.available]).toStrictEqual([3, 5, 50, 7]);
    expect(p.drain).toBe(true);
    expect(p.echo).toBe(false);
    expect(p.properties).toStrictEqual({ k: 'v' });
  });

  it('transfer with a delivery state', () => {
    const p = rheaReadPerformative({
      type: 'transfer',
      handle: 2,
      deliveryId: 1000,
      deliveryTag: Buffer.from([0, 1, 2, 3]),
      messageFormat: 0,
      settled: false,
      more: true,
      rcvSettleMode: 1,
      state: { type: 'accepted' },
      resume: false,
      aborted: false,
      batchable: true,
    });
    expect(p.constructor.toString()).toBe('transfer#14');
    expect(p.handle).toBe(2);
    expect(p.delivery_id).toBe(1000);
    expect(Buffer.from(p.delivery_tag)).toStrictEqual(Buffer.from([0, 1, 2, 3]));
    expect(p.message_format).toBe(0);
    expect(p.settled).toBe(false);
    expect(p.more).toBe(true);
    expect(p.rcv_settle_mode).toBe(1);
    expect(p.resume).toBe(false);
    expect(p.aborted).toBe(false);
    expect(p.batchable).toBe(true);
    expect(rmessage.is_accepted(p.value[7])).toBe(true);
  });

  it('disposition with accepted, rejected and modified outcomes', () => {
    const accepted = rheaReadPerformative({
      type: 'disposition',
      role: true,
      first: 1,
      last: 9,
      settled: true,
      state: { type: 'accepted' },
    });
    expect(accepted.constructor.toString()).toBe('disposition#15');
    expect([accepted.role, accepted.first, accepted.last, accepted.settled]).toStrictEqual([
      true,
      1,
      9,
      true,
    ]);
    expect(rmessage.is_accepted(accepted.state)).toBe(true);

    const rejected = rheaReadPerformative({
      type: 'disposition',
      role: true,
      first: 3,
      state: {
        type: 'rejected',
        error: { type: 'error', condition: 'amqp:not-found', description: 'no such node', info: { n: 1 } },
      },
      batchable: false,
    });
    expect(rmessage.is_rejected(rejected.state)).toBe(true);
    const err = rmessage.unwrap_outcome(rejected.state).error;
    expect(err.condition).toBe('amqp:not-found');
    expect(err.description).toBe('no such node');
    expect(err.info).toStrictEqual({ n: 1 });

    const modified = rheaReadPerformative({
      type: 'disposition',
      role: false,
      first: 4,
      state: {
        type: 'modified',
        deliveryFailed: true,
        undeliverableHere: false,
        messageAnnotations: { 'x-opt-m': 'm' },
      },
    });
    const mod = rmessage.unwrap_outcome(modified.state);
    expect(rmessage.is_modified(modified.state)).toBe(true);
    expect(mod.delivery_failed).toBe(true);
    expect(mod.undeliverable_here).toBe(false);
    expect(mod.message_annotations).toStrictEqual({ 'x-opt-m': 'm' });
  });

  it('detach with an error', () => {
    const p = rheaReadPerformative({
      type: 'detach',
      handle: 7,
      closed: true,
      error: {
        type: 'error',
        condition: 'amqp:link:detach-forced',
        description: 'forced',
        info: { reason: 'test' },
      },
    });
    expect(p.constructor.toString()).toBe('detach#16');
    expect(p.handle).toBe(7);
    expect(p.closed).toBe(true);
    expect(p.error.condition).toBe('amqp:link:detach-forced');
    expect(p.error.description).toBe('forced');
    expect(p.error.info).toStrictEqual({ reason: 'test' });
  });

  it('end and close, with and without an error', () => {
    const end = rheaReadPerformative({ type: 'end' });
    expect(end.constructor.toString()).toBe('end#17');
    expect(end.error).toBeUndefined();
    const close = rheaReadPerformative({
      type: 'close',
      error: { type: 'error', condition: 'amqp:connection:forced', description: 'bye' },
    });
    expect(close.constructor.toString()).toBe('close#18');
    expect(close.error.condition).toBe('amqp:connection:forced');
    expect(close.error.description).toBe('bye');
    const plain = rheaReadPerformative({ type: 'close' });
    expect(plain.error).toBeUndefined();
  });

  it('SASL frames', () => {
    const read = (rec: object): Any => {
      const body = encodeRecord(rec);
      const f = frameOf(body);
      f[5] = 1; // SASL frame type
      return frames.read_frame(f).performative;
    };
    expect(
      read({ type: 'sasl-mechanisms', saslServerMechanisms: ['PLAIN', 'ANONYMOUS'] }).sasl_server_mechanisms,
    ).toStrictEqual(['PLAIN', 'ANONYMOUS']);
    const init = read({
      type: 'sasl-init',
      mechanism: 'PLAIN',
      initialResponse: Buffer.from('\0u\0p'),
      hostname: 'h',
    });
    expect(init.mechanism).toBe('PLAIN');
    expect(Buffer.from(init.initial_response)).toStrictEqual(Buffer.from('\0u\0p'));
    expect(init.hostname).toBe('h');
    expect(read({ type: 'sasl-outcome', code: 0 }).code).toBe(0);
  });
});

describe('performatives: rhea → amqp-one decodeComposite', () => {
  it('open', () => {
    const rec = fromRheaFrame(
      frames.open({
        container_id: 'rhea-c',
        hostname: 'host',
        max_frame_size: 4096,
        channel_max: 10,
        idle_time_out: 1000,
        offered_capabilities: ['a', 'b'],
        properties: { p: 'v' },
      }),
    );
    expect(rec).toStrictEqual({
      type: 'open',
      containerId: 'rhea-c',
      hostname: 'host',
      maxFrameSize: 4096,
      channelMax: 10,
      idleTimeOut: 1000,
      offeredCapabilities: ['a', 'b'],
      properties: { p: 'v' },
    });
  });

  it('begin', () => {
    const rec = fromRheaFrame(
      frames.begin({
        remote_channel: 1,
        next_outgoing_id: 5,
        incoming_window: 100,
        outgoing_window: 200,
        handle_max: 9,
      }),
    );
    expect(rec).toStrictEqual({
      type: 'begin',
      remoteChannel: 1,
      nextOutgoingId: 5,
      incomingWindow: 100,
      outgoingWindow: 200,
      handleMax: 9,
    });
  });

  it('attach with source (filter, outcomes) and target', () => {
    const rec = fromRheaFrame(
      frames.attach({
        name: 'recv',
        handle: 0,
        role: true,
        snd_settle_mode: 1,
        rcv_settle_mode: 0,
        source: terminus
          .source({
            address: 'queue-a',
            durable: 2,
            expiry_policy: 'link-detach',
            dynamic: false,
            filter: { sel: types.wrap_described("a = 'b'", 'apache.org:selector-filter:string') },
            outcomes: ['amqp:accepted:list', 'amqp:rejected:list'],
          })
          .described(),
        target: terminus.target({ address: 'queue-b', capabilities: ['topic'] }).described(),
        initial_delivery_count: 3,
        max_message_size: 1024,
        desired_capabilities: ['d'],
      }),
    );
    expect(rec).toStrictEqual({
      type: 'attach',
      name: 'recv',
      handle: 0,
      role: true,
      sndSettleMode: 1,
      rcvSettleMode: 0,
      source: {
        type: 'source',
        address: 'queue-a',
        durable: 2,
        expiryPolicy: 'link-detach',
        dynamic: false,
        filter: { sel: new Described(new AmqpSymbol('apache.org:selector-filter:string'), "a = 'b'") },
        outcomes: ['amqp:accepted:list', 'amqp:rejected:list'],
      },
      target: { type: 'target', address: 'queue-b', capabilities: ['topic'] },
      initialDeliveryCount: 3,
      maxMessageSize: 1024,
      desiredCapabilities: ['d'],
    });
  });

  it('flow', () => {
    const rec = fromRheaFrame(
      frames.flow({
        next_incoming_id: 1,
        incoming_window: 2,
        next_outgoing_id: 3,
        outgoing_window: 4,
        handle: 5,
        delivery_count: 6,
        link_credit: 7,
        available: 8,
        drain: true,
        echo: true,
      }),
    );
    expect(rec).toStrictEqual({
      type: 'flow',
      nextIncomingId: 1,
      incomingWindow: 2,
      nextOutgoingId: 3,
      outgoingWindow: 4,
      handle: 5,
      deliveryCount: 6,
      linkCredit: 7,
      available: 8,
      drain: true,
      echo: true,
    });
  });

  it('transfer', () => {
    const rec = fromRheaFrame(
      frames.transfer({
        handle: 1,
        delivery_id: 2,
        delivery_tag: Buffer.from('tag'),
        message_format: 0,
        settled: true,
        more: false,
      }),
    );
    expect(rec).toStrictEqual({
      type: 'transfer',
      handle: 1,
      deliveryId: 2,
      deliveryTag: Buffer.from('tag'),
      messageFormat: 0,
      settled: true,
      more: false,
    });
  });

  it('disposition with accepted, rejected (error) and released states', () => {
    expect(
      fromRheaFrame(
        frames.disposition({
          role: true,
          first: 1,
          last: 2,
          settled: true,
          state: rmessage.accepted().described(),
        }),
      ),
    ).toStrictEqual({
      type: 'disposition',
      role: true,
      first: 1,
      last: 2,
      settled: true,
      state: { type: 'accepted' },
    });
    expect(
      fromRheaFrame(
        frames.disposition({
          role: true,
          first: 5,
          state: rmessage
            .rejected({ error: { condition: 'amqp:internal-error', description: 'oops' } })
            .described(),
        }),
      ),
    ).toStrictEqual({
      type: 'disposition',
      role: true,
      first: 5,
      state: {
        type: 'rejected',
        error: { type: 'error', condition: 'amqp:internal-error', description: 'oops' },
      },
    });
    expect(
      fromRheaFrame(frames.disposition({ role: false, first: 0, state: rmessage.released().described() })),
    ).toStrictEqual({
      type: 'disposition',
      role: false,
      first: 0,
      state: { type: 'released' },
    });
    expect(
      fromRheaFrame(
        frames.disposition({
          role: false,
          first: 0,
          state: rmessage
            .modified({ delivery_failed: true, message_annotations: { 'x-a': 'b' } })
            .described(),
        }),
      ),
    ).toStrictEqual({
      type: 'disposition',
      role: false,
      first: 0,
      state: { type: 'modified', deliveryFailed: true, messageAnnotations: { 'x-a': 'b' } },
    });
  });

  it('detach with an error (info map)', () => {
    const rec = fromRheaFrame(
      frames.detach({
        handle: 3,
        closed: true,
        error: { condition: 'amqp:link:stolen', description: 'taken', info: { by: 'other' } },
      }),
    );
    // rhea writes error.info as a map with string keys (its 'map' type); amqp-one reads fields, keyed by symbols.
    expect(rec).toMatchObject({
      type: 'detach',
      handle: 3,
      closed: true,
      error: { type: 'error', condition: 'amqp:link:stolen', description: 'taken' },
    });
    const info = (rec.error as { info: unknown }).info;
    expect(info instanceof Map ? Object.fromEntries(info) : info).toStrictEqual({ by: 'other' });
  });

  it('end and close with an error', () => {
    expect(fromRheaFrame(frames.end({}))).toStrictEqual({ type: 'end' });
    expect(
      fromRheaFrame(frames.close({ error: { condition: 'amqp:connection:forced', description: 'x' } })),
    ).toStrictEqual({
      type: 'close',
      error: { type: 'error', condition: 'amqp:connection:forced', description: 'x' },
    });
  });

  it('SASL frames', () => {
    const sasl = (p: Any): unknown => {
      const buf: Buffer = frames.write_frame(frames.sasl_frame(p));
      return decodeComposite(buf, 8).value;
    };
    expect(sasl(frames.sasl_mechanisms({ sasl_server_mechanisms: ['PLAIN'] }))).toStrictEqual({
      type: 'sasl-mechanisms',
      saslServerMechanisms: ['PLAIN'],
    });
    expect(sasl(frames.sasl_init({ mechanism: 'ANONYMOUS', hostname: 'h' }))).toStrictEqual({
      type: 'sasl-init',
      mechanism: 'ANONYMOUS',
      hostname: 'h',
    });
    expect(sasl(frames.sasl_outcome({ code: 1, additional_data: Buffer.from('no') }))).toStrictEqual({
      type: 'sasl-outcome',
      code: 1,
      additionalData: Buffer.from('no'),
    });
  });
});

// ------------------------------------------------------------------------------ primitives

describe('primitive values: amqp-one → rhea reader', () => {
  const read = (v: AmqpValue): Any => {
    const reader = new types.Reader(encode(v));
    const t = reader.read();
    expect(reader.remaining()).toBe(0);
    return t;
  };
  const cases: [string, AmqpValue, string, unknown][] = [
    ['null', null, 'Null', null],
    ['true', true, 'True', true],
    ['false', false, 'False', false],
    ['ubyte', new Typed('ubyte', 200), 'Ubyte', 200],
    ['ushort', new Typed('ushort', 65535), 'Ushort', 65535],
    ['uint 0', new Typed('uint', 0), 'Uint0', 0],
    ['small uint', new Typed('uint', 255), 'SmallUint', 255],
    ['uint', new Typed('uint', 0xffffffff), 'Uint', 0xffffffff],
    ['ulong 0', new Typed('ulong', 0n), 'Ulong0', 0],
    ['small ulong', new Typed('ulong', 17n), 'SmallUlong', 17],
    ['ulong', new Typed('ulong', 2n ** 40n), 'Ulong', 2 ** 40],
    ['byte', new Typed('byte', -128), 'Byte', -128],
    ['short', new Typed('short', -32768), 'Short', -32768],
    ['small int', -7, 'SmallInt', -7],
    ['int', 0x7fffffff, 'Int', 0x7fffffff],
    ['small long', -100n, 'SmallLong', -100],
    ['long', -(2n ** 40n), 'Long', -(2 ** 40)],
    ['float', new Typed('float', 1.5), 'Float', 1.5],
    ['double', 0.1, 'Double', 0.1],
    ['integral double', new Typed('double', 3), 'Double', 3],
    ['char', new Typed('char', '€'), 'CharUTF32', 0x20ac],
    ['timestamp', new Date(1_234_567_890_123), 'Timestamp', new Date(1_234_567_890_123)],
    ['string', 'héllo', 'Str8', 'héllo'],
    ['long string', 'x'.repeat(300), 'Str32', 'x'.repeat(300)],
    ['symbol', new AmqpSymbol('amqp:accepted:list'), 'Sym8', 'amqp:accepted:list'],
    ['long symbol', new AmqpSymbol('s'.repeat(256)), 'Sym32', 's'.repeat(256)],
  ];
  for (const [name, v, typeName, expected] of cases) {
    it(name, () => {
      const t = read(v);
      expect(t.type.name).toBe(typeName);
      expect(t.value).toStrictEqual(expected);
    });
  }

  it('binary, uuid and decimals (raw bytes)', () => {
    expect(read(Buffer.from([1, 2])).type.name).toBe('Vbin8');
    expect(Buffer.from(read(Buffer.alloc(256, 9)).value)).toStrictEqual(Buffer.alloc(256, 9));
    expect(read(Buffer.alloc(256, 9)).type.name).toBe('Vbin32');
    const uuid = read(new Typed('uuid', '01234567-89ab-cdef-0123-456789abcdef'));
    expect(uuid.type.name).toBe('Uuid');
    expect(Buffer.from(uuid.value).toString('hex')).toBe('0123456789abcdef0123456789abcdef');
    for (const [type, width, name] of [
      ['decimal32', 4, 'Decimal32'],
      ['decimal64', 8, 'Decimal64'],
      ['decimal128', 16, 'Decimal128'],
    ] as const) {
      const bytes = Buffer.from(Array.from({ length: width }, (_, i) => i + 1));
      const t = read(new Typed(type, bytes));
      expect(t.type.name).toBe(name);
      expect(Buffer.from(t.value)).toStrictEqual(bytes);
    }
  });

  it('list, map, array and described', () => {
    const list = read([1, 'a', null]);
    expect(list.type.name).toBe('List8');
    expect(list.value.map((x: Any) => x.value)).toStrictEqual([1, 'a', null]);
    expect(read([]).type.name).toBe('List0');
    const map = read(new Map<AmqpValue, AmqpValue>([['k', 1]]));
    expect(map.type.name).toBe('Map8');
    expect(map.value.map((x: Any) => x.value)).toStrictEqual(['k', 1]);
    const arr = read(new AmqpArray('symbol', ['a', 'b']));
    expect(arr.type.name).toBe('Array8');
    expect(arr.array_constructor.typecode).toBe(0xa3);
    expect(arr.value.map((x: Any) => x.value)).toStrictEqual(['a', 'b']);
    const described = read(new Described(new AmqpSymbol('com.example:thing'), 'v'));
    expect(described.descriptor.value).toBe('com.example:thing');
    expect(described.value).toBe('v');
  });

  it('arbitrary values read back the same in rhea', () => {
    fc.assert(
      fc.property(
        amqpValue.filter((v) => rheaCanCarry(v, false)),
        (v) => {
          expect(fromRhea(read(v))).toStrictEqual(v);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('primitive values: rhea writer → amqp-one', () => {
  const write = (t: Any): AmqpValue => {
    const w = new types.Writer();
    w.write(t);
    return decodeValue(w.toBuffer());
  };

  it('each primitive type', () => {
    expect(write(types.Null())).toBe(null);
    expect(write(types.True())).toBe(true);
    expect(write(types.False())).toBe(false);
    expect(write(types.Boolean(1))).toBe(true);
    expect(write(types.Boolean(0))).toBe(false);
    expect(write(types.Ubyte(255))).toStrictEqual(new Typed('ubyte', 255));
    expect(write(types.Ushort(1000))).toStrictEqual(new Typed('ushort', 1000));
    expect(write(types.Uint0())).toStrictEqual(new Typed('uint', 0));
    expect(write(types.SmallUint(9))).toStrictEqual(new Typed('uint', 9));
    expect(write(types.Uint(0xfffffffe))).toStrictEqual(new Typed('uint', 0xfffffffe));
    expect(write(types.Ulong0())).toStrictEqual(new Typed('ulong', 0n));
    expect(write(types.SmallUlong(3))).toStrictEqual(new Typed('ulong', 3n));
    expect(write(types.Ulong(2 ** 50))).toStrictEqual(new Typed('ulong', 2n ** 50n));
    expect(write(types.Ulong(Buffer.from('ffffffffffffffff', 'hex')))).toStrictEqual(
      new Typed('ulong', 2n ** 64n - 1n),
    );
    expect(write(types.Byte(-1))).toStrictEqual(new Typed('byte', -1));
    expect(write(types.Short(-300))).toStrictEqual(new Typed('short', -300));
    expect(write(types.SmallInt(-128))).toBe(-128);
    expect(write(types.Int(-70000))).toBe(-70000);
    expect(write(types.SmallLong(5))).toBe(5n);
    expect(write(types.Long(-(2 ** 40)))).toBe(-(2n ** 40n));
    expect(write(types.Long(Buffer.from('8000000000000000', 'hex')))).toBe(-(2n ** 63n));
    expect(write(types.Float(0.25))).toStrictEqual(new Typed('float', 0.25));
    expect(write(types.Double(1e-300))).toBe(1e-300);
    expect(write(types.Double(4))).toStrictEqual(new Typed('double', 4));
    expect(write(types.CharUTF32(0x1f600))).toStrictEqual(new Typed('char', '😀'));
    expect(write(types.Timestamp(new Date(86_400_000)))).toStrictEqual(new Date(86_400_000));
    expect(write(types.Timestamp(-1000))).toStrictEqual(new Date(-1000));
    expect(write(types.Uuid(Buffer.from('ffeeddccbbaa99887766554433221100', 'hex')))).toStrictEqual(
      new Typed('uuid', 'ffeeddcc-bbaa-9988-7766-554433221100'),
    );
    expect(write(types.Decimal64(Buffer.alloc(8, 0x22)))).toStrictEqual(
      new Typed('decimal64', Buffer.alloc(8, 0x22)),
    );
    expect(write(types.Vbin8(Buffer.from('ab')))).toStrictEqual(Buffer.from('ab'));
    expect(write(types.Vbin32(Buffer.from('cd')))).toStrictEqual(Buffer.from('cd'));
    expect(write(types.Str8('ünï'))).toBe('ünï');
    expect(write(types.Str32('s32'))).toBe('s32');
    expect(write(types.Sym8('sym'))).toStrictEqual(new AmqpSymbol('sym'));
    expect(write(types.Sym32('sym32'))).toStrictEqual(new AmqpSymbol('sym32'));
  });

  it('compound values: lists, maps, arrays (described too) and described values', () => {
    expect(write(types.List0())).toStrictEqual([]);
    expect(write(types.List8([types.SmallInt(1), types.Str8('a')]))).toStrictEqual([1, 'a']);
    expect(write(types.wrap([1, -2, 'x']))).toStrictEqual([new Typed('uint', 1), -2, 'x']);
    expect(write(types.Map8([types.Str8('k'), types.Null()]))).toStrictEqual({ k: null });
    expect(write(types.Map8([types.Sym8('k'), types.Null()]))).toStrictEqual(
      new Map([[new AmqpSymbol('k'), null]]),
    );
    expect(write(types.Array32(['a', 'b'], 0xa3))).toStrictEqual(new AmqpArray('symbol', ['a', 'b']));
    expect(write(types.Array8([1, 2, 300], 0x70))).toStrictEqual(new AmqpArray('uint', [1, 2, 300]));
    expect(write(types.Array32([], 0x71))).toStrictEqual(new AmqpArray('int', []));
    expect(write(types.Array32(['x'], 0xa1, types.wrap_ulong(0x77)))).toStrictEqual(
      new AmqpArray('string', ['x'], new Typed('ulong', 0x77n)),
    );
    expect(write(types.wrap_described(true, 'com.example:flag'))).toStrictEqual(
      new Described(new AmqpSymbol('com.example:flag'), true),
    );
    expect(write(types.wrap_described('v', 0x1234))).toStrictEqual(
      new Described(new Typed('ulong', 0x1234n), 'v'),
    );
  });

  it('arbitrary values written by rhea decode the same in amqp-one', () => {
    fc.assert(
      fc.property(
        amqpValue.filter((v) => rheaCanCarry(v, true)),
        (v) => {
          const w = new types.Writer();
          w.write(toRhea(v));
          expect(decodeValue(w.toBuffer())).toStrictEqual(v);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
