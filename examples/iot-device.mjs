// An IoT Hub device: sends telemetry, then receives cloud-to-device messages and completes them.
//   node examples/iot-device.mjs "<device connection string>" [messages to wait for]
//   (or DEVICE_CONNECTION_STRING and C2D_COUNT; the emulator: `npx amqp-one hub --device sensor-1`)
// For the emulator's TLS port, trust its CA: NODE_EXTRA_CA_CERTS=<ca file> or { tls: { ca } }.
import { DeviceClient, jsonMessage } from 'amqp-one/iothub';

const connectionString = process.argv[2] ?? process.env.DEVICE_CONNECTION_STRING;
const expected = Number(process.argv[3] ?? process.env.C2D_COUNT ?? 1);
if (!connectionString) throw new TypeError('give the device connection string as an argument');

const device = DeviceClient.fromConnectionString(connectionString);
try {
  for (let i = 1; i <= 3; i++) {
    // Resolves once the hub has accepted the event.
    await device.sendEvent(
      jsonMessage({ reading: i, temperature: 20 + i }, { properties: { kind: 'reading' } }),
    );
    console.log(`device ${device.deviceId}: sent reading ${i}`);
  }

  let n = 0;
  for await (const m of device.messages()) {
    console.log(`device ${device.deviceId}: C2D ${m.messageId}: ${m.body?.toString('utf8')}`);
    await m.complete(); // or m.reject() (dead-letter), m.abandon() (redeliver)
    if (++n === expected) break;
  }
} finally {
  await device.close();
}
