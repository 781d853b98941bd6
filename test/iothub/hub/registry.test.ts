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
});
