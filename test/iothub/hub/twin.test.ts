import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../../src/util/timers.js';
import { createHubState } from '../../../src/iothub/hub/hub.js';
import { MAX_PROPERTIES_BYTES, TwinStore, etagOf, type TwinObject } from '../../../src/iothub/hub/twin.js';
import { withoutMetadata } from '../../support/twin-metadata.js';
import { T0, tempDir } from './helpers.js';

describe('twin store', () => {
  test('reported patches merge, nulls remove, and $version moves by one', async () => {
    const t = await TwinStore.open();
    expect(withoutMetadata(t.deviceView('d1'))).toEqual({
      desired: { $version: 1 },
      reported: { $version: 1 },
    });
    expect(t.patchReported('d1', { fw: '1.0', net: { ssid: 'a', rssi: -40 } })).toBe(2);
    expect(t.patchReported('d1', { $version: 99, net: { rssi: null }, fw: null, up: true })).toBe(3);
    expect(withoutMetadata(t.deviceView('d1').reported)).toEqual({
      net: { ssid: 'a' },
      up: true,
      $version: 3,
    });
    expect(t.document('d1')).toMatchObject({ version: 3, etag: etagOf(3) });
  });

  test('desired updates reach subscribers as deltas with $version; a replace pushes the whole document', async () => {
    const t = await TwinStore.open();
    const pushes: [TwinObject, number][] = [];
    const stop = t.subscribeDesired('d1/m1', (d, v) => pushes.push([d, v]));
    t.update('d1/m1', { desired: { temp: 21, mode: 'eco' } });
    t.update('d1/m1', { desired: { mode: null } });
    t.update('d1/m1', { desired: { a: 1 } }, { replace: true });
    t.update('d1/m1', { tags: { site: 'x' } }); // tags alone push nothing
    stop();
    t.update('d1/m1', { desired: { b: 2 } });
    expect(pushes).toEqual([
      [{ temp: 21, mode: 'eco', $version: 2 }, 2],
      [{ mode: null, $version: 3 }, 3],
      [{ a: 1, $version: 4 }, 4],
    ]);
    expect(t.document('d1/m1')).toMatchObject({
      tags: { site: 'x' },
      properties: { desired: { b: 2, $version: 5 } },
    });
    expect(t.subscriberCount('d1/m1')).toBe(0);
  });

  test('etags guard service updates', async () => {
    const t = await TwinStore.open();
    const doc = t.update('d1', { tags: { a: 1 } });
    expect(() => t.update('d1', { tags: { a: 2 } }, { etag: etagOf(1) })).toThrow(
      expect.objectContaining({ code: 'HUB_PRECONDITION_FAILED' }),
    );
    expect(t.update('d1', { tags: { a: 2 } }, { etag: doc.etag }).tags).toEqual({ a: 2 });
    expect(t.update('d1', { tags: { a: 3 } }, { etag: '*' }).tags).toEqual({ a: 3 });
  });

  test('bad patches are refused and change nothing', async () => {
    const t = await TwinStore.open();
    let deep: TwinObject = { v: 1 };
    for (let i = 0; i < 10; i++) deep = { n: deep };
    for (const bad of [
      null,
      [1],
      'x',
      { 'a.b': 1 },
      { $x: 1 },
      { 'a b': 1 },
      { '': 1 },
      deep,
      { big: 'x'.repeat(33 * 1024) },
    ])
      expect(() => t.patchReported('d1', bad)).toThrow(expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }));
    expect(t.document('d1')).toMatchObject({ version: 1, properties: { reported: { $version: 1 } } });
  });

  test('a __proto__ key is an own property, never the prototype', async () => {
    const t = await TwinStore.open();
    t.patchReported('d1', JSON.parse('{"__proto__":{"polluted":true},"a":1}'));
    const r = t.deviceView('d1').reported;
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(r.$metadata)).toBe(Object.prototype);
    expect(JSON.stringify(withoutMetadata(r))).toBe('{"__proto__":{"polluted":true},"a":1,"$version":2}');
    expect(Object.keys(r.$metadata as object)).toEqual(['$lastUpdated', '__proto__', 'a']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test('persisted 0600 in twins.json, and read back; removing a device forgets its twins', async () => {
    const dir = await tempDir();
    const clock = new ManualClock(T0);
    const hub = await createHubState({ hubName: 'h', clock, devices: ['d1'], stateDir: dir });
    hub.registry.addModule('d1', 'm1');
    expect(await hub.patchReported('d1', undefined, { fw: '2' })).toBe(2);
    await hub.updateTwin('d1', 'm1', { desired: { x: 1 }, tags: { t: 1 } });
    expect((await stat(path.join(dir, 'twins.json'))).mode & 0o777).toBe(0o600);
    await hub.close();
    const again = await createHubState({ hubName: 'h', clock, stateDir: dir });
    expect(withoutMetadata(again.getTwin('d1').properties.reported)).toEqual({ fw: '2', $version: 2 });
    // The metadata is kept too: the time of the change, not of the reading.
    clock.advance(60_000);
    expect(again.getTwin('d1').properties.reported.$metadata).toEqual({
      $lastUpdated: new Date(T0).toISOString(),
      fw: { $lastUpdated: new Date(T0).toISOString() },
    });
    expect(again.getTwin('d1', 'm1')).toMatchObject({
      tags: { t: 1 },
      properties: { desired: { x: 1, $version: 2 } },
    });
    expect(() => again.getTwin('ghost')).toThrow(expect.objectContaining({ code: 'HUB_DEVICE_NOT_FOUND' }));
    again.removeDevice('d1');
    await again.flush();
    expect(await readFile(path.join(dir, 'twins.json'), 'utf8')).not.toContain('fw');
    await again.close();
  });

  test('$metadata: $lastUpdated per node, $lastUpdatedVersion in desired; patches restamp their paths only', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(ms).toISOString();
    const t0 = now;
    const t = await TwinStore.open({ now: () => now });
    expect(t.deviceView('d1')).toEqual({
      desired: { $metadata: { $lastUpdated: at(t0), $lastUpdatedVersion: 1 }, $version: 1 },
      reported: { $metadata: { $lastUpdated: at(t0) }, $version: 1 },
    });

    now += 1000;
    const t1 = now;
    t.update('d1', { desired: { temp: 21, fan: { speed: 2, mode: 'auto' } } });
    now += 1000;
    const t2 = now;
    t.update('d1', { desired: { fan: { speed: 3 } } });
    expect(t.deviceView('d1').desired).toEqual({
      temp: 21,
      fan: { speed: 3, mode: 'auto' },
      $metadata: {
        $lastUpdated: at(t2),
        $lastUpdatedVersion: 3,
        temp: { $lastUpdated: at(t1), $lastUpdatedVersion: 2 },
        fan: {
          $lastUpdated: at(t2),
          $lastUpdatedVersion: 3,
          speed: { $lastUpdated: at(t2), $lastUpdatedVersion: 3 },
          mode: { $lastUpdated: at(t1), $lastUpdatedVersion: 2 },
        },
      },
      $version: 3,
    });
    // Tags change neither desired nor its metadata.
    now += 1000;
    t.update('d1', { tags: { site: 'x' } });
    expect(t.deviceView('d1').desired.$metadata).toMatchObject({
      $lastUpdated: at(t2),
      $lastUpdatedVersion: 3,
    });

    // A removed key takes its node along; a replace restamps everything.
    now += 1000;
    const t4 = now;
    t.update('d1', { desired: { fan: null } });
    expect(t.deviceView('d1').desired.$metadata).toEqual({
      $lastUpdated: at(t4),
      $lastUpdatedVersion: 4,
      temp: { $lastUpdated: at(t1), $lastUpdatedVersion: 2 },
    });
    now += 1000;
    const t5 = now;
    t.update('d1', { desired: { only: { one: 1 } } }, { replace: true });
    const v5 = { $lastUpdated: at(t5), $lastUpdatedVersion: 5 };
    expect(t.deviceView('d1').desired.$metadata).toEqual({ ...v5, only: { ...v5, one: v5 } });

    // Reported: $lastUpdated alone, as the service shows it.
    now += 1000;
    const t6 = now;
    t.patchReported('d1', { fw: '1.0', net: { rssi: -40 } });
    expect(t.deviceView('d1').reported.$metadata).toEqual({
      $lastUpdated: at(t6),
      fw: { $lastUpdated: at(t6) },
      net: { $lastUpdated: at(t6), rssi: { $lastUpdated: at(t6) } },
    });
    // The document (REST GET) carries the same, and a client's $metadata in a patch is ignored.
    now += 1000;
    t.patchReported('d1', { $metadata: { fw: { $lastUpdated: 'forged' } }, up: true });
    const doc = t.document('d1');
    expect(doc.properties.reported.$metadata).toMatchObject({ fw: { $lastUpdated: at(t6) } });
    expect(doc.properties.desired.$metadata).toEqual(t.deviceView('d1').desired.$metadata);
  });

  test('a twins.json written without metadata is read, and gets it', async () => {
    const dir = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    const old = {
      key: 'd1',
      version: 2,
      tags: {},
      desired: { a: 1 },
      desiredVersion: 2,
      reported: {},
      reportedVersion: 1,
    };
    await writeFile(path.join(dir, 'twins.json'), JSON.stringify({ version: 1, twins: [old] }), {
      mode: 0o600,
    });
    const t = await TwinStore.open({ stateDir: dir, now: () => T0 });
    const at = new Date(T0).toISOString();
    expect(t.deviceView('d1').desired).toEqual({
      a: 1,
      $metadata: {
        $lastUpdated: at,
        $lastUpdatedVersion: 2,
        a: { $lastUpdated: at, $lastUpdatedVersion: 2 },
      },
      $version: 2,
    });
    await t.close();
  });

  test('the metadata stays bounded: full desired and reported in the smallest keys read back under 1 MiB', async () => {
    const t = await TwinStore.open({ now: () => T0 });
    // As many keys as 32 KiB of JSON holds, each as short as it can be: the most metadata nodes.
    const full: TwinObject = {};
    for (let i = 0; JSON.stringify(full).length < MAX_PROPERTIES_BYTES - 16; i++) full[i.toString(36)] = 0;
    t.update('d1', { desired: full });
    t.patchReported('d1', full);
    const keys = Object.keys(full).length;
    expect(keys).toBeGreaterThan(4000);
    const read = Buffer.byteLength(JSON.stringify(t.deviceView('d1')));
    // The GET answer fits the emulator's 1 MiB links; about 80 bytes of metadata per key.
    expect(read).toBeLessThan(1024 * 1024);
    expect(read / (2 * keys)).toBeLessThan(90);
  });
});
