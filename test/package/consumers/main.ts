/**
 * A consumer of the packed tarball, compiled under each TypeScript setting of ../consumers.test.ts.
 * It loads every entry point and runs one send and one receive against listen() on loopback.
 */
import { connect, listen, type IncomingLink, type ReceivedMessage } from 'amqp-one';
import { connect as connectFromBrowserEntry } from 'amqp-one/browser';
import { decodeMessage, encodeMessage } from 'amqp-one/codec';
import { DeviceClient, parseDeviceConnectionString } from 'amqp-one/iothub';
import { DeviceClient as BrowserDeviceClient } from 'amqp-one/iothub/browser';
import { startHub } from 'amqp-one/iothub/emulator';

async function main(): Promise<void> {
  const entries: Record<string, string> = {
    '.': typeof connect,
    './browser': typeof connectFromBrowserEntry,
    './codec': typeof decodeMessage,
    './iothub': typeof DeviceClient,
    './iothub/browser': typeof BrowserDeviceClient,
    './iothub/emulator': typeof startHub,
  };
  const roundTrip = decodeMessage(encodeMessage({ body: 'codec' })).body;
  const device = parseDeviceConnectionString('HostName=h.example;DeviceId=d1;SharedAccessKey=a2V5').deviceId;

  let gotFromClient: ReceivedMessage | undefined;
  const server = await listen({
    host: '127.0.0.1',
    port: 0,
    sasl: { anonymous: true },
    onLink(link: IncomingLink) {
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
  reply?.accept();
  await conn.close();
  await server.close();
  console.log(
    JSON.stringify({
      entries,
      roundTrip,
      device,
      outcome: outcome?.type,
      serverGot: gotFromClient?.message.body,
      clientGot: reply?.message.body,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
