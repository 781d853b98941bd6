/**
 * RegistryClient's twins and direct methods over real HTTPS against the emulator's REST API, with
 * our device and module clients on the other end over AMQP: methods our service invokes and our
 * devices answer, DeviceNotOnlineError and the 504 timeout, twin GET / PATCH / PUT with etags,
 * and a desired patch pushed to the device with its version.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { DeviceClient, ModuleClient, RegistryClient } from '../../../src/iothub/client/index.js';
import {
  ArgumentError,
  DeviceNotFoundError,
  DeviceNotOnlineError,
  IotHubTimeoutError,
  PreconditionFailedError,
  UnauthorizedError,
} from '../../../src/iothub/errors.js';
import { nextWithin } from './support.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

let hub: IotHubEmulator;
let registry: RegistryClient;
const closers: (() => Promise<void> | void)[] = [];

const clientFor = (policy = 'iothubowner'): RegistryClient => {
  const r = RegistryClient.fromConnectionString(hub.serviceConnectionString(policy), {
    tls: { ca: hub.caPem },
    port: hub.httpsPort,
  });
  closers.push(() => r.close());
  return r;
};

const device = (id: string): DeviceClient => {
  const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(id), { tls: { ca: hub.caPem } });
  closers.push(() => d.close());
  return d;
};

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['m1', 'm2', 't1', 't2'] });
  hub.state.registry.setPolicy('reader', { rights: ['RegistryRead'] });
  hub.state.registry.setPolicy('writer', { rights: ['RegistryWrite'] });
  registry = clientFor();
});

afterEach(async () => {
  while (closers.length > 1) await closers.pop()!();
});

afterAll(async () => {
  while (closers.length > 0) await closers.pop()!();
  await hub?.close();
});

describe('direct methods: our service invokes, our device answers', () => {
  it('a device method: the payload both ways, the device status as it chose', async () => {
    const d = device('m1');
    d.onMethod('add', (req) => {
      const { a, b } = req.json<{ a: number; b: number }>();
      return { status: 200, payload: { sum: a + b } };
    });
    d.onMethod('refuse', () => ({ status: 403, payload: 'no' }));
    await d.enableMethods();
    expect(await registry.invokeDeviceMethod('m1', { methodName: 'add', payload: { a: 2, b: 3 } })).toEqual({
      status: 200,
      payload: { sum: 5 },
    });
    expect(await registry.invokeDeviceMethod('m1', { methodName: 'refuse' })).toEqual({
      status: 403,
      payload: 'no',
    });
  });

  it('a module method, and the module twin read and written', async () => {
    const m = await registry.createModule('m2', 'mod');
    const mc = ModuleClient.fromConnectionString(registry.connectionStringOf(m), { tls: { ca: hub.caPem } });
    closers.push(() => mc.close());
    mc.onMethod('who', () => ({ status: 200, payload: { module: 'mod' } }));
    await mc.enableMethods();
    expect(await registry.invokeModuleMethod('m2', 'mod', { methodName: 'who' })).toEqual({
      status: 200,
      payload: { module: 'mod' },
    });
    // The device itself has no method link: only the module answered.
    await expect(registry.invokeDeviceMethod('m2', { methodName: 'who' })).rejects.toBeInstanceOf(
      DeviceNotOnlineError,
    );
    await mc.updateReported({ up: true });
    const t = await registry.getTwin('m2', { moduleId: 'mod' });
    expect(t).toMatchObject({ deviceId: 'm2', moduleId: 'mod', properties: { reported: { up: true } } });
    const u = await registry.updateTwin('m2', { tags: { role: 'edge' } }, t.etag, { moduleId: 'mod' });
    expect(u.tags).toEqual({ role: 'edge' });
    expect(hub.state.getTwin('m2').tags).toEqual({});
  });

  it('not online: DeviceNotOnlineError at once; with a connect timeout, the device that comes is called', async () => {
    const err = await registry.invokeDeviceMethod('m1', { methodName: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceNotOnlineError);
    expect(err).toMatchObject({
      code: 'IOTHUB_DEVICE_NOT_ONLINE',
      statusCode: 404,
      retryable: false,
      description: expect.stringMatching(/^DeviceNotOnline: /),
    });
    const pending = registry.invokeDeviceMethod('m1', { methodName: 'late', connectTimeoutInSeconds: 60 });
    const d = device('m1');
    const calls = d.methodRequests();
    const req = await nextWithin(calls, 30_000);
    if (typeof req === 'string') throw new Error(`no call: ${req}`);
    expect(req.methodName).toBe('late');
    await req.respond(200, 'here');
    expect(await pending).toEqual({ status: 200, payload: 'here' });
  });

  it('a device that does not answer: 504 GatewayTimeout as IotHubTimeoutError, sent once', async () => {
    // A hub on an injected clock: its response timeout passes when the test says so.
    let now = Date.now();
    const slow = await startHub({
      port: 0,
      tlsPort: 0,
      httpsPort: 0,
      devices: ['s1'],
      clock: { now: () => now },
    });
    closers.push(() => slow.close());
    const d = DeviceClient.fromConnectionString(slow.deviceConnectionString('s1'), {
      tls: { ca: slow.caPem },
    });
    closers.push(() => d.close());
    const service = RegistryClient.fromConnectionString(slow.serviceConnectionString(), {
      tls: { ca: slow.caPem },
      port: slow.httpsPort,
    });
    closers.push(() => service.close());
    const calls = d.methodRequests();
    await d.enableMethods();
    const pending = service
      .invokeDeviceMethod('s1', { methodName: 'slow', responseTimeoutInSeconds: 5 })
      .catch((e: unknown) => e);
    const req = await nextWithin(calls, 30_000);
    if (typeof req === 'string') throw new Error(`no call: ${req}`);
    now += 5_000;
    slow.tick(now);
    // Not retried: a second attempt would wait on the hub's clock, which no longer moves.
    const err = await pending;
    expect(err).toBeInstanceOf(IotHubTimeoutError);
    expect(err).toMatchObject({ statusCode: 504, description: expect.stringMatching(/^GatewayTimeout: /) });
  });

  it('typed errors: unknown device, a timeout out of range, a policy without ServiceConnect', async () => {
    await expect(registry.invokeDeviceMethod('nobody', { methodName: 'x' })).rejects.toBeInstanceOf(
      DeviceNotFoundError,
    );
    await expect(
      registry.invokeDeviceMethod('m1', { methodName: 'x', responseTimeoutInSeconds: 301 }),
    ).rejects.toBeInstanceOf(ArgumentError);
    await expect(clientFor('writer').invokeDeviceMethod('m1', { methodName: 'x' })).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
  });
});

describe('twins: GET, PATCH and PUT with etags', () => {
  it('a desired patch reaches the device with its version; etags guard each write', async () => {
    const d = device('t1');
    const updates = d.desiredUpdates();
    await d.enableDesiredUpdates();
    const t0 = await registry.getTwin('t1');
    expect(t0).toMatchObject({
      deviceId: 't1',
      version: 1,
      tags: {},
      properties: { desired: { $version: 1 }, reported: { $version: 1 } },
    });

    const t1 = await registry.updateTwin(
      't1',
      { tags: { floor: 2 }, properties: { desired: { fan: 'on' } } },
      t0.etag,
    );
    expect(t1.etag).not.toBe(t0.etag);
    expect(withoutMetadata(t1.properties.desired)).toEqual({ fan: 'on', $version: 2 });
    expect(await nextWithin(updates, 10_000)).toEqual({ version: 2, patch: { fan: 'on' }, full: false });

    // The old etag no longer matches: nothing changes, nothing is pushed.
    await expect(
      registry.updateTwin('t1', { properties: { desired: { fan: 'off' } } }, t0.etag),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(withoutMetadata(hub.state.getTwin('t1').properties.desired)).toEqual({ fan: 'on', $version: 2 });

    // PUT replaces: tags and desired become exactly what was sent.
    const t2 = await registry.updateTwin('t1', { properties: { desired: { mode: 'eco' } } }, '*', {
      replace: true,
    });
    expect(t2.tags).toEqual({});
    expect(withoutMetadata(t2.properties.desired)).toEqual({ mode: 'eco', $version: 3 });
    expect(await nextWithin(updates, 10_000)).toEqual({ version: 3, patch: { mode: 'eco' }, full: false });

    await d.updateReported({ temp: 20 });
    expect(withoutMetadata((await clientFor('reader').getTwin('t1')).properties.reported)).toEqual({
      temp: 20,
      $version: 2,
    });
  });

  it('typed errors: a reader cannot write, reported properties are the device own, unknown twins', async () => {
    const t = await registry.getTwin('t2');
    await expect(clientFor('reader').updateTwin('t2', { tags: { a: 1 } }, t.etag)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    await expect(
      registry.updateTwin('t2', { properties: { reported: { a: 1 } } } as never, '*'),
    ).rejects.toBeInstanceOf(ArgumentError);
    await expect(registry.getTwin('nobody')).rejects.toBeInstanceOf(DeviceNotFoundError);
    await expect(registry.getTwin('t2', { moduleId: 'none' })).rejects.toBeInstanceOf(DeviceNotFoundError);
    expect(hub.state.getTwin('t2').version).toBe(1);
  });
});
