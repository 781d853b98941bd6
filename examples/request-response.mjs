// A request/response service through a broker: a responder reads requests from a queue and answers
// each on its reply-to address; a requester sends requests and matches the answers by correlation-id.
//   node examples/request-response.mjs [amqp://host:port]  (or AMQP_URL; default amqp://localhost:5672)
import { connect, RequestResponseLink } from 'amqp-one';

const url = process.argv[2] ?? process.env.AMQP_URL ?? 'amqp://localhost:5672';
const service = 'uppercase';

/** The responder: one connection, a receiver on the service's queue, one sender per reply-to. */
async function respond(conn, signal) {
  const requests = await conn.openReceiver({ address: service, credit: 10 });
  const replies = new Map();
  signal.addEventListener('abort', () => void requests.close());
  for await (const m of requests) {
    const { messageId, replyTo } = m.message.properties ?? {};
    if (!replies.has(replyTo)) replies.set(replyTo, await conn.openSender(replyTo));
    await replies.get(replyTo).send({
      properties: { correlationId: messageId },
      body: String(m.message.body).toUpperCase(),
    });
    m.accept();
  }
}

const responderConn = await connect(url);
const requesterConn = await connect(url);
const stop = new AbortController();
const responder = respond(responderConn, stop.signal);
try {
  // RequestResponseLink opens a sender to the service and a receiver on its own reply-to address.
  const rr = await RequestResponseLink.open(requesterConn, { address: service, timeoutMs: 10_000 });
  for (const word of ['hello', 'amqp']) {
    const reply = await rr.request({ body: word });
    console.log(`reply to ${word}: ${reply.body}`);
  }
  await rr.close();
} finally {
  stop.abort();
  await responder.catch(() => undefined);
  await Promise.all([requesterConn.close(), responderConn.close()]);
}
