/**
 * Our device client's direct methods and twin against the emulator (contract section 12): handlers
 * and the request iterator, getTwin / updateReported / desired updates with versions, typed errors,
 * both transports, and a hub restart that the client's subscriptions survive (methods answered after
 * it, a desired update made while the hub was down delivered with its version).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createHubState } from '../../../src/iothub/hub/hub.js';
import { DeviceClient, type DesiredUpdate } from '../../../src/iothub/client/index.js';
import { ArgumentError } from '../../../src/iothub/errors.js';
import { cleanup, hubForTest, onCleanup, tempDir, type IotHubEmulator } from './hub-fixture.js';
import { nextWithin, until } from './support.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

afterEach(cleanup);

function device(
  hub: IotHubEmulator,
  id: string,
  extra: { transport?: 'amqp' | 'amqp-ws'; port?: number } = {},
) {
  let cs = hub.deviceConnectionString(id);
  if (extra.port !== undefined) cs = cs.replace(`:${hub.tlsPort}`, `:${extra.port}`);
  const d = DeviceClient.fromConnectionString(cs, {
    tls: { ca: hub.caPem },
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
    ...(extra.transport ? { transport: extra.transport } : {}),
  });
  onCleanup(() => d.close());
  return d;
}

const invoke = async (hub: IotHubEmulator, id: string, name: string, payload: unknown) => {
  const r = await hub.state.invokeMethod(id, undefined, name, Buffer.from(JSON.stringify(payload)));
  return { status: r.status, payload: JSON.parse(Buffer.from(r.payload).toString()) as unknown };
};

describe.each(['amqp', 'amqp-ws'] as const)('device client methods and twin over %s', (transport) => {
  test('a handler per method, the iterator for the rest, 500 for a handler that throws', async () => {
    const hub = await hubForTest({ devices: ['d1'], httpsPort: 0 });
    const d = device(hub, 'd1', { transport, port: transport === 'amqp-ws' ? hub.httpsPort : undefined });
    d.onMethod('add', (req) => {
      const { a, b } = req.json<{ a: number; b: number }>();
      return { status: 200, payload: { sum: a + b } };
    });
    d.onMethod('fail', () => {
      throw new Error('broken');
    });
    const others = d.methodRequests();
    await d.enableMethods();
    expect(await invoke(hub, 'd1', 'add', { a: 2, b: 3 })).toEqual({ status: 200, payload: { sum: 5 } });
    expect(await invoke(hub, 'd1', 'fail', null)).toEqual({ status: 500, payload: { message: 'broken' } });
    const pending = invoke(hub, 'd1', 'blink', { times: 2 });
    const req = await nextWithin(others, 5_000);
    if (typeof req === 'string') throw new Error(`no request: ${req}`);
    expect([req.methodName, req.json()]).toEqual(['blink', { times: 2 }]);
    await req.respond(202, 'ok');
    await expect(req.respond(200)).rejects.toMatchObject({ code: 'IOTHUB_ALREADY_RESPONDED' });
    expect(await pending).toEqual({ status: 202, payload: 'ok' });
  });

  test('getTwin, updateReported and desired updates with their versions; a bad patch is an ArgumentError', async () => {
    const hub = await hubForTest({ devices: ['d1'], httpsPort: 0 });
    const d = device(hub, 'd1', { transport, port: transport === 'amqp-ws' ? hub.httpsPort : undefined });
    expect(withoutMetadata(await d.getTwin())).toEqual({
      desired: { $version: 1 },
      reported: { $version: 1 },
    });
    expect(await d.updateReported({ fw: '1.0', battery: 80 })).toBe(2);
    expect(await d.updateReported({ battery: null })).toBe(3);
    expect(withoutMetadata(hub.state.getTwin('d1').properties.reported)).toEqual({ fw: '1.0', $version: 3 });
    const err = await d.updateReported({ 'bad.key': 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err).toMatchObject({ code: 'IOTHUB_ARGUMENT_ERROR', statusCode: 400 });

    const updates = d.desiredUpdates();
    await d.enableDesiredUpdates();
    await hub.state.updateTwin('d1', undefined, { desired: { setpoint: 21 } });
    await hub.state.updateTwin('d1', undefined, { desired: { mode: 'eco' } });
    const got: DesiredUpdate[] = [];
    for (let i = 0; i < 2; i++) {
      const u = await nextWithin(updates, 5_000);
      if (typeof u === 'string') throw new Error(`no update: ${u}`);
      got.push(u);
    }
    expect(got).toEqual([
      { version: 2, patch: { setpoint: 21 }, full: false },
      { version: 3, patch: { mode: 'eco' }, full: false },
    ]);
    expect(withoutMetadata((await d.getTwin()).desired)).toEqual({ setpoint: 21, mode: 'eco', $version: 3 });
  });
});

describe('device client subscriptions across a hub restart', () => {
  test('methods are answered after it; a desired update made while the hub was down arrives with its version', async () => {
    const stateDir = await tempDir();
    const hub1 = await hubForTest({ stateDir, devices: ['d1'], fsync: false });
    const { port, tlsPort } = hub1;
    const d = device(hub1, 'd1');
    d.onMethod('ping', () => ({ status: 200, payload: 'pong' }));
    const updates = d.desiredUpdates();
    await d.enableMethods();
    await d.enableDesiredUpdates();
    await hub1.state.updateTwin('d1', undefined, { desired: { a: 1 } });
    expect(await nextWithin(updates, 5_000)).toEqual({ version: 2, patch: { a: 1 }, full: false });

    await hub1.close();
    // While the hub is down, the service changes the twin (the state directory is the hub's).
    const offline = await createHubState({ hubName: hub1.hubName, stateDir, fsync: false });
    await offline.updateTwin('d1', undefined, { desired: { b: 2 } });
    await offline.close();
    const hub2 = await hubForTest({ stateDir, port, tlsPort, fsync: false });

    const u = await nextWithin(updates, 10_000);
    expect(u).toEqual({ version: 3, patch: { a: 1, b: 2 }, full: true });
    await until(() => hub2.state.methods.isSubscribed('d1'), 10_000, 'the methods link back');
    expect(await invoke(hub2, 'd1', 'ping', null)).toEqual({ status: 200, payload: 'pong' });
    // And the subscription itself came back: a live update arrives as a delta.
    await hub2.state.updateTwin('d1', undefined, { desired: { c: 3 } });
    expect(await nextWithin(updates, 5_000)).toEqual({ version: 4, patch: { c: 3 }, full: false });
  });
});
