/**
 * Telemetry limits: a partition (or the hub) that holds as much as its limits allow refuses new
 * sends, and never evicts an accepted event before its retention. With a state directory the
 * events live on disk and memory holds only a bounded cache of their bytes.
 */
import { mkdir, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeMessage, type Message } from '../../../src/codec/message.js';
import { ManualClock } from '../../../src/util/timers.js';
import { isHubError } from '../../../src/iothub/hub/errors.js';
import { TelemetryStore, type StoredEvent } from '../../../src/iothub/hub/telemetry.js';
import { T0, tempDir } from './helpers.js';

const IN_P1 = 'device-1';
const IN_P2 = 'd1';
const RETENTION = 60_000;

const msg = (id: string, bodyBytes = 100): Message => ({
  properties: { messageId: id },
  body: Buffer.alloc(bodyBytes, id.charCodeAt(id.length - 1)),
});

function drain(t: TelemetryStore, partition: number): StoredEvent[] {
  const c = t.read(partition);
  const out: StoredEvent[] = [];
  for (let e = c.next(); e; e = c.next()) out.push(e);
  return out;
}

const idOf = (e: StoredEvent): unknown => decodeMessage(e.bytes).properties?.messageId;

/** Sends one by one; returns the ids accepted and the number refused with HUB_QUOTA_EXCEEDED. */
async function fill(t: TelemetryStore, device: string, ids: string[], bodyBytes = 100) {
  const accepted: string[] = [];
  let refused = 0;
  for (const id of ids) {
    try {
      await t.append(device, msg(id, bodyBytes));
      accepted.push(id);
    } catch (e) {
      if (!isHubError(e, 'HUB_QUOTA_EXCEEDED')) throw e;
      refused++;
    }
  }
  return { accepted, refused };
}

/** The stored size of one of these messages (all the same size: ids are two characters). */
async function eventSize(device = IN_P2): Promise<number> {
  const t = await TelemetryStore.open({ clock: new ManualClock(T0) });
  return (await t.append(device, msg('s0'))).size;
}

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('telemetry limits', () => {
  test('past the byte limit sends are refused, every accepted event stays readable, retention frees space', async () => {
    const clock = new ManualClock(T0);
    const size = await eventSize();
    const limit = 6 * size + Math.floor(size / 2);
    const t = await TelemetryStore.open({ clock, retentionMs: RETENTION, maxPartitionBytes: limit });
    const sent = ids('a', 9);
    const { accepted, refused } = await fill(t, IN_P2, sent);
    expect(accepted.length + refused).toBe(sent.length);
    // Offsets grow a digit or two, so the first size is only about right: 5 or 6 fit.
    expect(accepted).toEqual(ids('a', accepted.length));
    expect(accepted.length).toBeGreaterThanOrEqual(5);
    expect(refused).toBe(sent.length - accepted.length);
    expect(t.bytesHeld(2)).toBeLessThanOrEqual(limit);
    // Time passes, short of the retention: still all there, still full.
    clock.advance(RETENTION - 1);
    t.tick(clock.now());
    expect(drain(t, 2).map(idOf)).toEqual(accepted);
    await expect(t.append(IN_P2, msg('late'))).rejects.toMatchObject({ code: 'HUB_QUOTA_EXCEEDED' });
    // Another partition is not affected by this one's limit.
    await t.append(IN_P1, msg('other'));
    // Retention passes: the old events go and sends are accepted again.
    clock.advance(1);
    const again = await fill(t, IN_P2, ids('b', 5));
    expect(again).toEqual({ accepted: ids('b', 5), refused: 0 });
    expect(drain(t, 2).map(idOf)).toEqual(ids('b', 5));
  });

  test('the count limit refuses, and a batch is accepted whole or refused whole', async () => {
    const clock = new ManualClock(T0);
    const t = await TelemetryStore.open({ clock, retentionMs: RETENTION, maxEventsPerPartition: 5 });
    await t.appendBatch(IN_P2, [msg('x0'), msg('x1'), msg('x2')]);
    await expect(t.appendBatch(IN_P2, [msg('y0'), msg('y1'), msg('y2')])).rejects.toMatchObject({
      code: 'HUB_QUOTA_EXCEEDED',
    });
    expect(drain(t, 2).map(idOf)).toEqual(['x0', 'x1', 'x2']);
    const [a, b] = await t.appendBatch(IN_P2, [msg('z0'), msg('z1')]);
    expect([a!.sequenceNumber, b!.sequenceNumber]).toEqual([3, 4]);
    expect(b!.offset).toBe(a!.offset + a!.size);
  });

  test('the hub-wide byte limit counts every partition', async () => {
    const clock = new ManualClock(T0);
    // Room for 5 events in partition 1 and about 3 in partition 2 (sizes grow with the offset).
    const limit = 5 * (await eventSize(IN_P1)) + 3 * (await eventSize(IN_P2)) + 100;
    const t = await TelemetryStore.open({ clock, retentionMs: RETENTION, maxTotalBytes: limit });
    const p1 = await fill(t, IN_P1, ids('p', 5));
    const p2 = await fill(t, IN_P2, ids('q', 5));
    expect(p1).toEqual({ accepted: ids('p', 5), refused: 0 });
    expect(p2.accepted).toEqual(ids('q', p2.accepted.length));
    expect(p2.accepted.length).toBeGreaterThanOrEqual(2);
    expect(p2.refused).toBe(5 - p2.accepted.length);
    expect(p2.refused).toBeGreaterThan(0);
    expect(t.bytesHeld(1) + t.bytesHeld(2)).toBeLessThanOrEqual(limit);
    expect(drain(t, 1).map(idOf)).toEqual(p1.accepted);
    expect(drain(t, 2).map(idOf)).toEqual(p2.accepted);
  });

  test('with a state directory, old events are read from disk; memory keeps a bounded cache', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const opts = { clock, stateDir: dir, fsync: false, retentionMs: RETENTION, cacheBytesPerPartition: 1000 };
    const t = await TelemetryStore.open(opts);
    const sent = ids('e', 50);
    const stored = await Promise.all(sent.map((id) => t.append(IN_P2, msg(id))));
    const inMemory = stored.filter((e) => e.cached !== undefined);
    expect(inMemory.length).toBeGreaterThan(0);
    expect(inMemory.reduce((n, e) => n + e.size, 0)).toBeLessThanOrEqual(1000);
    expect(stored[0]!.cached).toBeUndefined();
    const read = drain(t, 2);
    expect(read.map(idOf)).toEqual(sent);
    expect(read.map((e) => e.bytes)).toEqual(stored.map((e) => e.bytes));
    await t.close();

    // Restart: nothing in memory; everything still read back, from the file.
    const t2 = await TelemetryStore.open(opts);
    const again = drain(t2, 2);
    expect(again.every((e) => e.cached === undefined)).toBe(true);
    expect(again.map(idOf)).toEqual(sent);
    await t2.close();

    // Restart after half the events expired: the log is compacted and positions still hold.
    clock.advance(RETENTION);
    const half = await Promise.all(
      ids('f', 5)
        .map((id) => t2.append(IN_P2, msg(id)))
        .map((p) => p.catch(() => undefined)),
    );
    expect(half.every((e) => e === undefined)).toBe(true); // t2 is closed: nothing is taken
    const t3 = await TelemetryStore.open(opts);
    expect(drain(t3, 2)).toEqual([]);
    const late = await fill(t3, IN_P2, ids('g', 3));
    expect(late.accepted).toEqual(ids('g', 3));
    await t3.close();
    const t4 = await TelemetryStore.open(opts);
    expect(drain(t4, 2).map(idOf)).toEqual(ids('g', 3));
    await t4.close();
  });

  test('a restart that compacts the log keeps the unexpired events readable from the new file', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const opts = { clock, stateDir: dir, fsync: false, retentionMs: RETENTION, cacheBytesPerPartition: 1 };
    const t = await TelemetryStore.open(opts);
    await fill(t, IN_P2, ids('old', 5));
    clock.advance(RETENTION / 2);
    const kept = (await Promise.all(ids('new', 5).map((id) => t.append(IN_P2, msg(id, 300))))).map(
      (e) => e.bytes,
    );
    await t.close();
    clock.advance(RETENTION / 2); // the 'old' ones expire, the 'new' ones not
    const t2 = await TelemetryStore.open(opts);
    const read = drain(t2, 2);
    expect(read.map(idOf)).toEqual(ids('new', 5));
    expect(read.map((e) => e.bytes)).toEqual(kept);
    expect(read.every((e) => e.cached === undefined)).toBe(true);
    // Only what was kept counts against the limits after the restart.
    expect(t2.bytesHeld(2)).toBe(kept.reduce((n, b) => n + b.length, 0));
    await t2.append(IN_P2, msg('later'));
    await t2.close();
    const t3 = await TelemetryStore.open(opts);
    expect(drain(t3, 2).map(idOf)).toEqual([...ids('new', 5), 'later']);
    await t3.close();
  });

  test('a send whose log write fails gives its bytes back: the partition does not fill up', async () => {
    const dir = await tempDir();
    // The partition's log is a device where every write fails (ENOSPC): a full disk.
    await mkdir(path.join(dir, 'telemetry'), { recursive: true });
    await symlink('/dev/full', path.join(dir, 'telemetry', 'partition-2.log'));
    const t = await TelemetryStore.open({ clock: new ManualClock(T0), stateDir: dir, fsync: false });
    await expect(t.append(IN_P2, msg('lost'))).rejects.toMatchObject({ code: 'HUB_STORE_FAILED' });
    await expect(t.appendBatch(IN_P2, [msg('b1'), msg('b2')])).rejects.toMatchObject({
      code: 'HUB_STORE_FAILED',
    });
    expect(t.bytesHeld(2)).toBe(0);
    expect(drain(t, 2)).toEqual([]);
    await t.close();
  });
});
