/**
 * The IoT Hub clients through a real HTTP proxy (Debian's tinyproxy, as in proxy.test.ts) with
 * Basic authentication, against the emulator: over WebSockets (transport 'amqp-ws') telemetry goes
 * out and comes back through the events redirect, which is followed through the same proxy, and
 * C2D arrives; over raw AMQP a device sends through it too. Without credentials the proxy's 407
 * is a ProxyFailedError (IOTHUB_PROXY_FAILED) that is not retried.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient, ServiceClient, eventText } from '../../src/iothub/client/index.js';
import { ProxyFailedError } from '../../src/iothub/errors.js';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { WebSocketStream } from '../../src/transport/websocket/ws-stream.js';
import { freePort, ManagedProcess, waitForPort } from './support/peers.js';

const TINYPROXY = '/usr/bin/tinyproxy';
const USER = 'hubuser';
const PASS = 'proxy-pass.42'; // tinyproxy's config takes letters, digits and . - _ only

let hub: IotHubEmulator;
let dir: string;
let proxyPort: number;
let proxy: ManagedProcess | undefined;

beforeAll(async () => {
  // Fails (rather than skips) where tinyproxy is missing: the peers script installs it.
  await fsp.access(TINYPROXY);
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'amqp-one-hub-proxy-'));
  hub = await startHub({ port: 0, tlsPort: 0, devices: ['px-ws', 'px-amqp'] });
  proxyPort = await freePort();
  const file = path.join(dir, 'tinyproxy.conf');
  const conf = [
    `Port ${proxyPort}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    'Allow 127.0.0.1',
    'LogLevel Info',
    `ConnectPort ${hub.tlsPort}`,
    `BasicAuth ${USER} ${PASS}`,
  ];
  await fsp.writeFile(file, conf.join('\n') + '\n');
  proxy = new ManagedProcess(TINYPROXY, ['-d', '-c', file], { name: 'tinyproxy' });
  await waitForPort(proxyPort, { proc: proxy, timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await proxy?.terminate();
  await hub?.close();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
}, 20_000);

const proxyUrl = () => `http://${USER}:${encodeURIComponent(PASS)}@127.0.0.1:${proxyPort}`;

describe('the IoT Hub clients through tinyproxy', () => {
  it("transport 'amqp-ws': telemetry back through the redirect, and C2D, all tunnelled", async () => {
    const options = {
      tls: { ca: hub.caPem },
      transport: 'amqp-ws' as const,
      proxy: proxyUrl(),
      reconnect: false,
    };
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('px-ws'), options);
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), options);
    try {
      const events = service.events({ from: 'earliest' });
      await device.sendEvent('through the proxy');
      const got: string[] = [];
      for await (const e of events) {
        if (e.systemProperties.deviceId !== 'px-ws') continue;
        got.push(eventText(e));
        break;
      }
      expect(got).toEqual(['through the proxy']);
      expect(events.connection?.options.proxy).toBe(proxyUrl());
      expect(device.hub.connection?.driver.socket).toBeInstanceOf(WebSocketStream);

      const inbox = device.messages();
      await service.send('px-ws', 'c2d through the proxy');
      const m = await inbox.next();
      expect(m.value!.body.toString()).toBe('c2d through the proxy');
      await m.value!.complete();
    } finally {
      await device.close();
      await service.close();
    }
  });

  it("transport 'amqp' (raw AMQP over TLS) through the same proxy", async () => {
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('px-amqp'), {
      tls: { ca: hub.caPem },
      proxy: new URL(proxyUrl()),
      reconnect: false,
    });
    try {
      await device.sendEvent('raw through the proxy');
    } finally {
      await device.close();
    }
    const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf('px-amqp')).next()!;
    expect(Buffer.from(e.message.body as Uint8Array).toString()).toBe('raw through the proxy');
  });

  it('without credentials: ProxyFailedError with the 407, naming the proxy, not retried', async () => {
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('px-ws'), {
      tls: { ca: hub.caPem },
      transport: 'amqp-ws',
      proxy: `http://127.0.0.1:${proxyPort}`,
    });
    try {
      const err = await device.open().then(
        () => new Error('expected a refusal'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProxyFailedError);
      expect(err).toMatchObject({ code: 'IOTHUB_PROXY_FAILED', statusCode: 407, retryable: false });
      expect((err as Error).message).toContain(`127.0.0.1:${proxyPort}`);
    } finally {
      await device.close();
    }
  });
});
