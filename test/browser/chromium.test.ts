/**
 * amqp-one in a real browser: Debian's headless Chromium, driven through the DevTools protocol
 * (puppeteer-core), loads a page bundled from src/browser.ts and src/iothub/browser.ts by esbuild
 * with no Node polyfills (test/browser/page.ts). The page encodes and decodes the telemetry
 * message (byte for byte as Node does), connects over ws:// and wss:// to our broker to send and
 * receive, with Node clients on the other end over TCP, and is an IoT Hub device over wss:// to
 * the emulator, whose telemetry a Node ServiceClient reads back through the events redirect.
 *
 * TLS: a test CA issues a certificate for localhost / 127.0.0.1, served by the broker and the
 * emulator alike, and Chromium trusts exactly that key (--ignore-certificate-errors-spki-list,
 * honoured with a --user-data-dir of its own); another key from the same CA is refused. Every wait
 * is a promise the page, the broker or the hub settles; vitest's timeout bounds them.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { WebSocketServer } from 'ws';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/connect.js';
import { decodeMessage, encodeMessage } from '../../src/codec/message.js';
import { jsonBody, telemetryMessage } from '../../src/bench/telemetry.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { ServiceClient, eventText, type IotHubEvent } from '../../src/iothub/client/index.js';
import { bundleForBrowser } from './bundle.js';
import { toHex, toPlain } from './plain.js';
import type { Scenarios } from './page.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let browser: Browser;
let page: Page;
let site: Server;
let broker: Broker;
let wsUrl: string;
let tlsBroker: Broker;
let untrustedBroker: Broker;
let hub: IotHubEmulator;
let profile: string;
/** The test CA's certificate, which the Node clients trust. */
let caPem: string;
/** Errors the page reported, but for Chromium's own line about each refused WebSocket (tested below). */
const consoleErrors: string[] = [];

/** Calls a scenario of the page with JSON arguments and returns its JSON result. */
function run<K extends keyof Scenarios>(
  name: K,
  ...args: Parameters<Scenarios[K]>
): Promise<Awaited<ReturnType<Scenarios[K]>>> {
  return page.evaluate(
    (n: string, a: unknown[]) =>
      (globalThis as unknown as { scenarios: Record<string, (...x: unknown[]) => unknown> }).scenarios[n]!(
        ...a,
      ),
    name,
    args as unknown[],
  ) as Promise<Awaited<ReturnType<Scenarios[K]>>>;
}

/** base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes. */
function spkiHash(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

function listenOn(server: Server | net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

beforeAll(async () => {
  const bundle = await bundleForBrowser('test/browser/page.ts', { format: 'iife', keepNames: true });
  // Served from http://127.0.0.1, a secure context (Web Crypto's randomUUID is there).
  site = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle.code);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><title>amqp-one</title><script src="/page.js"></script>');
    }
  });
  const sitePort = await listenOn(site);
  broker = await startBroker({ port: 0, sasl: { anonymous: true }, websocket: { path: '/' } });
  wsUrl = `ws://127.0.0.1:${broker.port}/`;
  const ca = createCertificateAuthority({ commonName: 'amqp-one browser test CA', validDays: 1 });
  caPem = ca.certPem;
  const server = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], validDays: 1 };
  const trusted = issueCertificate(ca, { commonName: 'localhost', usage: 'server', ...server });
  const other = issueCertificate(ca, { commonName: 'localhost', usage: 'server', ...server });
  const tls = { cert: trusted.certPem, key: trusted.keyPem };
  tlsBroker = await startBroker({ port: 0, sasl: { anonymous: true }, tls, websocket: { path: '/' } });
  untrustedBroker = await startBroker({
    port: 0,
    sasl: { anonymous: true },
    tls: { cert: other.certPem, key: other.keyPem },
    websocket: { path: '/' },
  });
  // x509: false: a hub asks for client certificates (X.509 devices) otherwise, and Chromium's
  // WebSocket cannot answer such a request: the handshake fails (close 1006).
  hub = await startHub({ port: 0, tlsPort: 0, ...tls, x509: false, devices: ['browser-d1'] });
  profile = mkdtempSync(join(tmpdir(), 'amqp-one-chromium-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      // The machine's network is closed: nothing of Chromium's own may try to go out.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      `--user-data-dir=${profile}`,
      `--ignore-certificate-errors-spki-list=${spkiHash(trusted.cert)}`,
    ],
  });
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^WebSocket connection to '.*' failed/.test(m.text()))
      consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`http://127.0.0.1:${sitePort}/`, { waitUntil: 'load' });
});

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await tlsBroker?.close();
  await untrustedBroker?.close();
  await hub?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((r) => (site ? site.close(r) : r(undefined)));
});

describe('in headless Chromium', () => {
  it('the page loaded the bundle without an error', async () => {
    expect(await page.evaluate(() => typeof (globalThis as { scenarios?: unknown }).scenarios)).toBe(
      'object',
    );
    expect(await page.evaluate(() => typeof (globalThis as { Buffer?: unknown }).Buffer)).toBe('undefined');
    expect(consoleErrors).toEqual([]);
  });

  it('encodes the telemetry message to the bytes Node does, and decodes it to the same message', async () => {
    const body = jsonBody();
    const node = encodeMessage(telemetryMessage(body));
    const r = await run('codec', toHex(body));
    expect(r.hex).toBe(toHex(node));
    expect(r.decoded).toEqual(toPlain(decodeMessage(node)));
  });

  it('connects over ws:// to the broker, sends and receives on one connection', async () => {
    const bodies = ['one', 'two', 'three ✓'];
    const r = await run('echo', wsUrl, 'browser-echo', bodies);
    expect(r.outcomes).toEqual(bodies.map(() => ({ class: 'Object', type: 'accepted' })));
    expect(r.got.map((g) => g.body)).toEqual(bodies);
    expect(r.got.map((g) => g.props)).toEqual(bodies.map((_, i) => ({ class: 'Object', i })));
    expect(r.containerId).toMatch(/^amqp-one-broker-/);
  });

  it('what the page sends, a Node client reads over TCP; what Node sends, the page reads', async () => {
    const sent = await run('send', wsUrl, 'to-node', ['a', 'b', 'c']);
    expect(sent).toHaveLength(3);
    const c = await connect({ host: '127.0.0.1', port: broker.port });
    try {
      const receiver = await c.openReceiver('to-node');
      const got: unknown[] = [];
      for await (const d of receiver) {
        got.push({
          body: Buffer.from(d.message.body as Uint8Array).toString(),
          props: d.message.applicationProperties,
        });
        d.accept();
        if (got.length === 3) break;
      }
      expect(got).toEqual(['a', 'b', 'c'].map((body, i) => ({ body, props: { i, from: 'browser' } })));
      const sender = await c.openSender('to-browser');
      for (const [i, b] of ['x', 'y'].entries())
        await sender.send({ body: Buffer.from(b), applicationProperties: { i, from: 'node' } });
    } finally {
      await c.close();
    }
    const r = await run('receive', wsUrl, 'to-browser', 2);
    expect(r).toEqual([
      { body: 'x', props: { class: 'Object', i: 0, from: 'node' }, protocolClass: 'Uint8Array' },
      { body: 'y', props: { class: 'Object', i: 1, from: 'node' }, protocolClass: 'Uint8Array' },
    ]);
  });

  it('connects over wss:// to the broker (the pinned certificate), sends and receives', async () => {
    const bodies = ['over', 'tls'];
    const r = await run('echo', `wss://localhost:${tlsBroker.port}/`, 'browser-wss', bodies);
    expect(r.outcomes).toEqual(bodies.map(() => ({ class: 'Object', type: 'accepted' })));
    expect(r.got.map((g) => g.body)).toEqual(bodies);
    expect(r.containerId).toMatch(/^amqp-one-broker-/);
  });

  it('refuses wss:// to a certificate of another key from the same CA: the pin is that key only', async () => {
    const r = await run('connectError', `wss://localhost:${untrustedBroker.port}/`);
    expect(r).toMatchObject({ error: { name: 'WebSocketHandshakeError', code: 'AMQP_WS_HANDSHAKE' } });
  });

  it('an IoT Hub device in the page sends telemetry over wss://; a Node ServiceClient reads it through the redirect', async () => {
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: caPem },
      reconnect: false,
    });
    try {
      const events = service.events({ from: 'earliest' });
      const body = JSON.stringify({ temperature: 21.5, from: 'chromium ✓' });
      const properties = { alert: 'no', 'ünïcode key': 'välue' };
      const r = await run('iotTelemetry', hub.deviceConnectionString('browser-d1'), {
        body,
        messageId: 'browser-msg-1',
        properties,
      });
      expect(r.tls).toEqual({}); // TLS on (wss://), with the browser's own settings
      expect(r.port).toBe(hub.tlsPort);
      expect(r.userAgent).toMatch(/^amqp-one\/\S+ \(browser; Mozilla\/5\.0 .*HeadlessChrome\//);
      let got: IotHubEvent | undefined;
      for await (const e of events) {
        got = e;
        break;
      }
      await events.close();
      expect(eventText(got!)).toBe(body);
      expect(got!.properties).toEqual(properties);
      expect(got!.systemProperties).toMatchObject({
        deviceId: 'browser-d1',
        messageId: 'browser-msg-1',
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        to: '/devices/browser-d1/messages/events',
      });
    } finally {
      await service.close();
    }
  });

  it('an IoT Hub device with a wrong key is refused by the emulator with a typed error', async () => {
    const cs = hub
      .deviceConnectionString('browser-d1')
      .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.from('wrong key').toString('base64')}`);
    const r = await run('iotOpenError', cs);
    expect(r).toMatchObject({ error: { name: 'UnauthorizedError', code: 'IOTHUB_UNAUTHORIZED' } });
  });

  it('a port where nothing listens: connect rejects with AMQP_WS_HANDSHAKE', async () => {
    const probe = net.createServer();
    const port = await listenOn(probe);
    await new Promise((r) => probe.close(r));
    const r = await run('connectError', `ws://127.0.0.1:${port}/`);
    expect(r).toMatchObject({ error: { name: 'WebSocketHandshakeError', code: 'AMQP_WS_HANDSHAKE' } });
  });

  it('a WebSocket server that picks no AMQP subprotocol is refused with AMQP_WS_HANDSHAKE', async () => {
    // Chromium itself fails such a handshake (we offered subprotocols): the page sees a close
    // before the open. A browser that let it open would meet our own check of the subprotocol.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => false });
    await new Promise((r) => wss.once('listening', r));
    const upgrades: (string | undefined)[] = [];
    wss.on('headers', (_h, req) => upgrades.push(req.headers['sec-websocket-protocol']));
    try {
      const r = await run('connectError', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
      expect(r).toMatchObject({ error: { name: 'WebSocketHandshakeError', code: 'AMQP_WS_HANDSHAKE' } });
      expect(upgrades).toEqual(['AMQPWSB10, amqp']);
    } finally {
      await new Promise((r) => wss.close(r));
    }
  });

  it('an amqp:// URL is refused in the browser with a typed error, before any socket', async () => {
    const r = await run('connectError', `amqp://127.0.0.1:${broker.port}`);
    expect(r).toMatchObject({
      error: { code: 'AMQP_INVALID_ARGUMENT', message: expect.stringContaining('ws://') },
    });
  });

  it('sends 10,000 telemetry messages unsettled-then-accepted and receives them all (the rate is printed)', async () => {
    const n = 10_000;
    const r = await run('rate', wsUrl, 'browser-rate', n, toHex(jsonBody()));
    expect({ accepted: r.accepted, received: r.received }).toEqual({ accepted: n, received: n });
    console.log(
      `headless Chromium over ws://: ${n} messages of 256 bytes sent and received in ${r.seconds.toFixed(2)} s, ${r.perSecond} msg/s`,
    );
    expect(consoleErrors).toEqual([]);
  });
});
