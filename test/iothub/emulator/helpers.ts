/** Shared pieces of the emulator tests: a hub on a manual clock, tokens, and our client's links. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, type AmqpConnection } from '../../../src/client/connect.js';
import { RequestResponseLink } from '../../../src/client/request-response.js';
import type { MessageReceiver } from '../../../src/api/receiver.js';
import type { ReceivedMessage } from '../../../src/api/received-message.js';
import type { Message } from '../../../src/codec/message.js';
import type { AmqpValue } from '../../../src/codec/values.js';
import { entry } from '../../../src/iothub/message-values.js';
import { ManualClock } from '../../../src/util/timers.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { startHub, type IotHubEmulator, type StartHubOptions } from '../../../src/iothub/emulator/index.js';

export interface TestHub {
  hub: IotHubEmulator;
  clock: ManualClock;
  /** Moves the clock and runs the hub's deadlines. */
  advance(ms: number): void;
  close(): Promise<void>;
}

const open: (() => Promise<void>)[] = [];

/** Closes everything the test opened (call from afterEach). */
export async function cleanup(): Promise<void> {
  while (open.length > 0) await open.pop()!().catch(() => undefined);
}

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'amqp-one-emu-'));
  open.unshift(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A hub on a manual clock that starts at the real time (so that tokens made with Date.now() are valid). */
export async function testHub(opts: StartHubOptions = {}): Promise<TestHub> {
  const clock =
    opts.clock instanceof ManualClock ? opts.clock : new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const hub = await startHub({ devices: ['d1', 'd2'], ...opts, clock });
  open.push(() => hub.close());
  return {
    hub,
    clock,
    advance(ms) {
      clock.advance(ms);
      hub.tick(clock.now());
    },
    close: () => hub.close(),
  };
}

/** The resource host part of tokens: `localhost:<port>` (as the Node SDKs) or plain `localhost`. */
export function hostOf(t: TestHub, withPort = true): string {
  return withPort ? `localhost:${t.hub.port}` : 'localhost';
}

export function deviceToken(
  t: TestHub,
  deviceId: string,
  o: { key?: string; expiresInSeconds?: number; withPort?: boolean } = {},
): string {
  const d = t.hub.state.registry.getDevice(deviceId);
  return generateSasToken({
    resourceUri: `${hostOf(t, o.withPort)}/devices/${deviceId}`,
    key: o.key ?? d?.primaryKey ?? Buffer.alloc(32, 7).toString('base64'),
    now: t.clock.now(),
    expiresInSeconds: o.expiresInSeconds ?? 3600,
  });
}

export function serviceToken(
  t: TestHub,
  policy = 'service',
  o: { resource?: string; expiresInSeconds?: number; keyEncoding?: 'base64' | 'utf8'; key?: string } = {},
): string {
  const p = t.hub.state.registry.getPolicy(policy)!;
  return generateSasToken({
    resourceUri: o.resource ?? hostOf(t),
    key: o.key ?? p.primaryKey,
    policyName: policy,
    now: t.clock.now(),
    expiresInSeconds: o.expiresInSeconds ?? 3600,
    keyEncoding: o.keyEncoding ?? 'base64',
  });
}

export async function track(c: Promise<AmqpConnection>): Promise<AmqpConnection> {
  const conn = await c;
  open.push(() => conn.close());
  return conn;
}

/** A connection authenticated by SASL PLAIN with a SAS token. */
export function connectPlain(t: TestHub, username: string, password: string): Promise<AmqpConnection> {
  return track(
    connect({
      host: '127.0.0.1',
      port: t.hub.port,
      username,
      password,
      sasl: 'PLAIN',
      hostname: 'localhost',
    }),
  );
}

export function connectDevice(
  t: TestHub,
  deviceId: string,
  token = deviceToken(t, deviceId),
): Promise<AmqpConnection> {
  return connectPlain(t, `${deviceId}@sas.${t.hub.hubName}`, token);
}

export function connectService(
  t: TestHub,
  policy = 'service',
  token = serviceToken(t, policy),
): Promise<AmqpConnection> {
  return connectPlain(t, `${policy}@sas.root.${t.hub.hubName}`, token);
}

/** A connection without SASL (as the Node IoT SDKs), for CBS. */
export function connectBare(t: TestHub): Promise<AmqpConnection> {
  return track(connect({ host: '127.0.0.1', port: t.hub.port, sasl: 'none', hostname: 'localhost' }));
}

/** A put-token request as the Node SDKs send it. */
export function putTokenRequest(audience: string, token: string, messageId?: AmqpValue): Message {
  return {
    properties: { ...(messageId === undefined ? {} : { messageId }), to: '$cbs' },
    applicationProperties: {
      operation: 'put-token',
      type: 'servicebus.windows.net:sastoken',
      name: audience,
    },
    body: token,
    bodyType: 'value',
  };
}

export async function openCbs(conn: AmqpConnection, replyTo = 'cbs'): Promise<RequestResponseLink> {
  return RequestResponseLink.open(conn, { address: '$cbs', replyTo, timeoutMs: 5000 });
}

export function statusOf(m: Message): { code: unknown; description: unknown } {
  return {
    code: entry(m.applicationProperties, 'status-code'),
    description: entry(m.applicationProperties, 'status-description'),
  };
}

export function ann(m: Message, name: string): unknown {
  return entry(m.messageAnnotations, name);
}

/** The next message, failing the test after `ms` of real time (a safety net, not a sleep). */
export async function next(r: MessageReceiver, ms = 5000): Promise<ReceivedMessage> {
  const m = await r.receive({ timeoutMs: ms });
  if (!m) throw new Error('the receiver closed');
  return m;
}

/** Resolves once `cond()` holds, polling on the event loop (bounded). */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function c2d(deviceId: string, id: string, ack?: string, extra: Partial<Message> = {}): Message {
  return {
    ...extra,
    properties: { messageId: id, to: `/devices/${deviceId}/messages/devicebound`, ...extra.properties },
    applicationProperties: { ...(ack === undefined ? {} : { 'iothub-ack': ack }) },
    body: Buffer.from(`payload ${id}`),
  };
}

export function text(m: Message): string {
  const b = m.body;
  if (Buffer.isBuffer(b) || b instanceof Uint8Array) return Buffer.from(b).toString('utf8');
  return String(b);
}
