/**
 * The IoT Hub clients over WebSockets (transport 'amqp-ws') against the emulator: telemetry read
 * back through the events redirect (followed over WebSockets to /$servicebus/websocket), C2D, on
 * the TLS port (which serves WebSockets too) and on the HTTPS port; the typed errors of a refused
 * upgrade and a dead proxy.
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { DeviceClient, ServiceClient, eventText } from '../../../src/iothub/client/index.js';
import type { HubConnection } from '../../../src/iothub/client/hub-connection.js';
import { ProxyFailedError, WebSocketRefusedError } from '../../../src/iothub/errors.js';
import { WebSocketStream } from '../../../src/transport/websocket/ws-stream.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { collect } from './support.js';

afterEach(cleanup);

function clients(hub: IotHubEmulator, deviceId: string, extra: { port?: number } = {}) {
  const options = { tls: { ca: hub.caPem }, transport: 'amqp-ws' as const, reconnect: false, ...extra };
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), options);
  const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), options);
  onCleanup(() => device.close());
  onCleanup(() => service.close());
  return { device, service };
}

/** The stream a hub connection runs over. */
function streamOf(h: HubConnection | undefined): unknown {
  return h?.connection?.driver.socket;
}

/** Telemetry out over one WebSocket, back over another through the redirect; then C2D. */
async function roundTrip(hub: IotHubEmulator, device: DeviceClient, service: ServiceClient): Promise<void> {
  const events = service.events({ from: 'earliest' });
  await device.sendEvent('over websockets');
  const got = await collect(events, (xs) => xs.length >= 1);
  expect(got.map(eventText)).toEqual(['over websockets']);
  expect(got[0]!.systemProperties.deviceId).toBe(device.connectionString.deviceId);
  // Both connections are WebSockets; the events one went to the Event Hubs endpoint's path.
  expect(streamOf(device.hub)).toBeInstanceOf(WebSocketStream);
  expect(streamOf(events.connection)).toBeInstanceOf(WebSocketStream);
  expect(events.connection!.options.websocket).toEqual({ path: '/$servicebus/websocket' });
  expect(events.endpoint!.entityPath).toBe(hub.eventHubName);
  await events.close();

  const inbox = device.messages();
  await service.send(device.connectionString.deviceId, 'c2d over websockets');
  const m = await inbox.next();
  expect(m.done).toBe(false);
  expect(m.value!.body.toString()).toBe('c2d over websockets');
  await m.value!.complete();
  expect(streamOf(service.hub)).toBeInstanceOf(WebSocketStream);
}

describe("transport 'amqp-ws'", () => {
  test('on the TLS port: telemetry through the redirect over WebSockets, and C2D', async () => {
    const hub = await hubForTest({ devices: ['ws-d1'] });
    const { device, service } = clients(hub, 'ws-d1');
    expect(device.hub.options.port).toBe(hub.tlsPort);
    await roundTrip(hub, device, service);
  });

  test('on the HTTPS port', async () => {
    const hub = await hubForTest({ devices: ['ws-d2'], httpsPort: 0 });
    // The connection string names the TLS port; the WebSocket port is given.
    const cs = hub.deviceConnectionString('ws-d2').replace(`:${hub.tlsPort}`, `:${hub.httpsPort}`);
    const scs = hub.serviceConnectionString().replace(`:${hub.tlsPort}`, `:${hub.httpsPort}`);
    const options = { tls: { ca: hub.caPem }, transport: 'amqp-ws' as const, reconnect: false };
    const device = DeviceClient.fromConnectionString(cs, options);
    const service = ServiceClient.fromConnectionString(scs, options);
    onCleanup(() => device.close());
    onCleanup(() => service.close());
    await roundTrip(hub, device, service);
    // The redirect named the HTTPS port the service came in on, and was followed there.
    expect(service.hub.options.port).toBe(hub.httpsPort);
  });

  test('over plain ws:// when TLS is turned off (never chosen by itself)', async () => {
    const hub = await hubForTest({ devices: ['ws-d3'] });
    const plainCs = (cs: string) => cs.replace(`:${hub.tlsPort}`, `:${hub.port}`);
    const options = { tls: false as const, transport: 'amqp-ws' as const, reconnect: false };
    const device = DeviceClient.fromConnectionString(plainCs(hub.deviceConnectionString('ws-d3')), options);
    const service = ServiceClient.fromConnectionString(plainCs(hub.serviceConnectionString()), options);
    onCleanup(() => device.close());
    onCleanup(() => service.close());
    await roundTrip(hub, device, service);
  });

  test('the default port is 443 (80 without TLS) when the HostName has none', () => {
    const cs = 'HostName=h.example;DeviceId=d;SharedAccessKey=' + Buffer.from('k').toString('base64');
    expect(DeviceClient.fromConnectionString(cs, { transport: 'amqp-ws' }).hub.options.port).toBe(443);
    expect(DeviceClient.fromConnectionString(cs, { transport: 'amqp-ws', tls: false }).hub.options.port).toBe(
      80,
    );
    expect(DeviceClient.fromConnectionString(cs).hub.options.port).toBe(5671);
    expect(DeviceClient.fromConnectionString(cs, { transport: 'amqp-ws' }).hub.options.websocket).toEqual({
      path: '/$iothub/websocket',
    });
  });

  test("the redirect's 5671 means the hub's WebSocket port; any other port is kept", () => {
    const key = Buffer.from('k').toString('base64');
    const cs = `HostName=h.example;SharedAccessKeyName=service;SharedAccessKey=${key}`;
    const ws = ServiceClient.fromConnectionString(cs, { transport: 'amqp-ws' });
    const endpoint = { host: 'ns.example', hostname: 'ns.example', tls: true, entityPath: 'eh' };
    const azure = ws.connectEventHub({ ...endpoint, port: 5671 });
    expect(azure.options).toMatchObject({ port: 443, websocket: { path: '/$servicebus/websocket' } });
    expect(ws.connectEventHub({ ...endpoint, port: 40123 }).options.port).toBe(40123);
    const viaPort = ServiceClient.fromConnectionString(cs.replace('h.example', 'h.example:8443'), {
      transport: 'amqp-ws',
    });
    expect(viaPort.connectEventHub({ ...endpoint, port: 5671 }).options.port).toBe(8443);
    // Raw AMQP goes where the redirect says, with no WebSocket.
    const raw = ServiceClient.fromConnectionString(cs).connectEventHub({ ...endpoint, port: 5671 });
    expect([raw.options.port, raw.options.websocket]).toEqual([5671, undefined]);
  });

  test('a port that serves no WebSocket endpoint: WebSocketRefusedError with the status, not retried', async () => {
    const hub = await hubForTest({ devices: ['ws-d4'] });
    const other = net.createServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => other.close(() => r())));
    const port = (other.address() as net.AddressInfo).port;
    const cs = hub.deviceConnectionString('ws-d4').replace(`:${hub.tlsPort}`, `:${port}`);
    const device = DeviceClient.fromConnectionString(cs, {
      tls: false,
      transport: 'amqp-ws',
      reconnect: false,
    });
    onCleanup(() => device.close());
    const err = await device.open().then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebSocketRefusedError);
    expect((err as WebSocketRefusedError).code).toBe('IOTHUB_WEBSOCKET_REFUSED');
    expect((err as WebSocketRefusedError).statusCode).toBe(404);
    expect((err as WebSocketRefusedError).retryable).toBe(false);
  });

  test('a proxy that cannot be reached: ProxyFailedError naming it (retryable)', async () => {
    const hub = await hubForTest({ devices: ['ws-d5'] });
    // A port nothing listens on: take one and free it.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const dead = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('ws-d5'), {
      tls: { ca: hub.caPem },
      transport: 'amqp-ws',
      proxy: `http://user:hidden-pass@127.0.0.1:${dead}`,
      reconnect: false,
    });
    onCleanup(() => device.close());
    const err = await device.open().then(
      () => new Error('expected a proxy failure'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProxyFailedError);
    expect((err as ProxyFailedError).code).toBe('IOTHUB_PROXY_FAILED');
    expect((err as ProxyFailedError).retryable).toBe(true);
    expect((err as Error).message).toContain(`127.0.0.1:${dead}`);
    expect((err as Error).message).not.toContain('hidden-pass');
  });
});
