// Plain CommonJS: require() of every entry point, then one send and one receive against listen().
'use strict';
const { connect, listen } = require('amqp-one');
const { connect: connectFromBrowserEntry } = require('amqp-one/browser');
const { decodeMessage, encodeMessage } = require('amqp-one/codec');
const { DeviceClient, parseDeviceConnectionString } = require('amqp-one/iothub');
const { DeviceClient: BrowserDeviceClient } = require('amqp-one/iothub/browser');
const { startHub } = require('amqp-one/iothub/emulator');

async function main() {
  const entries = {
    '.': typeof connect,
    './browser': typeof connectFromBrowserEntry,
    './codec': typeof decodeMessage,
    './iothub': typeof DeviceClient,
    './iothub/browser': typeof BrowserDeviceClient,
    './iothub/emulator': typeof startHub,
  };
  const roundTrip = decodeMessage(encodeMessage({ body: 'codec' })).body;
  const device = parseDeviceConnectionString('HostName=h.example;DeviceId=d1;SharedAccessKey=a2V5').deviceId;

  let gotFromClient;
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    sasl: { anonymous: true },
    onLink(link) {
      if (link.role === 'sender') {
        void link.acceptSender().send({ body: 'from the server' });
        return;
      }
      void (async () => {
        for await (const m of link.acceptReceiver()) {
          gotFromClient = m;
          m.accept();
        }
      })();
    },
  });
  const conn = await connect({ host: '127.0.0.1', port: server.port });
  const outcome = await (await conn.openSender('in')).send({ body: 'from the client' });
  const receiver = await conn.openReceiver({ address: 'out', credit: 1 });
  const reply = await receiver.receive();
  reply.accept();
  await conn.close();
  await server.close();
  console.log(
    JSON.stringify({
      entries,
      roundTrip,
      device,
      outcome: outcome.type,
      serverGot: gotFromClient && gotFromClient.message.body,
      clientGot: reply.message.body,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
