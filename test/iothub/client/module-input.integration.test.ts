/**
 * Module routing over the emulator (contract section 12): our ModuleClient sends to an output, a
 * route in the registry takes the message to another ModuleClient's input (`x-opt-input-name`),
 * which settles it as C2D; a full input queue refuses the sender; the input subscription survives a
 * hub restart; a module's receiver is authorized by that module's own credentials only.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ModuleClient, QuotaExceededError } from '../../../src/iothub/index.js';
import type { StartHubOptions } from '../../../src/iothub/emulator/index.js';
import { cleanup, hubForTest, onCleanup, tempDir, type IotHubEmulator } from './hub-fixture.js';
import { nextWithin, until } from './support.js';
import { createHubState } from '../../../src/iothub/hub/hub.js';

afterEach(cleanup);

const registry = {
  devices: [{ deviceId: 'edge1', modules: [{ moduleId: 'sensor' }, { moduleId: 'filter' }] }],
  routes: [
    {
      from: { deviceId: 'edge1', moduleId: 'sensor', output: 'temperature' },
      to: { deviceId: 'edge1', moduleId: 'filter', input: 'readings' },
    },
  ],
};

function moduleClient(hub: IotHubEmulator, moduleId: string, keyOf = moduleId, port = hub.tlsPort) {
  const key = hub.state.registry.getModule('edge1', keyOf)!.primaryKey;
  const m = ModuleClient.fromConnectionString(
    `HostName=localhost:${port};DeviceId=edge1;ModuleId=${moduleId};SharedAccessKey=${key}`,
    { tls: { ca: hub.caPem }, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } },
  );
  onCleanup(() => m.close());
  return m;
}

async function routedHub(extra: StartHubOptions = {}) {
  return hubForTest({ registry, ...extra });
}

describe('module routing: output to input', () => {
  test('a routed output arrives on the input with its name; complete, abandon and reject', async () => {
    const hub = await routedHub();
    const sensor = moduleClient(hub, 'sensor');
    const filter = moduleClient(hub, 'filter');
    const inputs = filter.inputMessages();

    await sensor.sendOutputEvent('temperature', { body: { t: 21 }, properties: { unit: 'C' } });
    const m = await nextWithin(inputs, 10_000);
    if (typeof m === 'string') throw new Error(`no input message: ${m}`);
    expect(m.inputName).toBe('readings');
    expect([m.connectionDeviceId, m.connectionModuleId]).toEqual(['edge1', 'sensor']);
    expect(m.json()).toEqual({ t: 21 });
    expect(m.properties).toMatchObject({ unit: 'C', 'iothub-outputname': 'temperature' });
    await m.complete();

    // The events endpoint has it too.
    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('edge1')).next()!;
    expect(e.message.applicationProperties).toMatchObject({ 'iothub-outputname': 'temperature' });

    await sensor.sendOutputEvent('temperature', 'again');
    const first = await nextWithin(inputs, 10_000);
    if (typeof first === 'string') throw new Error(`no input message: ${first}`);
    await first.abandon();
    const second = await nextWithin(inputs, 10_000);
    if (typeof second === 'string') throw new Error(`no redelivery: ${second}`);
    expect([second.text(), second.deliveryCount]).toEqual(['again', 1]);
    await second.reject();
    // An output no route takes reaches no input.
    await sensor.sendOutputEvent('humidity', 'unrouted');
    await sensor.sendOutputEvent('temperature', 'last');
    const last = await nextWithin(inputs, 10_000);
    if (typeof last === 'string') throw new Error(`no input message: ${last}`);
    expect(last.text()).toBe('last');
    await last.complete();
    await until(() => hub.state.inputs.depth('edge1', 'filter') === 0);
    await inputs.close();
  });

  test('a full input queue refuses the sender with a QuotaExceededError; nothing is evicted', async () => {
    const hub = await routedHub({ moduleInputs: { maxQueuedPerModule: 2 } });
    const sensor = moduleClient(hub, 'sensor');
    await sensor.sendOutputEvent('temperature', 'one');
    await sensor.sendOutputEvent('temperature', 'two');
    const err = await sensor.sendOutputEvent('temperature', 'three').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
    expect(hub.state.inputs.depth('edge1', 'filter')).toBe(2);

    const filter = moduleClient(hub, 'filter');
    const inputs = filter.inputMessages();
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await nextWithin(inputs, 10_000);
      if (typeof m === 'string') throw new Error(`no input message: ${m}`);
      texts.push(m.text());
      await m.complete();
    }
    expect(texts).toEqual(['one', 'two']);
    await until(() => hub.state.inputs.depth('edge1', 'filter') === 0);
    await sensor.sendOutputEvent('temperature', 'three');
    const third = await nextWithin(inputs, 10_000);
    if (typeof third === 'string') throw new Error(`no input message: ${third}`);
    expect(third.text()).toBe('three');
  });

  test('the input subscription comes back after a hub restart; queued messages survive it', async () => {
    const stateDir = await tempDir();
    const hub1 = await routedHub({ stateDir, fsync: false });
    const { port, tlsPort } = hub1;
    const sensor = moduleClient(hub1, 'sensor');
    const filter = moduleClient(hub1, 'filter');
    const got: string[] = [];
    filter.onInputMessage((m) => {
      got.push(`${m.inputName}:${m.text()}`);
    });
    await sensor.sendOutputEvent('temperature', 'before');
    await until(() => got.length === 1 && hub1.state.inputs.depth('edge1', 'filter') === 0);
    await hub1.close();
    // Queued while the filter is away: kept in module-inputs.log.
    const offline = await createHubState({ hubName: hub1.hubName, stateDir, fsync: false });
    await offline.sendTelemetry(
      'edge1',
      { applicationProperties: { 'iothub-outputname': 'temperature' }, body: Buffer.from('during') },
      { moduleId: 'sensor' },
    );
    await offline.close();
    const hub2 = await hubForTest({ stateDir, port, tlsPort, fsync: false });
    await until(() => got.length === 2, 20_000, 'the message queued during the restart');
    await sensor.sendOutputEvent('temperature', 'after');
    await until(() => got.length === 3, 20_000, 'the message sent after the restart');
    expect(got).toEqual(['readings:before', 'readings:during', 'readings:after']);
    await until(() => hub2.state.inputs.depth('edge1', 'filter') === 0);
  });

  test("a module's input needs that module's credentials", async () => {
    const hub = await routedHub();
    // The sensor's key, claiming to be the filter: its token does not verify.
    const impostor = moduleClient(hub, 'filter', 'sensor');
    const err = await impostor
      .inputMessages()
      .next()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UnauthorizedError' });
  });
});
