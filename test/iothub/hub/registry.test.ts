import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../../src/util/timers.js';
import { isHubError } from '../../../src/iothub/hub/errors.js';
import {
  Registry,
  deviceConnectionString,
  generateGenerationId,
  parseRegistryJson,
  serviceConnectionString,
} from '../../../src/iothub/hub/registry.js';
import { T0 } from './helpers.js';

const clock = new ManualClock(T0);

describe('registry', () => {
  test('default policies: iothubowner has every right, service only ServiceConnect', () => {
    const r = new Registry({ clock });
    const owner = r.getPolicy('iothubowner')!;
    expect(owner.rights.sort()).toEqual(['DeviceConnect', 'RegistryRead', 'RegistryWrite', 'ServiceConnect']);
    expect(r.getPolicy('service')!.rights).toEqual(['ServiceConnect']);
    expect(r.policyAllows('service', 'ServiceConnect')).toBe(true);
    expect(r.policyAllows('service', 'RegistryWrite')).toBe(false);
    expect(r.policyAllows('nope', 'ServiceConnect')).toBe(false);
    for (const p of r.listPolicies()) {
      expect(Buffer.from(p.primaryKey, 'base64')).toHaveLength(32);
      expect(p.primaryKey).not.toBe(p.secondaryKey);
    }
  });

  test('devices get 32-byte base64 keys, a digit generation id, enabled and disconnected', () => {
    const r = new Registry({ clock });
    const d = r.addDevice('d1');
    expect(Buffer.from(d.primaryKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(d.secondaryKey, 'base64')).toHaveLength(32);
    expect(d.generationId).toMatch(/^\d{18}$/);
    expect(d.status).toBe('enabled');
    expect(d.connectionState).toBe('Disconnected');
    r.setConnectionState('d1', true);
    expect(r.getDevice('d1')!.connectionState).toBe('Connected');
    expect(r.getDevice('d1')!.connectionStateUpdatedTime).toBe(T0);
  });

  test('generation ids differ for a device deleted and created again', () => {
    const r = new Registry({ clock });
    const g1 = r.addDevice('d1').generationId;
    r.removeDevice('d1');
    clock.advance(1);
    expect(r.addDevice('d1').generationId).not.toBe(g1);
    expect(generateGenerationId(0)).toMatch(/^62135596800000\d{4}$/);
  });

  test('duplicate ids, bad ids and unknown devices are typed errors', () => {
    const r = new Registry({ clock });
    r.addDevice('d1');
    expect(() => r.addDevice('d1')).toThrow(expect.objectContaining({ code: 'HUB_DEVICE_EXISTS' }));
    expect(() => r.addDevice('bad id')).toThrow(expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }));
    expect(() => r.addDevice('x'.repeat(129))).toThrow(expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }));
    try {
      r.requireDevice('ghost');
      expect.unreachable();
    } catch (e) {
      expect(isHubError(e, 'HUB_DEVICE_NOT_FOUND')).toBe(true);
      expect((e as { condition: string }).condition).toBe('amqp:not-found');
    }
  });

  test('modules', () => {
    const r = new Registry({ clock });
    r.addDevice('d1');
    const m = r.addModule('d1', 'm1');
    expect(m.generationId).toMatch(/^\d+$/);
    expect(r.getModule('d1', 'm1')).toBe(m);
    expect(() => r.addModule('d1', 'm1')).toThrow(expect.objectContaining({ code: 'HUB_DEVICE_EXISTS' }));
    expect(() => r.addModule('d2', 'm1')).toThrow(expect.objectContaining({ code: 'HUB_DEVICE_NOT_FOUND' }));
    expect(r.removeModule('d1', 'm1')).toBe(true);
  });

  test('JSON round trip keeps keys, generation ids, status, modules and policies', () => {
    const r = new Registry({ clock });
    r.addDevice('d1');
    r.addDevice('d2', { status: 'disabled', statusReason: 'maintenance' });
    r.addModule('d1', 'm1');
    r.setPolicy('custom', { rights: ['RegistryRead'] });
    const json = JSON.parse(JSON.stringify(r.toJSON())) as unknown;
    const r2 = Registry.fromJSON(json, { clock });
    expect(r2.toJSON()).toEqual(r.toJSON());
    expect(r2.getDevice('d2')!.status).toBe('disabled');
  });

  test('a --registry document: device strings, partial objects, given keys kept, missing generated', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const r = Registry.fromJSON(
      {
        devices: [
          'a',
          { deviceId: 'b', authentication: { symmetricKey: { primaryKey: key } } },
          { deviceId: 'c', modules: [{ moduleId: 'm' }] },
        ],
        policies: [{ keyName: 'service', primaryKey: key }],
      },
      { clock },
    );
    expect(r.getDevice('a')).toBeDefined();
    expect(r.getDevice('b')!.primaryKey).toBe(key);
    expect(Buffer.from(r.getDevice('b')!.secondaryKey, 'base64')).toHaveLength(32);
    expect(r.getModule('c', 'm')).toBeDefined();
    expect(r.getPolicy('service')!.primaryKey).toBe(key);
    // The named policy keeps its default rights only if the document gave none: it gave none.
    expect(r.getPolicy('iothubowner')).toBeDefined();
    expect(Registry.fromJSON(['x', 'y'], { clock }).listDevices()).toHaveLength(2);
  });

  test('merging keeps stored keys and generation ids unless the document names keys', () => {
    const r = new Registry({ clock });
    const d = r.addDevice('d1');
    const { primaryKey, generationId } = d;
    r.merge({ devices: ['d1', 'd2'] });
    expect(r.getDevice('d1')!.primaryKey).toBe(primaryKey);
    expect(r.getDevice('d1')!.generationId).toBe(generationId);
    const key = Buffer.alloc(32, 1).toString('base64');
    r.merge({
      devices: [{ deviceId: 'd1', generationId: '1', authentication: { symmetricKey: { primaryKey: key } } }],
    });
    expect(r.getDevice('d1')!.primaryKey).toBe(key);
    expect(r.getDevice('d1')!.generationId).toBe(generationId);
  });

  test('malformed documents are HUB_BAD_REGISTRY and change nothing', () => {
    const r = new Registry({ clock });
    for (const bad of [
      42,
      { devices: 'd1' },
      { devices: [{}] },
      { devices: ['ok', 'bad id'] },
      { devices: ['d', 'd'] },
      { devices: [{ deviceId: 'd', status: 'off' }] },
      { devices: [{ deviceId: 'd', authentication: { symmetricKey: { primaryKey: 'not base64!' } } }] },
      { policies: [{ keyName: 'p', rights: ['Everything'] }] },
    ]) {
      expect(() => r.merge(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'HUB_BAD_REGISTRY' }),
      );
    }
    expect(r.listDevices()).toHaveLength(0);
    expect(() => parseRegistryJson(null)).toThrow(expect.objectContaining({ code: 'HUB_BAD_REGISTRY' }));
  });

  test('onChange fires for persisted changes, not for connection state', () => {
    const r = new Registry({ clock });
    let n = 0;
    r.onChange(() => n++);
    r.addDevice('d1');
    r.updateDevice('d1', { status: 'disabled' });
    r.setConnectionState('d1', true);
    expect(n).toBe(2);
  });

  test('connection strings', () => {
    const r = new Registry({ clock });
    const d = r.addDevice('d1');
    expect(deviceConnectionString('localhost:5671', d)).toBe(
      `HostName=localhost:5671;DeviceId=d1;SharedAccessKey=${d.primaryKey}`,
    );
    const m = r.addModule('d1', 'm1');
    expect(deviceConnectionString('h', m)).toBe(
      `HostName=h;DeviceId=d1;ModuleId=m1;SharedAccessKey=${m.primaryKey}`,
    );
    const p = r.getPolicy('service')!;
    expect(serviceConnectionString('h', p)).toBe(
      `HostName=h;SharedAccessKeyName=service;SharedAccessKey=${p.primaryKey}`,
    );
  });
  test('authentication types: sas by default, selfSigned needs a valid thumbprint, certificateAuthority none', () => {
    const r = new Registry({ clock });
    expect(r.addDevice('s').authType).toBe('sas');
    const x = r.addDevice('x', { authType: 'selfSigned', primaryThumbprint: 'A'.repeat(40) });
    expect([x.authType, x.primaryThumbprint, x.secondaryThumbprint]).toEqual([
      'selfSigned',
      'A'.repeat(40),
      undefined,
    ]);
    expect(r.addDevice('ca', { authType: 'certificateAuthority' }).authType).toBe('certificateAuthority');
    expect(() => r.addDevice('x2', { authType: 'selfSigned' })).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }),
    );
    expect(() => r.addDevice('x3', { authType: 'selfSigned', primaryThumbprint: 'abc' })).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_ARGUMENT' }),
    );
    expect(r.getDevice('x2')).toBeUndefined();
    // Back to sas: thumbprints go; a bad update changes nothing.
    const v = x.version;
    expect(() => r.updateDevice('x', { authType: 'selfSigned', primaryThumbprint: 'zz' })).toThrow();
    expect(r.getDevice('x')!.version).toBe(v);
    r.updateDevice('x', { authType: 'sas' });
    expect([r.getDevice('x')!.authType, r.getDevice('x')!.primaryThumbprint]).toEqual(['sas', undefined]);
  });

  test('versions: one counter, changed by every update, never reused after delete and create', () => {
    const r = new Registry({ clock });
    const a = r.addDevice('a').version;
    const m = r.addModule('a', 'm').version;
    r.updateDevice('a', { status: 'disabled' });
    const a2 = r.getDevice('a')!.version;
    r.updateModule('a', 'm', { primaryKey: Buffer.alloc(32, 1).toString('base64') });
    const m2 = r.getModule('a', 'm')!.version;
    r.removeDevice('a');
    const again = r.addDevice('a').version;
    const all = [a, m, a2, m2, again];
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort((p, q) => p - q)).toEqual(all);
  });

  test('toJSON and fromJSON keep authentication types, thumbprints, edge and versions', () => {
    const r = new Registry({ clock });
    r.addDevice('x', {
      authType: 'selfSigned',
      primaryThumbprint: 'a'.repeat(64),
      secondaryThumbprint: 'b'.repeat(40),
    });
    r.addDevice('e', { iotEdge: true });
    r.addModule('e', 'm', { authType: 'certificateAuthority' });
    const r2 = Registry.fromJSON(JSON.parse(JSON.stringify(r.toJSON())), { clock });
    expect(r2.toJSON()).toEqual(r.toJSON());
    expect(r2.getDevice('x')!.version).toBe(r.getDevice('x')!.version);
    expect(r2.getModule('e', 'm')!.authType).toBe('certificateAuthority');
    // A fresh version after load is above every stored one.
    expect(r2.addDevice('n').version).toBeGreaterThan(r.getModule('e', 'm')!.version);
    expect(() =>
      parseRegistryJson({ devices: [{ deviceId: 'd', authentication: { type: 'selfSigned' } }] }),
    ).toThrow(expect.objectContaining({ code: 'HUB_BAD_REGISTRY' }));
  });
});
