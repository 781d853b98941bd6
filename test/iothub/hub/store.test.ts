import { statSync } from 'node:fs';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { crc32, decodeRecords, encodeRecord, FileRecordLog } from '../../../src/iothub/hub/store.js';
import { tempDir } from './helpers.js';

describe('record log', () => {
  test('crc32 known value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  test('records round-trip: meta JSON and payload bytes', () => {
    const buf = Buffer.concat([
      encodeRecord({ k: 'a', n: 1 }, Buffer.from([1, 2, 3])),
      encodeRecord({ k: 'b' }),
      encodeRecord({ k: 'c', s: 'ü' }, Buffer.alloc(1000, 9)),
    ]);
    const { records, validLength } = decodeRecords(buf);
    expect(validLength).toBe(buf.length);
    expect(records.map((r) => r.meta)).toEqual([{ k: 'a', n: 1 }, { k: 'b' }, { k: 'c', s: 'ü' }]);
    expect(records[0]!.payload).toEqual(Buffer.from([1, 2, 3]));
    expect(records[1]!.payload).toHaveLength(0);
    expect(records[2]!.payload).toEqual(Buffer.alloc(1000, 9));
  });

  test('every truncation of the last record is a torn tail: the earlier records survive', () => {
    const first = encodeRecord({ k: 'first' }, Buffer.from('abc'));
    const last = encodeRecord({ k: 'last' }, Buffer.from('defgh'));
    for (let cut = 0; cut < last.length; cut++) {
      const { records, validLength } = decodeRecords(Buffer.concat([first, last.subarray(0, cut)]));
      expect(records.map((r) => r.meta.k)).toEqual(['first']);
      expect(validLength).toBe(first.length);
    }
  });

  test('a flipped byte or zero fill is caught by the CRC', () => {
    const a = encodeRecord({ k: 'a' }, Buffer.from('payload'));
    const b = encodeRecord({ k: 'b' }, Buffer.from('payload'));
    const bad = Buffer.from(b);
    bad[bad.length - 2]! ^= 0x40;
    expect(decodeRecords(Buffer.concat([a, bad])).records).toHaveLength(1);
    expect(decodeRecords(Buffer.concat([a, Buffer.alloc(64)])).records).toHaveLength(1);
    expect(decodeRecords(Buffer.concat([a, Buffer.alloc(64)])).validLength).toBe(a.length);
  });

  test('append resolves after the record is on disk; a group shares one write', async () => {
    const file = path.join(await tempDir(), 'x', 'log.log');
    const { log, records } = await FileRecordLog.open(file);
    expect(records).toEqual([]);
    const ps = [1, 2, 3].map((i) => log.append({ i }, Buffer.from([i])));
    await Promise.all(ps);
    const onDisk = decodeRecords(await readFile(file)).records;
    expect(onDisk.map((r) => r.meta.i)).toEqual([1, 2, 3]);
    await log.append({ i: 4 });
    await log.flush();
    await log.close();
    const again = await FileRecordLog.open(file);
    expect(again.records.map((r) => r.meta.i)).toEqual([1, 2, 3, 4]);
    await again.log.close();
  });

  test('appends made while a write is in flight go out in the next group, in order', async () => {
    const file = path.join(await tempDir(), 'log.log');
    const { log } = await FileRecordLog.open(file);
    const order: number[] = [];
    const first = log.append({ i: 0 }).then(() => order.push(0));
    await Promise.resolve();
    await Promise.resolve();
    const more = [1, 2, 3].map((i) => log.append({ i }).then(() => order.push(i)));
    await Promise.all([first, ...more]);
    expect(order).toEqual([0, 1, 2, 3]);
    await log.close();
  });

  test('open truncates a torn tail, and later appends are readable after it', async () => {
    const file = path.join(await tempDir(), 'log.log');
    const { log } = await FileRecordLog.open(file);
    await log.append({ i: 1 });
    await log.close();
    const good = (await stat(file)).size;
    const partial = encodeRecord({ i: 2 }, Buffer.alloc(100)).subarray(0, 50);
    await appendFile(file, partial);
    const r = await FileRecordLog.open(file);
    expect(r.records.map((x) => x.meta.i)).toEqual([1]);
    expect(r.tornBytes).toBe(50);
    expect((await stat(file)).size).toBe(good);
    await r.log.append({ i: 3 });
    await r.log.close();
    const r2 = await FileRecordLog.open(file);
    expect(r2.records.map((x) => x.meta.i)).toEqual([1, 3]);
    expect(r2.tornBytes).toBe(0);
    await r2.log.close();
  });

  test('rewrite replaces the file atomically', async () => {
    const file = path.join(await tempDir(), 'log.log');
    const { log } = await FileRecordLog.open(file);
    await log.append({ i: 1 });
    await log.append({ i: 2 });
    await log.rewrite([{ meta: { i: 9 }, payload: Buffer.from('z') }]);
    await log.append({ i: 10 });
    await log.close();
    const r = await FileRecordLog.open(file);
    expect(r.records.map((x) => x.meta.i)).toEqual([9, 10]);
    await r.log.close();
  });

  test('rewrite streams: records are taken one at a time and at most a chunk waits unwritten', async () => {
    const file = path.join(await tempDir(), 'log.log');
    const { log } = await FileRecordLog.open(file);
    await log.append({ i: -1 });
    const chunk = 1000;
    const records = Array.from({ length: 40 }, (_, i) => ({ meta: { i }, payload: Buffer.alloc(300, i) }));
    let taken = 0; // bytes of the records handed to rewrite so far
    let mostWaiting = 0;
    function* lazily(): Generator<{ meta: { i: number }; payload: Buffer }> {
      for (const r of records) {
        // What rewrite took and has not written yet is what it holds in memory.
        const written = statSync(`${file}.tmp`).size;
        mostWaiting = Math.max(mostWaiting, taken - written);
        taken += encodeRecord(r.meta, r.payload).length;
        yield r;
      }
    }
    const positions = await log.rewrite(lazily(), chunk);
    const oneRecord = encodeRecord(records[0]!.meta, records[0]!.payload).length;
    expect(mostWaiting).toBeGreaterThan(0); // records were batched, not written one by one
    expect(mostWaiting).toBeLessThan(chunk + oneRecord);
    await log.close();
    const r = await FileRecordLog.open(file);
    expect(r.records.map((x) => x.meta.i)).toEqual(records.map((x) => x.meta.i));
    expect(r.records.map((x) => x.payloadPosition)).toEqual(positions);
    expect(r.records.map((x) => x.payload)).toEqual(records.map((x) => x.payload));
    await r.log.close();
  });

  test('a closed log rejects appends with HUB_CLOSED', async () => {
    const file = path.join(await tempDir(), 'log.log');
    const { log } = await FileRecordLog.open(file);
    await log.close();
    await expect(log.append({})).rejects.toMatchObject({ code: 'HUB_CLOSED' });
  });

  test('a garbage file yields no records and is truncated', async () => {
    const file = path.join(await tempDir(), 'log.log');
    await writeFile(file, Buffer.from('this is not a log'));
    const r = await FileRecordLog.open(file);
    expect(r.records).toEqual([]);
    expect(r.tornBytes).toBe(17);
    await r.log.close();
  });

  test('open without payloads reads a chunk at a time and tells where each payload is', async () => {
    const file = path.join(await tempDir(), 'log.log');
    // Records across the 1 MiB chunk boundaries, one larger than a chunk, then a torn tail.
    const payloads = [
      ...Array.from({ length: 40 }, (_, i) => Buffer.alloc(50_000, i)),
      Buffer.alloc(1_500_000, 0xee),
      Buffer.from('last'),
    ];
    const { log } = await FileRecordLog.open(file);
    const positions = payloads.map((p, i) => log.appendAt({ i }, p));
    await Promise.all(positions.map((p) => p.written));
    await log.close();
    const good = (await stat(file)).size;
    await appendFile(file, encodeRecord({ i: 99 }, Buffer.alloc(100)).subarray(0, 30));
    const whole = await readFile(file);

    const r = await FileRecordLog.open(file, { payloads: false });
    expect(r.tornBytes).toBe(30);
    expect((await stat(file)).size).toBe(good);
    expect(r.records.map((x) => x.meta.i)).toEqual(payloads.map((_, i) => i));
    expect(r.records.every((x) => x.payload.length === 0)).toBe(true);
    expect(r.records.map((x) => x.payloadPosition)).toEqual(positions.map((p) => p.payloadPosition));
    for (let i = 0; i < payloads.length; i++) {
      const x = r.records[i]!;
      const at = whole.subarray(x.payloadPosition!, x.payloadPosition! + x.payloadLength!);
      expect(at.equals(payloads[i]!)).toBe(true);
    }
    // Appends after it land where the log says.
    const next = r.log.appendAt({ i: 100 }, Buffer.from('after'));
    await next.written;
    await r.log.close();
    const again = await readFile(file);
    expect(again.subarray(next.payloadPosition, next.payloadPosition + 5).toString()).toBe('after');
  });
});
