// The codec alone (amqp-one/codec loads no sockets): AMQP values and whole messages to bytes and
// back. Plain JS values map to the obvious AMQP types; wrappers pick the types JS cannot tell apart.
//   node examples/codec.mjs
import { decodeMessage, decodeValue, encode, encodeMessage, symbol, ubyte, ulong } from 'amqp-one/codec';

const value = [symbol('reading'), ubyte(7), 21.5, 'sensor-1', new Date(0)];
const bytes = encode(value);
console.log(`value: ${bytes.length} bytes ${bytes.toString('hex')}`);
console.log(`decoded: ${JSON.stringify(decodeValue(bytes))}`);

const message = encodeMessage({
  header: { durable: true },
  properties: { messageId: ulong(42), contentType: 'application/json' },
  messageAnnotations: { 'x-opt-partition-key': 'sensor-1' },
  applicationProperties: { temperature: 21.5 },
  body: Buffer.from(JSON.stringify({ t: 21.5 })),
});
const m = decodeMessage(message);
console.log(`message: ${message.length} bytes`);
console.log(
  `messageId ${m.properties.messageId.type} ${m.properties.messageId.value}, durable ${m.header.durable}`,
);
console.log(`body ${m.body.toString('utf8')}`); // a data section decodes to a Buffer (a view of `message`)
