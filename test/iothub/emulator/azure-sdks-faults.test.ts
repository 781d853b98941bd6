/**
 * The official azure-iot-device 1.18.4 (`Amqp` transport) asks the emulator for a fault itself,
 * with the AzIoTHub_FaultOperation* properties as its own disconnect e2e tests set them, and
 * recovers: its method handler answers a call made after the fault, and it sends again. The hub's
 * clock is manual: the fault fires when this process sees it pending and moves the clock past its
 * delay. The scenario runs in a child process (sdk-support.ts).
 *
 * After KillAmqpConnection the SDK takes about 45 s to notice: on a close with an error,
 * azure-iot-amqp-base's `disconnecting` state detaches its links and waits for answers that a
 * closed connection never brings, until its 45-second timer runs the rundown again with forced
 * detaches (amqp.js, SRS_NODE_COMMON_AMQP_06_007); its own e2e tests allow 60 s. It then does not
 * retry by itself (translateError makes `amqp:connection:forced` a plain Error, which its
 * DefaultErrorFilter does not retry) but emits 'disconnect', on which the application makes a new
 * client, as the SDK's samples recover. After KillTcp it reconnects by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { runSdkScenario } from './sdk-support.js';

let hub: IotHubEmulator | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const SCENARIO = `
const { Client, Message } = require('azure-iot-device');
const { Amqp } = require('azure-iot-device-amqp');
const fs = require('node:fs');

const pings = [];
let afterFault;
const answeredAfter = new Promise((resolve) => (afterFault = resolve));
// A client with its method handler; after a 'disconnect' (the SDK stopped retrying, see above)
// the application makes a new one, as the SDK's samples recover.
const reconnects = [];
let device;
async function connectDevice() {
  const d = Client.fromConnectionString(input.deviceCs, Amqp);
  await d.setOptions({ ca: fs.readFileSync(input.caFile, 'utf8') });
  await d.open();
  d.onDeviceMethod('ping', (request, response) => {
    pings.push(request.payload);
    response.send(200, { pong: request.payload }, () => {});
    if (request.payload === 'after') afterFault();
  });
  d.once('disconnect', () => {
    reconnects.push('disconnect');
    d.close(() => connectDevice().then((n) => (device = n)).catch((e) => reconnects.push('failed: ' + e)));
  });
  return d;
}
device = await connectDevice();
await device.sendEvent(new Message('before'));

// As azure-iot-sdk-node's e2etests/test/*_disconnect.js build it.
const fault = new Message('');
fault.messageId = 'fault-' + input.operation;
fault.properties.add('AzIoTHub_FaultOperationType', input.operation);
fault.properties.add('AzIoTHub_FaultOperationCloseReason', ' severs the connection ');
fault.properties.add('AzIoTHub_FaultOperationDelayInSecs', 1);
fault.properties.add('AzIoTHub_FaultOperationDurationInSecs', 0);
await device.sendEvent(fault);

await answeredAfter;
await device.sendEvent(new Message('after'));
await device.close();
done({ pings, reconnects });
`;

/**
 * Calls `ping` once the device is on its methods link: the hub holds the call until a method link
 * attaches (its connect timeout runs on the hub's manual clock, which stands still meanwhile), so
 * the wait ends on the attach itself. A scenario that fails first fails the call.
 */
async function pingOnceOnline(
  h: IotHubEmulator,
  payload: string,
  scenario: Promise<unknown>,
): Promise<unknown> {
  const call = h.state.invokeMethod('sdk-dev', undefined, 'ping', Buffer.from(JSON.stringify(payload)), {
    connectTimeoutMs: 300_000,
  });
  const r = await Promise.race([call, scenario.then(() => call)]);
  return { status: r.status, payload: JSON.parse(Buffer.from(r.payload).toString()) as unknown };
}

/** How long the SDK may take to be back (see above). */
const RECOVERY_MS = { KillTcp: 30_000, KillAmqpConnection: 75_000 };

describe.each([['KillTcp'], ['KillAmqpConnection']] as const)(
  'azure-iot-device 1.18.4 (Amqp) and %s',
  (operation) => {
    it(
      'sends the fault message itself, then answers a method and sends again',
      { timeout: 120_000 },
      async () => {
        let now = Date.now();
        // The hub's log says when the fault message is in: then the test moves the clock past its delay.
        let pending!: () => void;
        const faultPending = new Promise<void>((r) => (pending = r));
        const log = (line: string): void => {
          if (line.startsWith(`fault injection from sdk-dev: ${operation} in `)) pending();
        };
        const h = (hub = await startHub({
          tlsPort: 0,
          devices: ['sdk-dev'],
          clock: { now: () => now },
          log,
        }));
        const scenario = runSdkScenario<{ pings: string[]; reconnects: string[] }>(
          SCENARIO,
          { deviceCs: h.deviceConnectionString('sdk-dev'), caFile: h.caFile, operation },
          { caFile: h.caFile!, timeoutMs: RECOVERY_MS[operation] + 30_000 },
        );
        const failed = scenario.then(
          () => false,
          () => true,
        );
        expect(await pingOnceOnline(h, 'before', scenario)).toEqual({
          status: 200,
          payload: { pong: 'before' },
        });
        await Promise.race([faultPending, scenario]);
        expect(h.faults!.pendingCount).toBe(1);
        now += 1000;
        h.tick(now);
        expect(h.faults!.history).toEqual([{ operation, identity: 'sdk-dev', killed: 1, again: false }]);
        expect(await pingOnceOnline(h, 'after', scenario)).toEqual({
          status: 200,
          payload: { pong: 'after' },
        });
        expect(await failed).toBe(false);
        const { result } = await scenario;
        expect(result.pings).toEqual(['before', 'after']);
        expect(result.reconnects).toEqual(operation === 'KillTcp' ? [] : ['disconnect']);
        // What it sent, the fault message included, is in the partition once each.
        const t = h.state.telemetry;
        expect(t.size(t.partitionOf('sdk-dev'))).toBe(3);
      },
    );
  },
);
