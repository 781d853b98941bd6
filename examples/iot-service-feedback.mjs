// An IoT Hub service: sends a cloud-to-device message asking for full acknowledgement, then waits
// for the feedback record that says what the device did with it.
//   node examples/iot-service-feedback.mjs "<service connection string>" <device id>
//   (or SERVICE_CONNECTION_STRING and DEVICE_ID); run examples/iot-device.mjs to complete it.
import { ServiceClient, jsonMessage } from 'amqp-one/iothub';

const connectionString = process.argv[2] ?? process.env.SERVICE_CONNECTION_STRING;
const deviceId = process.argv[3] ?? process.env.DEVICE_ID;
if (!connectionString || !deviceId) throw new TypeError('give the service connection string and a device id');

const service = ServiceClient.fromConnectionString(connectionString);
try {
  // ack 'full': feedback whether the device completes, rejects or lets the message expire.
  const { messageId } = await service.send(deviceId, jsonMessage({ command: 'set-interval', seconds: 30 }), {
    ack: 'full',
  });
  console.log(`service: sent ${messageId} to ${deviceId}`);

  // The hub batches feedback records; each batch is settled (completed) when the loop moves on.
  for await (const batch of service.feedback()) {
    const record = batch.records.find((r) => r.originalMessageId === messageId);
    if (!record) continue;
    console.log(
      `service: feedback ${record.statusCode} for ${record.originalMessageId} from ${record.deviceId}`,
    );
    break;
  }
} finally {
  await service.close();
}
