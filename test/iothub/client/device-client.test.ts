/**
 * DeviceClient and HubConnection against the small CBS peer (real sockets): authentication order,
 * renewal through the client, reconnect with CBS before the links, telemetry never dropped. The same
 * flows run against the IoT Hub emulator in the *.integration.test.ts files.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DeviceClient } from '../../../src/iothub/client/device-client.js';
import { HubConnection } from '../../../src/iothub/client/hub-connection.js';
import { nodeHubPlatform, sasKeyTokenProvider } from '../../../src/iothub/client/node-platform.js';
import { ClosedError } from '../../../src/api/errors.js';
import {
  NotAllowedError,
  NotConnectedError,
  ThrottledError,
  UnauthorizedError,
} from '../../../src/iothub/errors.js';
import { CbsPeer } from './cbs-peer.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { advanceWhenIdle, tick, until } from './support.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const WRONG = Buffer.from('fedcba9876543210fedcba9876543210').toString('base64');

let peer: CbsPeer | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => undefined);
  await peer?.close();
  peer = undefined;
});

function device(
  port: number,
  key: string,
  options: ConstructorParameters<typeof DeviceClient>[1] = {},
): DeviceClient {
  const d = DeviceClient.fromConnectionString(
    `HostName=localhost:${port};DeviceId=d1;SharedAccessKey=${key}`,
    {
      tls: false,
      ...options,
    },
  );
  closers.push(() => d.close());
  return d;
}

describe('DeviceClient on a CBS peer', () => {
  test('open runs put-token for host/devices/d1 before any link; sendEvent resolves on accepted', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const d = device(peer.port, KEY);
    await d.open();
    expect(peer.puts.map((p) => p.name)).toEqual([`localhost:${peer.port}/devices/d1`]);
    await d.sendEvent({ body: 'hello', properties: { a: 'b' }, messageId: 'm1' });
    expect(peer.refusedAttaches).toEqual([]);
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]!.address).toBe('/devices/d1/messages/events');
    expect(peer.received[0]!.message.properties).toMatchObject({
      messageId: 'm1',
      to: '/devices/d1/messages/events',
    });
    expect(peer.received[0]!.message.applicationProperties).toEqual({ a: 'b' });
  });

  test('a wrong key: open rejects with UnauthorizedError, no retry', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const d = device(peer.port, WRONG);
    const err = await d.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).statusCode).toBe(401);
    expect(peer.puts).toHaveLength(1);
  });

  test('sendEvent before open opens; batch sends all in order', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const d = device(peer.port, KEY);
    await d.sendEventBatch(['1', '2', '3', Buffer.from('4')]);
    expect(peer.received.map((r) => (r.message.body as Buffer).toString())).toEqual(['1', '2', '3', '4']);
  });

  test('the connection outlives many token lifetimes (renewal driven by the injected clock)', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now() }).start();
    const d = device(peer.port, KEY, { timers: clock, tokenLifetimeSeconds: 30 });
    const renewed: number[] = [];
    d.on('token-renewed', () => renewed.push(clock.now()));
    let disconnects = 0;
    d.on('disconnected', () => disconnects++);
    await d.open();
    await d.sendEvent('t0');
    // 25 lifetimes
    await advanceWhenIdle(
      clock,
      () => renewed.length >= 33,
      () => !d.hub.tokenRenewer?.renewing,
      1000,
    );
    await d.sendEvent('t-late');
    expect(disconnects).toBe(0);
    expect(new Set(peer.puts.map((p) => p.connection)).size).toBe(1);
    expect(peer.puts.every((p) => p.status === 200)).toBe(true);
    expect(peer.received.map((r) => (r.message.body as Buffer).toString())).toEqual(['t0', 't-late']);
  });

  test('reconnect: CBS again before the telemetry link; sends during the outage are delivered', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const port = peer.port;
    const d = device(port, KEY, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    const events: string[] = [];
    d.on('disconnected', () => events.push('disconnected'));
    d.on('connected', (g: number) => events.push(`connected ${g}`));
    await d.sendEvent('before');
    const first = peer;
    const received = first.received;
    first.dropConnections();
    await first.close();
    await until(() => events.includes('disconnected'));
    const during = [d.sendEvent('during-1'), d.sendEvent('during-2')];
    await tick(100);
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start(port);
    await Promise.all(during);
    expect(received.map((r) => (r.message.body as Buffer).toString())).toEqual(['before']);
    expect(peer.received.map((r) => (r.message.body as Buffer).toString())).toEqual(['during-1', 'during-2']);
    expect(peer.refusedAttaches).toEqual([]); // every link came after the put-token
    expect(peer.puts).toHaveLength(1);
    expect(events).toEqual(['connected 1', 'disconnected', 'connected 2']);
  });

  test('reconnect gives up on a non-retryable error (the key was revoked): pending sends report it', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const port = peer.port;
    const d = device(port, KEY, { reconnect: { initialDelayMs: 20 } });
    const errors: unknown[] = [];
    d.on('error', (e) => errors.push(e));
    await d.sendEvent('ok');
    peer.dropConnections();
    await peer.close();
    peer = await new CbsPeer({ key: WRONG, now: () => Date.now() }).start(port);
    const err = await d.sendEvent('lost?').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(errors[0]).toBeInstanceOf(UnauthorizedError);
    expect(d.connected).toBe(false);
    await expect(d.sendEvent('after')).rejects.toBeInstanceOf(UnauthorizedError);
  });

  test('maxAttempts: when the hub stays away the send rejects (reported, not dropped)', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const d = device(peer.port, KEY, { reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } });
    await d.sendEvent('ok');
    peer.dropConnections();
    await peer.close();
    peer = undefined;
    const err = await d.sendEvent('lost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotConnectedError);
  });

  test('close: pending and later calls fail with ClosedError; iterators end', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const d = device(peer.port, KEY);
    await d.open();
    const it = d.messages();
    const next = it.next();
    await d.close();
    expect(await next).toEqual({ done: true, value: undefined });
    await expect(d.sendEvent('x')).rejects.toBeInstanceOf(ClosedError);
  });

  test('PLAIN: the token goes in SASL PLAIN as {device}@sas.{hub}, no CBS', async () => {
    const seen: string[] = [];
    peer = await new CbsPeer({
      key: KEY,
      now: () => Date.now(),
      mechanisms: [
        {
          name: 'PLAIN',
          start(resp) {
            const [, user, pass] = resp!.toString().split('\0');
            seen.push(`${user} ${pass!.slice(0, 21)}`);
            return { outcome: 'ok', identity: user! };
          },
        },
      ],
    }).start();
    const d = device(peer.port, KEY, { auth: 'plain' });
    await d.open();
    expect(seen).toEqual([`d1@sas.localhost SharedAccessSignature`]);
    expect(peer.puts).toHaveLength(0);
  });
});

describe('outcomes and the retry policy', () => {
  test('throttled and released messages are sent again; sendEvent resolves once accepted', async () => {
    peer = await new CbsPeer({
      key: KEY,
      now: () => Date.now(),
      outcome: (n) =>
        n === 0
          ? { condition: 'com.microsoft:device-container-throttled', description: 'slow down' }
          : n === 1
            ? 'release'
            : 'accept',
    }).start();
    const d = device(peer.port, KEY, { retryPolicy: { initialDelayMs: 1, maxAttempts: 5 } });
    await d.sendEvent({ body: 'persistent', messageId: 'p-1' });
    expect(peer.attempts).toBe(3);
    expect(peer.received.map((r) => r.message.properties?.messageId)).toEqual(['p-1']);
  });

  test('a rejection that is not retryable is reported at once, typed', async () => {
    peer = await new CbsPeer({
      key: KEY,
      now: () => Date.now(),
      outcome: () => ({ condition: 'amqp:not-allowed', description: 'no telemetry for you' }),
    }).start();
    const d = device(peer.port, KEY, { retryPolicy: { initialDelayMs: 1 } });
    const err = await d.sendEvent('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotAllowedError);
    expect((err as NotAllowedError).description).toBe('no telemetry for you');
    expect(peer.attempts).toBe(1);
  });

  test('retries run out: the last error is reported', async () => {
    peer = await new CbsPeer({
      key: KEY,
      now: () => Date.now(),
      outcome: () => ({ condition: 'com.microsoft:device-container-throttled' }),
    }).start();
    const d = device(peer.port, KEY, { retryPolicy: { initialDelayMs: 1, maxAttempts: 3 } });
    await expect(d.sendEvent('x')).rejects.toBeInstanceOf(ThrottledError);
    expect(peer.attempts).toBe(3);
  });
});

describe('SASL PLAIN token renewal', () => {
  test('renewed over CBS on the same connection before it expires (many lifetimes)', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now(), plain: true }).start();
    const d = device(peer.port, KEY, { auth: 'plain', timers: clock, tokenLifetimeSeconds: 30 });
    let disconnects = 0;
    d.on('disconnected', () => disconnects++);
    await d.sendEvent('first');
    await advanceWhenIdle(
      clock,
      () => peer!.puts.length >= 20,
      () => !d.hub.tokenRenewer?.renewing,
      1000,
    );
    await d.sendEvent('last');
    expect(disconnects).toBe(0);
    expect(peer.plainLogins).toEqual(['d1@sas.localhost']);
    expect(peer.puts.every((p) => p.status === 200 && p.name === `localhost:${peer!.port}/devices/d1`)).toBe(
      true,
    );
    expect(peer.received.map((r) => (r.message.body as Buffer).toString())).toEqual(['first', 'last']);
  });

  test('an endpoint without CBS: a fresh connection with a fresh token before the old one expires', async () => {
    const clock = new ManualTimers();
    peer = await new CbsPeer({ key: KEY, now: () => clock.now(), plain: true, noCbs: true }).start();
    const d = device(peer.port, KEY, {
      auth: 'plain',
      timers: clock,
      tokenLifetimeSeconds: 30,
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const connects: number[] = [];
    d.on('connected', () => connects.push(clock.now()));
    await d.sendEvent('first');
    const t0 = clock.now();
    // the clock hardly moves while disconnected: a slow reconnect (real time) must not eat manual time
    for (let i = 0; i < 2000 && connects.length < 4; i++) {
      clock.advance(d.connected ? 500 : 1); // 1 ms: enough for the reconnect backoff
      await tick(1);
    }
    await d.sendEvent('last');
    // every reconnect happened before the previous token's expiry (30 s)
    for (let i = 1; i < connects.length; i++) expect(connects[i]! - connects[i - 1]!).toBeLessThan(30_000);
    expect(connects[0]).toBeLessThanOrEqual(t0);
    expect(peer.plainLogins.length).toBe(connects.length);
    expect(peer.received.map((r) => (r.message.body as Buffer).toString())).toEqual(['first', 'last']);
  });
});

describe('HubConnection', () => {
  test('ready() waits through a reconnect; close() rejects waiters', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const port = peer.port;
    const hub = new HubConnection({
      platform: nodeHubPlatform,
      host: '127.0.0.1',
      port,
      tls: false,
      auth: { kind: 'cbs', audience: 'h', provider: sasKeyTokenProvider({ key: KEY }) },
      reconnect: { initialDelayMs: 10 },
    });
    closers.push(() => hub.close());
    await expect(hub.ready()).rejects.toBeInstanceOf(NotConnectedError);
    await hub.open();
    const e1 = (await hub.ready()).engine;
    peer.dropConnections();
    await until(() => hub.state === 'reconnecting');
    const waiting = hub.ready();
    const c2 = await waiting;
    expect(c2.engine).not.toBe(e1); // a new AMQP connection under the same client
    expect(hub.generation).toBe(2);
    await peer.close();
    peer = undefined;
    await until(() => hub.state === 'reconnecting');
    const w = hub.ready();
    await hub.close();
    await expect(w).rejects.toBeInstanceOf(ClosedError);
  });

  test('restart(): a new connection, a new put-token', async () => {
    peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    const hub = new HubConnection({
      platform: nodeHubPlatform,
      host: '127.0.0.1',
      port: peer.port,
      tls: false,
      auth: { kind: 'cbs', audience: 'h', provider: sasKeyTokenProvider({ key: KEY }), sasl: 'ANONYMOUS' },
      reconnect: { initialDelayMs: 1 },
    });
    closers.push(() => hub.close());
    await hub.open();
    hub.restart();
    await until(() => hub.generation === 2 && hub.state === 'open');
    expect(peer.puts).toHaveLength(2);
    expect(new Set(peer.puts.map((p) => p.connection)).size).toBe(2);
  });
});
