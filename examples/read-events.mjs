// Reads device telemetry from the IoT hub's Event Hubs-compatible endpoint: the service client
// asks the hub, follows its redirect to the endpoint, and reads every partition.
//   node examples/read-events.mjs "<service connection string>" [events to read]
//   (or SERVICE_CONNECTION_STRING and EVENT_COUNT)
import { ServiceClient, eventText } from 'amqp-one/iothub';

const connectionString = process.argv[2] ?? process.env.SERVICE_CONNECTION_STRING;
const count = Number(process.argv[3] ?? process.env.EVENT_COUNT ?? 3);
if (!connectionString) throw new TypeError('give the service connection string as an argument');

const service = ServiceClient.fromConnectionString(connectionString);
try {
  let n = 0;
  // from: 'earliest' | 'latest' | { sequenceNumber } | { offset } | { enqueuedTime }, per partition if need be.
  for await (const e of service.events({ from: 'earliest' })) {
    const { deviceId, sequenceNumber, enqueuedTime } = e.systemProperties;
    console.log(
      `event from ${deviceId} on partition ${e.partitionId} #${sequenceNumber} at ${enqueuedTime.toISOString()}: ${eventText(e)}`,
    );
    if (++n === count) break;
  }
} finally {
  await service.close();
}
