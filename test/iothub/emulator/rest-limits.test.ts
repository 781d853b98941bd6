/**
 * The REST API's bounds over real TLS sockets, time on injected timers (listenHttps with
 * restHandler, as startHub wires them): a request without a valid token is answered from its head
 * alone and its socket closed, however large a body it announces; a body over the limit is
 * refused from its Content-Length or as it streams; a request that stalls is answered 408 at its
 * deadline (a direct method at its route's own, longer one); a kept-alive socket is closed after its
 * silence or its request count.
 */
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listen, type AmqpServer } from '../../../src/server/server.js';
import { listenHttps, KEEP_ALIVE_MS, type HttpsPort } from '../../../src/iothub/emulator/https-port.js';
import { prepareTls, type TlsMaterial } from '../../../src/iothub/emulator/certificates.js';
import {
  restHandler,
  REST_MAX_BODY_BYTES,
  REST_REQUEST_TIMEOUT_MS,
} from '../../../src/iothub/emulator/rest-server.js';
import { RouteTable } from '../../../src/iothub/emulator/rest-router.js';
import { registryRoutes } from '../../../src/iothub/emulator/rest-registry.js';
import { METHOD_ROUTE_DEADLINE_MS, methodRoutes } from '../../../src/iothub/emulator/rest-methods.js';
import { createHubState, type HubState } from '../../../src/iothub/hub/hub.js';
import type { AuthConfig } from '../../../src/iothub/emulator/auth.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { ManualTimers } from '../../support/manual-timers.js';

let material: TlsMaterial;
let amqp: AmqpServer;
let state: HubState;
let auth: AuthConfig;
let port: HttpsPort | undefined;

beforeAll(async () => {
  material = await prepareTls({});
  amqp = await listen({ port: 0, sasl: false });
  state = await createHubState({ hubName: 'limits-hub', clock: { now: () => Date.now() } });
  auth = {
    registry: state.registry,
    hubName: 'limits-hub',
    eventHubName: 'limits-hub',
    hosts: new Set(['localhost']),
    ports: () => [],
  };
});
afterEach(async () => {
  await port?.close();
  port = undefined;
});
afterAll(async () => {
  await amqp?.close();
  await state?.close();
  await material?.cleanup();
});

/** The port with the REST API on `timers`; no pre-request deadline, so each timer is the REST one. */
async function start(timers: ManualTimers, maxRequestsPerSocket?: number): Promise<HttpsPort> {
  const routes = new RouteTable();
  for (const r of [...registryRoutes(state), ...methodRoutes(state)]) routes.add(r);
  port = await listenHttps({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: material.cert, key: material.key },
    paths: ['/$iothub/websocket'],
    server: amqp,
    maxConnections: 10,
    deadlineMs: 0,
    timers,
    rest: restHandler({ routes, auth, clock: timers, timers }),
    ...(maxRequestsPerSocket === undefined ? {} : { maxRequestsPerSocket }),
  });
  return port;
}

const token = (): string => {
  const p = state.registry.getPolicy('iothubowner')!;
  return generateSasToken({ resourceUri: 'localhost', key: p.primaryKey, policyName: 'iothubowner' });
};

/** A TLS client that reads whole responses (head and Content-Length body) one by one. */
class RawClient {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  closed = false;
  readonly done: Promise<void>;
  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    socket.on('error', () => {});
    this.done = new Promise((r) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake?.();
        r();
      }),
    );
  }
  static connect(p: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: p, servername: 'localhost', ca: material.caPem }, () =>
        resolve(new RawClient(s)),
      );
      s.once('error', reject);
    });
  }
  write(data: string | Buffer): void {
    this.socket.write(data);
  }
  /** The next whole response: its head (latin1) and body. */
  async response(): Promise<{ head: string; body: string }> {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
          this.buf = this.buf.subarray(end + 4 + len);
          return { head, body };
        }
      }
      if (this.closed) throw new Error(`closed before a whole response: ${this.buf.toString('latin1')}`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

const head = (lines: string[]): string => [...lines, '', ''].join('\r\n');

/** Waits until the server has armed `n` timers (it saw the request, or answered it). */
async function timersArmed(timers: ManualTimers, n: number): Promise<void> {
  while (timers.timers !== n) await new Promise((r) => setTimeout(r, 2));
}

describe('REST bounds', () => {
  it('no token, a 10 MB body announced: 401 from the head alone, then the socket is closed', async () => {
    const p = await start(new ManualTimers());
    const c = await RawClient.connect(p.port);
    c.write(
      head([
        'PUT /devices/big?api-version=2021-04-12 HTTP/1.1',
        'Host: localhost',
        'Content-Type: application/json',
        `Content-Length: ${10 * 1024 * 1024}`,
      ]),
    );
    const r = await c.response();
    expect(r.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.head).toMatch(/connection: close/i);
    expect(JSON.parse(r.body).Message).toMatch(/^ErrorCode:IotHubUnauthorizedAccess;/);
    await c.done;
    expect(state.registry.getDevice('big')).toBeUndefined();
  });

  it('a body announced over the limit: 413 before a byte of it is sent', async () => {
    const p = await start(new ManualTimers());
    const c = await RawClient.connect(p.port);
    c.write(
      head([
        'PUT /devices/big?api-version=2021-04-12 HTTP/1.1',
        'Host: localhost',
        `Authorization: ${token()}`,
        `Content-Length: ${REST_MAX_BODY_BYTES + 1}`,
      ]),
    );
    const r = await c.response();
    expect(r.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(JSON.parse(r.body).Message).toMatch(/^ErrorCode:RequestEntityTooLarge;/);
    await c.done;
  });

  it('a chunked body that grows past the limit: 413 as soon as it does, socket closed', async () => {
    const p = await start(new ManualTimers());
    const c = await RawClient.connect(p.port);
    c.write(
      head([
        'PUT /devices/big?api-version=2021-04-12 HTTP/1.1',
        'Host: localhost',
        `Authorization: ${token()}`,
        'Transfer-Encoding: chunked',
      ]),
    );
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < REST_MAX_BODY_BYTES / chunk.length + 1; i++)
      c.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const r = await c.response();
    expect(r.head).toMatch(/^HTTP\/1\.1 413 /);
    await c.done;
    expect(state.registry.getDevice('big')).toBeUndefined();
  });

  it('a request whose body stalls: 408 at its deadline, not before', async () => {
    const timers = new ManualTimers();
    const p = await start(timers);
    const c = await RawClient.connect(p.port);
    c.write(
      head([
        'PUT /devices/slow?api-version=2021-04-12 HTTP/1.1',
        'Host: localhost',
        `Authorization: ${token()}`,
        'Content-Length: 50',
      ]) + '{"deviceId":',
    );
    await timersArmed(timers, 1);
    timers.advance(REST_REQUEST_TIMEOUT_MS - 1);
    expect(c.closed).toBe(false);
    timers.advance(1);
    const r = await c.response();
    expect(r.head).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(r.body).Message).toMatch(/^ErrorCode:RequestTimedOut;/);
    await c.done;
    expect(state.registry.getDevice('slow')).toBeUndefined();
  });

  it('a kept-alive socket serves requests one after another, then closes after its silence', async () => {
    const timers = new ManualTimers();
    const p = await start(timers);
    const c = await RawClient.connect(p.port);
    const get = head([
      'GET /devices?api-version=2021-04-12 HTTP/1.1',
      'Host: localhost',
      `Authorization: ${token()}`,
    ]);
    for (let i = 0; i < 3; i++) {
      c.write(get);
      expect((await c.response()).head).toMatch(/^HTTP\/1\.1 200 /);
    }
    await timersArmed(timers, 1); // the idle deadline, the request's cleared
    timers.advance(KEEP_ALIVE_MS - 1);
    expect(c.closed).toBe(false);
    timers.advance(1);
    await c.done;
  });

  it('maxRequestsPerSocket: the last request allowed is answered with Connection: close', async () => {
    const p = await start(new ManualTimers(), 2);
    const c = await RawClient.connect(p.port);
    const get = head([
      'GET /devices?api-version=2021-04-12 HTTP/1.1',
      'Host: localhost',
      `Authorization: ${token()}`,
    ]);
    c.write(get);
    expect((await c.response()).head).not.toMatch(/connection: close/i);
    c.write(get);
    const second = await c.response();
    expect(second.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(second.head).toMatch(/connection: close/i);
    await c.done;
  });

  it("a direct method waits past the server's 30 s, up to its route's deadline, then 408", async () => {
    // The dispatcher's own timeouts are not driven here (no hub timer): only the route's deadline runs.
    state.registry.addDevice('waits');
    const timers = new ManualTimers();
    const p = await start(timers);
    const c = await RawClient.connect(p.port);
    const body = JSON.stringify({
      methodName: 'm',
      responseTimeoutInSeconds: 300,
      connectTimeoutInSeconds: 300,
    });
    c.write(
      head([
        'POST /twins/waits/methods?api-version=2021-04-12 HTTP/1.1',
        'Host: localhost',
        `Authorization: ${token()}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
      ]) + body,
    );
    await timersArmed(timers, 1);
    // The server's 30 s deadline was replaced, not kept beside the route's: one timer, still armed.
    timers.advance(REST_REQUEST_TIMEOUT_MS);
    expect(timers.timers).toBe(1);
    timers.advance(METHOD_ROUTE_DEADLINE_MS - REST_REQUEST_TIMEOUT_MS - 1);
    expect(timers.timers).toBe(1);
    expect(c.closed).toBe(false);
    timers.advance(1);
    expect(timers.timers).toBe(0);
    const r = await c.response();
    expect(r.head).toMatch(/^HTTP\/1\.1 408 /);
    await c.done;
  });
});
