import { describe, expect, test } from 'vitest';
import { encodeMessage, type Message } from '../../../src/codec/message.js';
import { Typed } from '../../../src/codec/values.js';
import { ManualClock } from '../../../src/util/timers.js';
import { fnv1a32, partitionForDevice } from '../../../src/iothub/hub/partition-hash.js';
import { MAX_TELEMETRY_SIZE, TelemetryStore, type StoredEvent } from '../../../src/iothub/hub/telemetry.js';
import { ann, T0 } from './helpers.js';

const msg = (text: string, extra: Partial<Message> = {}): Message => ({
  properties: { messageId: text, contentType: 'application/json' },
  applicationProperties: { k: 'v' },
  body: Buffer.from(text),
  ...extra,
});

/** Device ids per partition (4 partitions) for tests that need a given partition. */
const IN_P1 = 'device-1'; // fnv1a32 = 0xc9824311
const IN_P2 = 'd1'; // fnv1a32 = 0x881d13e6

async function open(clock = new ManualClock(T0), extra = {}) {
  return { clock, t: await TelemetryStore.open({ clock, ...extra }) };
}

function drain(c: { next(): StoredEvent | undefined }): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (let e = c.next(); e; e = c.next()) out.push(e);
  return out;
}

describe('partition hash', () => {
  test('FNV-1a 32 known vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
  test('fixed partitions for a few device ids (stable across restarts and versions)', () => {
    expect(fnv1a32('d1')).toBe(0x881d13e6);
    expect(fnv1a32('device-1')).toBe(0xc9824311);
    expect(fnv1a32('myDevice')).toBe(0x9475e259);
    expect(fnv1a32('thermostat-42')).toBe(0xf67acebd);
    expect(fnv1a32('Gerät')).toBe(0xca49c5a6);
    expect(partitionForDevice('d1', 4)).toBe(2);
    expect(partitionForDevice('device-1', 4)).toBe(1);
    expect(partitionForDevice('myDevice', 4)).toBe(1);
    expect(partitionForDevice('thermostat-42', 32)).toBe(29);
    expect(partitionForDevice('Gerät', 32)).toBe(6);
  });
});

describe('telemetry store', () => {
  test('append stamps the section 5 annotations and keeps the message', async () => {
    const { t } = await open();
    const e = await t.append('d1', msg('hello', { messageAnnotations: { mine: 'kept' } }), {
      generationId: '638000000000000000',
    });
    expect(e.partition).toBe(2);
    expect(e.sequenceNumber).toBe(0);
    const m = e.message;
    expect(ann(m, 'iothub-connection-device-id')).toBe('d1');
    expect(ann(m, 'iothub-connection-module-id')).toBeUndefined();
    expect(ann(m, 'iothub-connection-auth-generation-id')).toBe('638000000000000000');
    expect(ann(m, 'iothub-connection-auth-method')).toBe(
      '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
    );
    expect(ann(m, 'iothub-enqueuedtime')).toEqual(new Date(T0));
    expect(ann(m, 'iothub-message-source')).toBe('Telemetry');
    expect(ann(m, 'x-opt-sequence-number')).toBe(0n);
    expect(ann(m, 'x-opt-offset')).toBe('0');
    expect(ann(m, 'x-opt-enqueued-time')).toEqual(new Date(T0));
    expect(ann(m, 'mine')).toBe('kept');
    expect(m.properties?.messageId).toBe('hello');
    expect(m.properties?.contentType).toBe('application/json');
    expect(m.applicationProperties).toEqual({ k: 'v' });
    expect(m.body).toEqual(Buffer.from('hello'));
  });

  test("a device's own iothub-* / x-opt-* annotations are replaced or dropped", async () => {
    const { t } = await open();
    const e = await t.append(
      'd1',
      msg('spoof', {
        messageAnnotations: {
          'x-opt-sequence-number': 999n,
          'iothub-connection-device-id': 'someone-else',
          'iothub-connection-module-id': 'fake',
          'x-opt-custom': 'x',
          keep: 'me',
        },
      }),
    );
    const m = e.message;
    expect(ann(m, 'x-opt-sequence-number')).toBe(0n);
    expect(ann(m, 'iothub-connection-device-id')).toBe('d1');
    expect(ann(m, 'iothub-connection-module-id')).toBeUndefined();
    expect(ann(m, 'x-opt-custom')).toBeUndefined();
    expect(ann(m, 'keep')).toBe('me');
  });

  test('module telemetry carries the module id and a module-scoped auth method', async () => {
    const { t } = await open();
    const e = await t.append('d1', msg('x'), { moduleId: 'm1' });
    expect(ann(e.message, 'iothub-connection-module-id')).toBe('m1');
    expect(JSON.parse(ann(e.message, 'iothub-connection-auth-method') as string)).toMatchObject({
      scope: 'module',
    });
    const e2 = await t.append('d1', msg('y'), { authMethod: { type: 'x509Certificate' } });
    expect(JSON.parse(ann(e2.message, 'iothub-connection-auth-method') as string)).toMatchObject({
      scope: 'device',
      type: 'x509Certificate',
    });
  });

  test('sequence numbers per partition from 0; offsets are byte positions', async () => {
    const { t } = await open();
    const a = await t.append(IN_P2, msg('a'));
    const b = await t.append(IN_P2, msg('bb'));
    const c = await t.append(IN_P1, msg('c'));
    expect([a.sequenceNumber, b.sequenceNumber, c.sequenceNumber]).toEqual([0, 1, 0]);
    expect(a.offset).toBe(0);
    expect(b.offset).toBe(a.bytes.length);
    expect(ann(b.message, 'x-opt-offset')).toBe(String(a.bytes.length));
    expect(c.offset).toBe(0);
  });

  test('over 256 KiB is refused with amqp:link:message-size-exceeded; exactly 256 KiB is fine', async () => {
    const { t } = await open();
    const overhead = encodeMessage({ body: Buffer.alloc(300_000) }).length - 300_000;
    const exact = { body: Buffer.alloc(MAX_TELEMETRY_SIZE - overhead) };
    expect(encodeMessage(exact).length).toBe(MAX_TELEMETRY_SIZE);
    await expect(t.append('d1', exact)).resolves.toBeDefined();
    const over = { body: Buffer.alloc(MAX_TELEMETRY_SIZE - overhead + 1) };
    await expect(t.append('d1', over)).rejects.toMatchObject({
      code: 'HUB_MESSAGE_TOO_LARGE',
      condition: 'amqp:link:message-size-exceeded',
    });
    // The size the AMQP layer saw wins over re-encoding.
    await expect(t.append('d1', msg('small'), { sizes: [MAX_TELEMETRY_SIZE + 1] })).rejects.toMatchObject({
      code: 'HUB_MESSAGE_TOO_LARGE',
    });
    expect(t.partitionInfo(2).lastEnqueuedSequenceNumber).toBe(0);
  });

  test('enqueued times never go backwards within a partition', async () => {
    const { t, clock } = await open();
    await t.append(IN_P2, msg('a'));
    clock.set(T0 - 5000);
    const b = await t.append(IN_P2, msg('b'));
    expect(b.enqueuedTime).toBe(T0);
  });

  async function filled() {
    const o = await open();
    const events: StoredEvent[] = [];
    for (let i = 0; i < 10; i++) {
      events.push(await o.t.append(IN_P2, msg(`m${i}`)));
      o.clock.advance(1000);
    }
    return { ...o, events };
  }

  test('read: earliest, latest, sequence number, offset and enqueued time, inclusive and exclusive', async () => {
    const { t, events } = await filled();
    const seqs = (c: { next(): StoredEvent | undefined }) => drain(c).map((e) => e.sequenceNumber);
    expect(seqs(t.read(2, { kind: 'earliest' }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seqs(t.read(2))).toHaveLength(10);
    expect(seqs(t.read(2, { kind: 'latest' }))).toEqual([]);
    expect(seqs(t.read(2, { kind: 'sequenceNumber', value: 7, inclusive: false }))).toEqual([8, 9]);
    expect(seqs(t.read(2, { kind: 'sequenceNumber', value: 7, inclusive: true }))).toEqual([7, 8, 9]);
    expect(seqs(t.read(2, { kind: 'sequenceNumber', value: -1, inclusive: false }))).toHaveLength(10);
    const o5 = events[5]!.offset;
    expect(seqs(t.read(2, { kind: 'offset', value: o5, inclusive: false }))).toEqual([6, 7, 8, 9]);
    expect(seqs(t.read(2, { kind: 'offset', value: o5, inclusive: true }))).toEqual([5, 6, 7, 8, 9]);
    expect(seqs(t.read(2, { kind: 'offset', value: o5 + 1, inclusive: true }))).toEqual([6, 7, 8, 9]);
    const t3 = events[3]!.enqueuedTime;
    expect(seqs(t.read(2, { kind: 'enqueuedTime', value: t3, inclusive: false }))).toEqual([
      4, 5, 6, 7, 8, 9,
    ]);
    expect(seqs(t.read(2, { kind: 'enqueuedTime', value: t3, inclusive: true }))).toEqual([
      3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(seqs(t.read(2, { kind: 'enqueuedTime', value: 0, inclusive: false }))).toHaveLength(10);
  });

  test('positions past the end wait for the matching future events', async () => {
    const { t, clock } = await filled();
    const bySeq = t.read(2, { kind: 'sequenceNumber', value: 11, inclusive: false });
    const byTime = t.read(2, { kind: 'enqueuedTime', value: clock.now() + 1500, inclusive: false });
    for (let i = 0; i < 4; i++) {
      await t.append(IN_P2, msg(`late${i}`));
      clock.advance(1000);
    }
    expect(drain(bySeq).map((e) => e.sequenceNumber)).toEqual([12, 13]);
    expect(drain(byTime).map((e) => e.sequenceNumber)).toEqual([12, 13]);
  });

  test('a cursor waits for new events: wait() and subscribe()', async () => {
    const { t } = await open();
    const c = t.read(2, { kind: 'latest' });
    expect(c.hasNext()).toBe(false);
    let woke = 0;
    c.wait(() => woke++);
    const seen: number[] = [];
    const unsub = t.subscribe(2, (e) => seen.push(e.sequenceNumber));
    await t.append(IN_P1, msg('other partition'));
    expect(woke).toBe(0);
    await t.append(IN_P2, msg('a'));
    await t.append(IN_P2, msg('b'));
    expect(woke).toBe(1);
    expect(seen).toEqual([0, 1]);
    unsub();
    expect(drain(c).map((e) => e.sequenceNumber)).toEqual([0, 1]);
    let now = 0;
    c.wait(() => now++);
    expect(now).toBe(0);
    await t.append(IN_P2, msg('c'));
    expect(now).toBe(1);
    // wait() with an event already there calls back at once.
    let immediate = 0;
    t.read(2).wait(() => immediate++);
    expect(immediate).toBe(1);
  });

  test('retention: tick drops events older than the retention, readers skip to the first kept', async () => {
    const { t, clock } = await open(undefined, { retentionMs: 10_000 });
    const c = t.read(2);
    for (let i = 0; i < 5; i++) {
      await t.append(IN_P2, msg(`m${i}`));
      clock.advance(3000);
    }
    // Events at T0, +3s, +6s, +9s, +12s; now = T0+15s.
    expect(t.nextDeadline()).toBe(T0 + 10_000);
    expect(t.tick(clock.now())).toBe(2);
    expect(t.size(2)).toBe(3);
    expect(t.nextDeadline()).toBe(T0 + 16_000);
    expect(c.next()!.sequenceNumber).toBe(2);
    expect(t.partitionInfo(2)).toMatchObject({ beginSequenceNumber: 2, lastEnqueuedSequenceNumber: 4 });
    clock.advance(100_000);
    t.tick(clock.now());
    expect(t.nextDeadline()).toBeUndefined();
    expect(t.partitionInfo(2)).toMatchObject({
      beginSequenceNumber: 5,
      lastEnqueuedSequenceNumber: 4,
      isEmpty: true,
    });
    const e = await t.append(IN_P2, msg('again'));
    expect(e.sequenceNumber).toBe(5);
  });

  test('a full partition refuses sends; it evicts nothing before retention', async () => {
    const { t } = await open(undefined, { maxEventsPerPartition: 3 });
    for (let i = 0; i < 3; i++) await t.append(IN_P2, msg(`m${i}`));
    await expect(t.append(IN_P2, msg('m3'))).rejects.toMatchObject({
      code: 'HUB_QUOTA_EXCEEDED',
      condition: 'com.microsoft:quota-exceeded',
    });
    expect(drain(t.read(2)).map((e) => e.sequenceNumber)).toEqual([0, 1, 2]);
  });

  test('partition info', async () => {
    const { t, clock } = await open();
    expect(t.partitionInfo(0)).toEqual({
      partitionId: '0',
      beginSequenceNumber: -1,
      lastEnqueuedSequenceNumber: -1,
      lastEnqueuedOffset: '-1',
      lastEnqueuedTimeUtc: new Date(0),
      isEmpty: true,
    });
    await t.append(IN_P2, msg('a'));
    clock.advance(10);
    const b = await t.append(IN_P2, msg('b'));
    expect(t.partitionInfo(2)).toEqual({
      partitionId: '2',
      beginSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 1,
      lastEnqueuedOffset: String(b.offset),
      lastEnqueuedTimeUtc: new Date(T0 + 10),
      isEmpty: false,
    });
    expect(() => t.partitionInfo(4)).toThrow(expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }));
  });

  test('the stored bytes decode with the AMQP types of the contract', async () => {
    const { t } = await open();
    const e = await t.append('d1', msg('typed'));
    const m = e.message;
    expect(typeof ann(m, 'x-opt-sequence-number')).toBe('bigint');
    expect(ann(m, 'x-opt-enqueued-time')).toBeInstanceOf(Date);
    expect(ann(m, 'x-opt-offset')).not.toBeInstanceOf(Typed);
  });

  test('partition count is validated', async () => {
    await expect(TelemetryStore.open({ clock: new ManualClock(), partitions: 0 })).rejects.toMatchObject({
      code: 'HUB_BAD_ARGUMENT',
    });
    const t = await TelemetryStore.open({ clock: new ManualClock(), partitions: 32 });
    expect(t.partitionOf('thermostat-42')).toBe(29);
  });
});
