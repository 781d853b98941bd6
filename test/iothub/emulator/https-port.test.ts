/**
 * The emulator's HTTPS port (https-port.ts) against bad input over real TLS sockets: a malformed
 * upgrade, a wrong path, no AMQP subprotocol, a plain GET, an oversized head, a client that says
 * nothing until the deadline (injected timers), a port that is full. After each, the hub still
 * serves a device over WebSockets on that port.
 */
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '../../../src/iothub/client/index.js';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { listenHttps, type HttpsPort } from '../../../src/iothub/emulator/https-port.js';
import { listen, type AmqpServer } from '../../../src/server/server.js';
import { prepareTls, type TlsMaterial } from '../../../src/iothub/emulator/certificates.js';
import { ManualTimers } from '../../support/manual-timers.js';

let hub: IotHubEmulator;

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['https-dev'] });
});

afterAll(async () => {
  await hub?.close();
});

/** A TLS socket to `port` trusting `ca`, connected. */
function tlsTo(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `request` and reads everything until the server closes. */
async function exchange(request: string | Buffer, port = hub.httpsPort!): Promise<string> {
  const s = await tlsTo(port, hub.caPem!);
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => {});
  s.write(request);
  await new Promise<void>((r) => s.once('close', () => r()));
  return Buffer.concat(chunks).toString('latin1');
}

const upgrade = (path: string, extra: string[] = []) =>
  [
    `GET ${path} HTTP/1.1`,
    'Host: localhost',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
const KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';

/** The hub still serves a device over WebSockets on its HTTPS port. */
async function stillServes(): Promise<void> {
  const cs = hub.deviceConnectionString('https-dev').replace(`:${hub.tlsPort}`, `:${hub.httpsPort}`);
  const device = DeviceClient.fromConnectionString(cs, {
    tls: { ca: hub.caPem },
    transport: 'amqp-ws',
    reconnect: false,
  });
  try {
    await device.sendEvent('still here');
  } finally {
    await device.close();
  }
}

describe('bad input on the HTTPS port', () => {
  afterEach(stillServes);

  it('an upgrade without Sec-WebSocket-Key: 400, closed', async () => {
    const answer = await exchange(upgrade('/$iothub/websocket', ['Sec-WebSocket-Protocol: AMQPWSB10']));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('Sec-WebSocket-Key');
  });

  it('an upgrade to a path that is not an endpoint: 404', async () => {
    const answer = await exchange(upgrade('/elsewhere', [KEY, 'Sec-WebSocket-Protocol: AMQPWSB10']));
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('an upgrade offering no AMQP subprotocol: 400', async () => {
    const answer = await exchange(upgrade('/$iothub/websocket', [KEY, 'Sec-WebSocket-Protocol: mqtt']));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('AMQPWSB10');
  });

  it('a plain GET of a path the REST API does not have: 404 in JSON', async () => {
    const answer = await exchange(
      'GET /elsewhere?api-version=2021-04-12 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toMatch(/content-type: application\/json/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { Message: string };
    expect(body.Message).toMatch(/^ErrorCode:NotFound;/);
  });

  it('a head larger than 8 KiB: refused (431), nothing more read', async () => {
    const big = `GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const answer = await exchange(big);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('bytes that are not HTTP: 400', async () => {
    const answer = await exchange(Buffer.from('AMQP\x00\x01\x00\x00\r\n\r\n', 'latin1'));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('a good upgrade gets 101 with the subprotocol, on either endpoint, with or without a trailing slash', async () => {
    for (const path of ['/$iothub/websocket', '/$servicebus/websocket/']) {
      const s = await tlsTo(hub.httpsPort!, hub.caPem!);
      s.write(upgrade(path, [KEY, 'Sec-WebSocket-Protocol: amqp, AMQPWSB10']));
      const head = await new Promise<string>((r) => s.once('data', (c: Buffer) => r(c.toString('latin1'))));
      expect(head).toMatch(/^HTTP\/1\.1 101 /);
      expect(head).toContain('Sec-WebSocket-Protocol: AMQPWSB10');
      s.destroy();
    }
  });
});

describe('what an unauthenticated client can hold (listenHttps with injected timers)', () => {
  let material: TlsMaterial;
  let amqp: AmqpServer;
  let port: HttpsPort | undefined;

  beforeAll(async () => {
    material = await prepareTls({});
    amqp = await listen({ port: 0, sasl: false });
  });
  afterEach(async () => {
    await port?.close();
    port = undefined;
  });
  afterAll(async () => {
    await amqp?.close();
    await material?.cleanup();
  });

  const start = (timers: ManualTimers, maxConnections = 10) =>
    listenHttps({
      host: '127.0.0.1',
      port: 0,
      tls: { cert: material.cert, key: material.key },
      paths: ['/$iothub/websocket'],
      server: amqp,
      maxConnections,
      deadlineMs: 1000,
      timers,
    });

  it('a client silent after TLS is dropped at the deadline, not before', async () => {
    const timers = new ManualTimers();
    port = await start(timers);
    const s = await tlsTo(port.port, material.caPem!);
    s.on('error', () => {});
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    // The server has seen the TLS handshake once its deadline is armed.
    while (timers.timers === 0) await new Promise((r) => setTimeout(r, 5));
    timers.advance(999);
    expect(s.destroyed).toBe(false);
    timers.advance(1);
    await closed;
    expect(timers.timers).toBe(0);
  });

  it("a client that upgraded is the AMQP server's: its deadline is cleared", async () => {
    const timers = new ManualTimers();
    port = await start(timers);
    const before = amqp.connections.size;
    const s = await tlsTo(port.port, material.caPem!);
    s.on('error', () => {});
    s.write(upgrade('/$iothub/websocket', [KEY, 'Sec-WebSocket-Protocol: AMQPWSB10']));
    await new Promise((r) => s.once('data', r));
    while (amqp.connections.size === before) await new Promise((r) => setTimeout(r, 5));
    expect(timers.timers).toBe(0);
    s.destroy();
  });

  it('past maxConnections a socket is closed at once', async () => {
    port = await start(new ManualTimers(), 1);
    const first = await tlsTo(port.port, material.caPem!);
    first.on('error', () => {});
    const second = tls.connect({
      host: '127.0.0.1',
      port: port.port,
      ca: material.caPem,
      servername: 'localhost',
    });
    const outcome = await new Promise<string>((r) => {
      second.once('secureConnect', () => r('connected'));
      second.once('error', () => r('refused'));
      second.once('close', () => r('refused'));
    });
    expect(outcome).toBe('refused');
    first.destroy();
  });
});
