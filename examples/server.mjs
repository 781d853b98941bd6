// An AMQP server is a set of handlers: onConnection sees each client, onLink each link it attaches.
// This one has two nodes: 'log' takes messages, 'clock' hands out the time. It starts, a client
// uses both nodes, and it stops.
//   node examples/server.mjs [port]                       (or PORT; default 0: a free port)
import { connect, listen, Condition } from 'amqp-one';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);

const server = await listen({
  port,
  sasl: { anonymous: true }, // there is no default: say who may connect
  onConnection(c) {
    console.log(`server: ${c.remoteContainerId} connected as ${c.identity}`);
  },
  onLink(link) {
    if (link.address === 'log' && link.role === 'receiver') {
      // The client sends to 'log': accept with a receiver and consume what it sends.
      const receiver = link.acceptReceiver({ credit: 10 });
      void (async () => {
        for await (const m of receiver) {
          console.log(`server: log ${JSON.stringify(m.message.body)}`);
          m.accept();
        }
      })();
    } else if (link.address === 'clock' && link.role === 'sender') {
      // The client receives from 'clock': accept with a sender and send it one message.
      const sender = link.acceptSender();
      void sender.send({ body: new Date(0) }).catch(() => undefined);
    } else {
      link.refuse({ condition: Condition.NotFound, description: `no node ${link.address}` });
    }
  },
});
console.log(`server: listening on port ${server.port}`);

const conn = await connect({ host: 'localhost', port: server.port, containerId: 'example-client' });
try {
  const log = await conn.openSender('log');
  console.log(`client: log outcome ${(await log.send({ body: 'hello server' })).type}`);

  const clock = await conn.openReceiver('clock');
  for await (const m of clock) {
    console.log(`client: clock says ${m.message.body.toISOString()}`);
    m.accept();
    break;
  }

  await conn.openSender('nowhere').catch((e) => console.log(`client: refused with ${e.code}`));
} finally {
  await conn.close();
  await server.close();
}
