/**
 * What a client announces, as the server sees it on the wire: the container-id and properties of
 * connect()'s open, and the IoT Hub clients' `com.microsoft:client-version` with the application's
 * product info; and their 'iothub' log records, which never carry a token or a key.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../../src/client/connect.js';
import {
  listen,
  ServerOptionsError,
  type AmqpServer,
  type ServerConnection,
} from '../../../src/server/index.js';
import { startHub } from '../../../src/iothub/emulator/index.js';
import { DeviceClient } from '../../../src/iothub/client/device-client.js';
import { CLIENT_VERSION } from '../../../src/iothub/client/client-options.js';
import { userAgent } from '../../../src/iothub/client/node-platform.js';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import type { LogRecord } from '../../../src/util/logger.js';
import { CbsPeer } from './cbs-peer.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => undefined);
});

/** The `properties` of every link the clients attached to `server`. */
function attachProperties(server: AmqpServer): unknown[] {
  const out: unknown[] = [];
  for (const c of server.connections)
    for (const s of c.engine.allSessions) for (const l of s.allLinks) out.push(l.remoteAttach?.properties);
  return out;
}

describe('identification', () => {
  test('connect(): the server sees the chosen container-id and open properties', async () => {
    const opened: ServerConnection[] = [];
    const server = await listen({
      port: 0,
      sasl: { anonymous: true },
      onConnection: (c) => void opened.push(c),
    });
    closers.push(() => server.close());
    const conn = await connect({
      port: server.port,
      containerId: 'my-app-7',
      properties: { product: 'my-app', version: '1.2.3' },
    });
    closers.push(() => conn.close());
    expect(opened).toHaveLength(1);
    expect(opened[0]!.remoteContainerId).toBe('my-app-7');
    expect(opened[0]!.engine.remoteOpen?.properties).toEqual({ product: 'my-app', version: '1.2.3' });
  });

  test('DeviceClient: productInfo follows our user agent in each link, containerId in the open', async () => {
    const peer = await new CbsPeer({ key: KEY, now: () => Date.now() }).start();
    closers.push(() => peer.close());
    const records: LogRecord[] = [];
    const device = DeviceClient.fromConnectionString(
      `HostName=localhost:${peer.port};DeviceId=d1;SharedAccessKey=${KEY}`,
      {
        tls: false,
        containerId: 'device-d1-app',
        productInfo: 'myapp/1.2',
        logger: { level: 'trace', log: (r) => void records.push(r) },
      },
    );
    closers.push(() => device.close());
    await device.sendEvent({ body: 'hello' });

    const agent = device.userAgent;
    expect(agent.startsWith(`${CLIENT_VERSION} (node ${process.version}; `)).toBe(true);
    expect(agent.endsWith(') myapp/1.2')).toBe(true);
    const [c] = [...peer.server.connections];
    expect(c!.remoteContainerId).toBe('device-d1-app');
    const props = attachProperties(peer.server).filter((p) => p !== undefined);
    // The telemetry sender carries it (CBS links are the CBS client's own, as in the SDKs).
    expect(props).toContainEqual({ 'com.microsoft:client-version': agent });

    // 'iothub' records say what happened; none carries the token or the key.
    const iothub = records.filter((r) => r.category === 'iothub').map((r) => r.message);
    expect(iothub).toContain('CBS put-token accepted');
    expect(iothub).toContain('connected');
    expect(records.some((r) => r.category === 'frames' && r.fields.performative === 'transfer')).toBe(true);
    const token = peer.puts[0]!.token;
    const text = JSON.stringify(records);
    expect(text).not.toContain(token);
    expect(text).not.toContain(/sig=([^&]+)/.exec(token)![1]!);
    expect(text).not.toContain(KEY);
  });

  test('without productInfo the user agent is ours alone; a non-string is a typed error', () => {
    expect(userAgent()).toMatch(/^amqp-one\/\d+\.\d+\.\d+ \(node v[\d.]+; [^;]+; [^;)]+\)$/);
    expect(userAgent('  ')).toBe(userAgent());
    expect(() => userAgent(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('a logger that is not one', () => {
  test('is a typed error from connect(), listen() and the IoT Hub clients, before any socket', async () => {
    const bad = { log: 'console' } as unknown as (r: LogRecord) => void;
    await expect(connect({ port: 1, logger: bad })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      connect({ port: 1, logger: { level: 'verbose' as 'debug', log: () => undefined } }),
    ).rejects.toThrow(/logger level must be one of error, warn, info, debug, trace/);
    await expect(listen({ port: 0, sasl: false, logger: bad })).rejects.toBeInstanceOf(ServerOptionsError);
    expect(() =>
      DeviceClient.fromConnectionString(`HostName=localhost;DeviceId=d1;SharedAccessKey=${KEY}`, {
        logger: bad,
      }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('the emulator', () => {
  test('startHub({ logger }) reports its server and its clients', async () => {
    const records: LogRecord[] = [];
    const hub = await startHub({ port: 0, devices: ['d1'], logger: (r) => void records.push(r) });
    closers.push(() => hub.close());
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
      tls: false,
      port: hub.port,
      productInfo: 'emulated/0.1',
    });
    closers.push(() => device.close());
    await device.sendEvent({ body: 'x' });
    expect(records.some((r) => r.category === 'server' && r.message === 'listening')).toBe(true);
    expect(records.some((r) => r.category === 'server' && r.message === 'client connected')).toBe(true);
    const attached = records.filter((r) => r.category === 'link' && r.message === 'the peer attached a link');
    expect(attached.map((r) => r.fields.target)).toContain('/devices/d1/messages/events');
  });
});
