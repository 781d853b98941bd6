/**
 * Our ModuleClient against the emulator: fromEnvironment (IoT Edge's variables), telemetry to an
 * output (`iothub-outputname`, the module named on the event), and the module's own direct methods
 * and twin, with the module's key.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ModuleClient } from '../../../src/iothub/client/index.js';
import { IotHubConfigError } from '../../../src/iothub/errors.js';
import { entry } from '../../../src/iothub/message-values.js';
import { cleanup, hubForTest, onCleanup } from './hub-fixture.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

afterEach(cleanup);

describe('ModuleClient', () => {
  test('from the environment: output telemetry, methods and twin of the module', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const m = hub.state.registry.addModule('d1', 'filter');
    const cs = `HostName=${hub.hostName};DeviceId=d1;ModuleId=filter;SharedAccessKey=${m.primaryKey}`;
    const module = ModuleClient.fromEnvironment(
      {},
      { IotHubConnectionString: cs, EdgeModuleCACertificateFile: hub.caFile },
    );
    onCleanup(() => module.close());
    expect([module.deviceId, module.moduleId]).toEqual(['d1', 'filter']);

    await module.sendOutputEvent('alerts', { body: { level: 'high' } });
    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('d1')).next()!;
    expect(entry(e.message.applicationProperties, 'iothub-outputname')).toBe('alerts');
    expect(entry(e.message.messageAnnotations, 'iothub-connection-module-id')).toBe('filter');

    module.onMethod('reset', () => ({ status: 200, payload: { module: 'filter' } }));
    await module.enableMethods();
    expect(hub.state.methods.isSubscribed('d1')).toBe(false);
    const r = await hub.state.invokeMethod('d1', 'filter', 'reset', Buffer.from('null'));
    expect([r.status, JSON.parse(Buffer.from(r.payload).toString())]).toEqual([200, { module: 'filter' }]);

    expect(await module.updateReported({ threshold: 5 })).toBe(2);
    expect(withoutMetadata(hub.state.getTwin('d1', 'filter').properties.reported)).toEqual({
      threshold: 5,
      $version: 2,
    });
    expect(withoutMetadata(hub.state.getTwin('d1').properties.reported)).toEqual({ $version: 1 });
  });

  test('refuses what it cannot use: no ModuleId, no variables, the edge workload API', () => {
    const device = 'HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=AAAA';
    expect(() => ModuleClient.fromConnectionString(device)).toThrow(IotHubConfigError);
    expect(() => ModuleClient.fromEnvironment({}, {})).toThrow(/neither EdgeHubConnectionString/);
    expect(() =>
      ModuleClient.fromEnvironment({}, { IOTEDGE_WORKLOADURI: 'unix:///var/run/iotedge/workload.sock' }),
    ).toThrow(/workload API is not supported/);
  });
});
