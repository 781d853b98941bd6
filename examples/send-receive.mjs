// Send three messages to a queue and receive them back, settling each one.
//   node examples/send-receive.mjs [amqp://host:port]      (or AMQP_URL; default amqp://localhost:5672)
// Any AMQP 1.0 broker will do, for example `npx amqp-one broker`.
import { connect } from 'amqp-one';

const url = process.argv[2] ?? process.env.AMQP_URL ?? 'amqp://localhost:5672';
const queue = process.env.AMQP_QUEUE ?? 'examples';

const conn = await connect(url);
try {
  const sender = await conn.openSender(queue);
  for (let i = 1; i <= 3; i++) {
    // send() resolves with the broker's outcome once it has settled the message.
    const outcome = await sender.send({
      properties: { messageId: `order-${i}` },
      applicationProperties: { priority: i === 1 ? 'high' : 'normal' },
      body: `${2 * i} widgets`,
    });
    console.log(`sent order-${i}: ${outcome.type}`);
  }

  const receiver = await conn.openReceiver({ address: queue, credit: 10 });
  let n = 0;
  for await (const m of receiver) {
    const { properties, applicationProperties, body } = m.message;
    console.log(`received ${properties?.messageId} (${applicationProperties?.priority}): ${body}`);
    m.accept();
    if (++n === 3) break; // leaving the loop closes the receiver
  }
} finally {
  await conn.close();
}
