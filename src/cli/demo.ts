/**
 * `amqp-one demo` (and `npm run demo`): the whole IoT Hub round trip against a local emulator, each
 * step printed: telemetry up, read back through the Event Hubs redirect, a C2D message down with
 * full acknowledgement, completed by the device, and the Success feedback with its message id.
 */
import { startHub } from '../iothub/emulator/index.js';
import { DeviceClient, ServiceClient, eventText, jsonMessage } from '../iothub/client/index.js';
import { noPositionals, parse } from './args.js';

export const DEMO_HELP = `amqp-one demo
  Starts a local IoT Hub emulator in this process and runs a device and a service against it over
  TLS: telemetry, reading it through the Event Hubs-compatible redirect, a C2D message with
  ack=full, its completion, and the Success feedback.`;

const step = (n: number, text: string): void => console.log(`\n[${n}/7] ${text}`);
const detail = (text: string): void => console.log(`      ${text}`);

/** Resolves with the first value of an async iterable that matches, or rejects after `ms`. */
async function first<T>(it: AsyncIterable<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for await (const v of it) if (ok(v)) return v;
    throw new Error(`${what}: the stream ended`);
  } catch (e) {
    if (ac.signal.aborted) throw new Error(`${what}: nothing within ${ms} ms`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) return (console.log(DEMO_HELP), 0);
  noPositionals(positionals);

  step(1, 'Starting the local IoT Hub emulator (in this process, TLS on a free port)');
  const hub = await startHub({ port: 0, tlsPort: 0, feedbackBatchDelayMs: 200, log: () => undefined });
  const tls = { ca: hub.caPem };
  detail(`hub ${hub.hostName}, CA ${hub.caFile}`);
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('sensor-0042'), { tls });
  const service = ServiceClient.fromConnectionString(hub.serviceConnectionString('iothubowner'), { tls });
  try {
    step(2, 'Registering device sensor-0042');
    detail(hub.deviceConnectionString('sensor-0042').replace(/SharedAccessKey=.*/, 'SharedAccessKey=<key>'));

    step(3, 'Device sends telemetry');
    const reading = { deviceId: 'sensor-0042', temperature: 21.5, humidity: 48 };
    await device.sendEvent(jsonMessage(reading, { properties: { alert: 'false' } }));
    detail(`accepted by the hub: ${JSON.stringify(reading)}`);

    step(4, 'Service reads it through the redirect to the Event Hubs-compatible endpoint');
    const event = await first(
      service.events({ from: 'earliest' }),
      (e) => e.systemProperties.deviceId === 'sensor-0042',
      15_000,
      'telemetry',
    );
    detail(
      `partition ${event.partitionId}, sequence ${event.systemProperties.sequenceNumber}, offset ${event.systemProperties.offset}`,
    );
    detail(
      `from ${event.systemProperties.deviceId} at ${event.systemProperties.enqueuedTime.toISOString()}: ${eventText(event)}`,
    );

    step(5, 'Service sends a cloud-to-device message with ack=full');
    const { messageId } = await service.send(
      'sensor-0042',
      jsonMessage({ command: 'set-interval', seconds: 30 }),
      {
        ack: 'full',
      },
    );
    detail(`message id ${messageId}`);

    step(6, 'Device receives it and completes it');
    const c2d = await first(device.messages(), () => true, 15_000, 'C2D message');
    detail(`received ${c2d.text()}`);
    await c2d.complete();
    detail('completed');

    step(7, 'Service reads the delivery feedback');
    const batch = await first(
      service.feedback(),
      (b) => b.records.some((r) => r.originalMessageId === messageId),
      15_000,
      'feedback',
    );
    const record = batch.records.find((r) => r.originalMessageId === messageId)!;
    detail(
      `${record.statusCode} for original message id ${record.originalMessageId} (device ${record.deviceId})`,
    );
    if (record.statusCode !== 'Success')
      throw new Error(`expected Success feedback, got ${record.statusCode}`);
    console.log('\nDone: every step of the round trip worked.');
    return 0;
  } finally {
    await device.close().catch(() => undefined);
    await service.close().catch(() => undefined);
    await hub.close();
  }
}
