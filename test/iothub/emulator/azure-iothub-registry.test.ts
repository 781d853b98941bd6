/**
 * azure-iothub 1.16.6's `Registry`, unchanged, against the emulator's REST API: devices and
 * modules created, read, listed, updated and deleted, with SAS keys, X.509 thumbprints and CA
 * authentication, and its own error types for not found, already exists, precondition failed
 * and unauthorized. Its REST layer takes no port from the HostName (`getaddrinfo ENOTFOUND
 * localhost:PORT`), so the hub's HTTPS port is 443 and the connection strings say
 * `HostName=localhost`; the scenario runs in a child process trusting the emulator's CA through
 * NODE_EXTRA_CA_CERTS (sdk-support.ts).
 *
 * Binding 443 needs root (or CAP_NET_BIND_SERVICE): CI runs as root and must run these; elsewhere,
 * without root, they are skipped with the reason printed. The files that bind 443 form their own
 * vitest project, run one file at a time after the others (vitest.config.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { serviceConnectionString } from '../../../src/iothub/hub/registry.js';
import { runSdkScenario } from './sdk-support.js';

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';
if (!canBind443)
  console.warn(
    'azure-iothub-registry.test.ts skipped: binding port 443 needs root, and this is neither root nor CI',
  );

let hub: IotHubEmulator;
const KEY_A = Buffer.from('1234567890qwerty').toString('base64');
const KEY_B = Buffer.from('ytrewq0987654321').toString('base64');
const KEY_C = Buffer.from('qwertyuiopasdfghjkl').toString('base64');

/** A service connection string with no port, as azure-iothub needs it. */
const cs = (policy: string): string =>
  serviceConnectionString('localhost', hub.state.registry.getPolicy(policy)!);

describe.runIf(canBind443)("azure-iothub's Registry against the emulator on port 443", () => {
  beforeAll(async () => {
    hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 443 });
    hub.state.registry.setPolicy('reader', { rights: ['RegistryRead'] });
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('devices: create (id only, keys, thumbprints, CA), get, list, update, delete, and its error types', async () => {
    const { result } = await runSdkScenario<
      Record<string, any>
    > // eslint-disable-line @typescript-eslint/no-explicit-any
    (
      `
const { Registry } = require('azure-iothub');
const registry = Registry.fromConnectionString(input.owner);
const out = {};
const errName = async (p) => { try { await p; return 'no error'; } catch (e) { return e.name; } };

const onlyId = await registry.create({ deviceId: 'sdk-only' });
out.onlyId = onlyId.responseBody;
out.onlyIdGet = (await registry.get('sdk-only')).responseBody;

await registry.create({
  deviceId: 'sdk-keys', status: 'disabled',
  authentication: { symmetricKey: { primaryKey: input.keyA, secondaryKey: input.keyB } },
});
out.keysGet = (await registry.get('sdk-keys')).responseBody;

await registry.create({
  deviceId: 'sdk-x509', status: 'disabled',
  authentication: { x509Thumbprint: {
    primaryThumbprint: '0000000000000000000000000000000000000000',
    secondaryThumbprint: '1111111111111111111111111111111111111111' } },
});
out.x509Get = (await registry.get('sdk-x509')).responseBody;

await registry.create({ deviceId: 'sdk-ca', authentication: { type: 'certificateAuthority' } });
out.caGet = (await registry.get('sdk-ca')).responseBody;

out.invalidName = await errName(registry.create({ deviceId: 'invalid/name' }));
out.again = await errName(registry.create({ deviceId: 'sdk-only' }));
out.list = (await registry.list()).responseBody.map((d) => d.deviceId).sort();

const upd = await registry.update({
  deviceId: 'sdk-keys', status: 'enabled',
  authentication: { symmetricKey: { primaryKey: input.keyA, secondaryKey: input.keyC } },
});
out.updated = upd.responseBody;
out.updatedGet = (await registry.get('sdk-keys')).responseBody;

await registry.delete('sdk-only');
out.afterDelete = await errName(registry.get('sdk-only'));
out.deleteMissing = await errName(registry.delete('doesntexist-sdk'));

const reader = Registry.fromConnectionString(input.reader);
out.readerGet = (await reader.get('sdk-keys')).responseBody.deviceId;
out.readerCreate = await errName(reader.create({ deviceId: 'sdk-reader' }));
const service = Registry.fromConnectionString(input.service);
out.serviceGet = await errName(service.get('sdk-keys'));
done(out);
`,
      {
        owner: cs('iothubowner'),
        reader: cs('reader'),
        service: cs('service'),
        keyA: KEY_A,
        keyB: KEY_B,
        keyC: KEY_C,
      },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    expect(result.onlyId).toMatchObject({ deviceId: 'sdk-only', status: 'enabled' });
    expect(Buffer.from(result.onlyId.authentication.symmetricKey.primaryKey, 'base64')).toHaveLength(32);
    expect(result.onlyIdGet.etag).toBe(result.onlyId.etag);
    expect(result.keysGet).toMatchObject({
      status: 'disabled',
      authentication: { type: 'sas', symmetricKey: { primaryKey: KEY_A, secondaryKey: KEY_B } },
    });
    expect(result.x509Get.authentication).toMatchObject({
      type: 'selfSigned',
      x509Thumbprint: {
        primaryThumbprint: '0000000000000000000000000000000000000000',
        secondaryThumbprint: '1111111111111111111111111111111111111111',
      },
    });
    expect(result.caGet.authentication.type).toBe('certificateAuthority');
    expect(result.invalidName).toBe('ArgumentError');
    expect(result.again).toBe('DeviceAlreadyExistsError');
    expect(result.list).toEqual(['sdk-ca', 'sdk-keys', 'sdk-only', 'sdk-x509']);
    expect(result.updated.authentication.symmetricKey.secondaryKey).toBe(KEY_C);
    expect(result.updatedGet).toMatchObject({
      status: 'enabled',
      authentication: { symmetricKey: { secondaryKey: KEY_C } },
    });
    expect(result.updatedGet.etag).not.toBe(result.keysGet.etag);
    expect(result.afterDelete).toBe('DeviceNotFoundError');
    expect(result.deleteMissing).toBe('DeviceNotFoundError');
    expect(result.readerGet).toBe('sdk-keys');
    expect(result.readerCreate).toBe('UnauthorizedError');
    expect(result.serviceGet).toBe('UnauthorizedError');
    expect(hub.state.registry.getDevice('sdk-reader')).toBeUndefined();
  });

  it('modules: add (SAS, thumbprint, CA), get, list, update by etag and forced, remove by id and by object', async () => {
    hub.addDevice('sdk-mod-dev');
    const { result } = await runSdkScenario<
      Record<string, any>
    > // eslint-disable-line @typescript-eslint/no-explicit-any
    (
      `
const { Registry } = require('azure-iothub');
const registry = Registry.fromConnectionString(input.owner);
const out = {};
const errName = async (p) => { try { await p; return 'no error'; } catch (e) { return e.name + ': ' + e.message; } };
// removeModule(module) has no promise form in 1.16.6 (it takes the missing callback for the done argument).
const removeByObject = (m) => new Promise((resolve, reject) => registry.removeModule(m, (e) => (e ? reject(e) : resolve())));
const d = 'sdk-mod-dev';

await registry.addModule({ deviceId: d, moduleId: 'm1' });
const m1 = (await registry.getModule(d, 'm1')).responseBody;
out.m1 = m1;
await registry.addModule({ deviceId: d, moduleId: 'm2',
  authentication: { x509Thumbprint: { primaryThumbprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' } } });
await registry.addModule({ deviceId: d, moduleId: 'm3', authentication: { type: 'certificateAuthority' } });
out.list = (await registry.getModulesOnDevice(d)).responseBody.map((m) => m.moduleId + ':' + m.authentication.type).sort();
out.again = await errName(registry.addModule({ deviceId: d, moduleId: 'm1' }));

const swapped = JSON.parse(JSON.stringify(m1));
swapped.authentication.symmetricKey = {
  primaryKey: m1.authentication.symmetricKey.secondaryKey,
  secondaryKey: m1.authentication.symmetricKey.primaryKey,
};
await registry.updateModule(swapped, false);
const afterEtag = (await registry.getModule(d, 'm1')).responseBody;
out.afterEtag = afterEtag;
out.stale = await errName(registry.updateModule(swapped, false));
const forced = JSON.parse(JSON.stringify(afterEtag));
delete forced.etag;
forced.authentication.symmetricKey = m1.authentication.symmetricKey;
await registry.updateModule(forced, true);
out.afterForce = (await registry.getModule(d, 'm1')).responseBody;

out.removeStale = await errName(removeByObject(m1));
await registry.removeModule(d, 'm2');
out.m2Gone = await errName(registry.getModule(d, 'm2'));
const m3 = (await registry.getModule(d, 'm3')).responseBody;
await removeByObject(m3);
out.left = (await registry.getModulesOnDevice(d)).responseBody.map((m) => m.moduleId);
done(out);
`,
      { owner: cs('iothubowner') },
      { caFile: hub.caFile!, timeoutMs: 45_000 },
    );
    const k = result.m1.authentication.symmetricKey;
    expect(result.m1).toMatchObject({ deviceId: 'sdk-mod-dev', moduleId: 'm1' });
    expect(result.list).toEqual(['m1:sas', 'm2:selfSigned', 'm3:certificateAuthority']);
    expect(result.again).toMatch(/^DeviceAlreadyExistsError: /);
    expect(result.afterEtag.authentication.symmetricKey).toEqual({
      primaryKey: k.secondaryKey,
      secondaryKey: k.primaryKey,
    });
    expect(result.stale).toMatch(/^InvalidEtagError: /);
    expect(result.afterForce.authentication.symmetricKey).toEqual(k);
    expect(result.removeStale).toMatch(/^InvalidEtagError: /);
    // ModuleNotFound is not DeviceNotFound: azure-iothub makes it a plain 'Not found' Error, as with the real hub.
    expect(result.m2Gone).toBe('Error: Not found');
    expect(result.left).toEqual(['m1']);
  });
});
