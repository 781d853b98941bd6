/**
 * A hub reached over TLS that redirects the events to a plain `amqp://` endpoint: the client
 * refuses with a typed error and never connects there, so the hub-scoped token that would follow
 * the redirect is never sent in clear text.
 */
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { ServiceClient } from '../../../src/iothub/client/index.js';
import { InsecureRedirectError } from '../../../src/iothub/errors.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';
import { CbsPeer } from './cbs-peer.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test('a redirect from TLS to amqp:// is refused with IOTHUB_INSECURE_REDIRECT; nothing connects to the plain port', async () => {
  // The plain endpoint the redirect points at: it counts who comes.
  const arrivals: net.Socket[] = [];
  const plain = net.createServer((s) => {
    arrivals.push(s);
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => plain.close(r)));
  const plainPort = (plain.address() as net.AddressInfo).port;

  const ca = createCertificateAuthority({ commonName: 'redirect test CA', validDays: 1 });
  const cert = issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
    usage: 'server',
  });
  const peer = await new CbsPeer({
    key: KEY,
    now: () => Date.now(),
    tls: { cert: cert.certPem, key: cert.keyPem },
    redirect: (address) =>
      address.includes('/messages/events')
        ? {
            condition: 'amqp:link:redirect',
            info: {
              hostname: '127.0.0.1',
              'network-host': '127.0.0.1',
              port: plainPort,
              address: `amqp://127.0.0.1:${plainPort}/hub/ConsumerGroups/$Default/Partitions/0`,
            },
          }
        : undefined,
  }).start();
  cleanups.push(() => peer.close());

  const service = ServiceClient.fromConnectionString(
    `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${KEY}`,
    { tls: { ca: ca.certPem }, port: peer.port, reconnect: false },
  );
  cleanups.push(() => service.close());
  const err = await service
    .events({ partitions: ['0'] })
    .start()
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InsecureRedirectError);
  expect((err as InsecureRedirectError).code).toBe('IOTHUB_INSECURE_REDIRECT');
  // The hub did authorize us (the redirect came after put-token), and nobody went to the plain port.
  expect(peer.puts.length).toBeGreaterThan(0);
  expect(arrivals.length).toBe(0);
});
