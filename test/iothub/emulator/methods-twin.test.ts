/**
 * Direct methods and the twin on the emulator at the wire level (contract section 12), with our own
 * raw AMQP client: the attach properties each SDK sends (Node's `methods:<uuid>`, the C SDK's plain
 * device id and whole-URI address, old Java's symbol), the types of correlation-ids, status and
 * version, error bodies, desired pushes, and the unknown-address detach.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AmqpConnection } from '../../../src/client/connect.js';
import { AmqpSymbol, Typed, uuid } from '../../../src/codec/values.js';
import type { Message } from '../../../src/codec/message.js';
import { LinkError } from '../../../src/protocol/errors.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { entry } from '../../../src/iothub/message-values.js';
import {
  ann,
  cleanup,
  connectDevice,
  connectPlain,
  hostOf,
  next,
  testHub,
  text,
  until,
  type TestHub,
} from './helpers.js';
import { withoutMetadata } from '../../support/twin-metadata.js';

afterEach(cleanup);

const API = '2021-04-12';
const props = (channel: string | AmqpSymbol) => ({
  'com.microsoft:api-version': API,
  'com.microsoft:channel-correlation-id': channel,
  'com.microsoft:client-version': 'test/1.0',
});

async function methodLinks(conn: AmqpConnection, address: string, channel: string | AmqpSymbol) {
  const requests = await conn.openReceiver({ address, credit: 10, properties: props(channel) });
  const responses = await conn.openSender({ address, properties: props(channel) });
  return { requests, responses };
}

async function twinLinks(conn: AmqpConnection, address = '/devices/d1/twin') {
  const channel = `twin:${crypto.randomUUID()}`;
  const responses = await conn.openReceiver({
    address,
    credit: 10,
    properties: props(channel),
    presettled: true,
  });
  const requests = await conn.openSender({ address, properties: props(channel), presettled: true });
  return { requests, responses };
}

const twinRequest = (cid: unknown, operation: string, resource?: string, body = ' '): Message => ({
  properties: { correlationId: cid as string },
  messageAnnotations: resource === undefined ? { operation } : { operation, resource },
  body: Buffer.from(body),
});

async function answerOnce(
  t: TestHub,
  links: Awaited<ReturnType<typeof methodLinks>>,
  deviceId: string,
  moduleId?: string,
) {
  const call = t.hub.state.invokeMethod(deviceId, moduleId, 'reboot', Buffer.from('{"delay":5}'));
  const req = await next(links.requests);
  const m = req.message;
  req.accept();
  const cid = m.properties?.correlationId;
  expect(cid).toBeInstanceOf(Typed);
  expect((cid as Typed).type).toBe('uuid');
  expect(entry(m.applicationProperties, 'IoThub-methodname')).toBe('reboot');
  expect(text(m)).toBe('{"delay":5}');
  await links.responses.send({
    properties: { correlationId: cid },
    applicationProperties: { 'IoThub-status': 201 },
    body: Buffer.from('{"done":true}'),
  });
  const r = await call;
  return { status: r.status, payload: Buffer.from(r.payload).toString() };
}

describe('direct methods on the emulator', () => {
  it("Node's methods:<uuid> channel on the plain path: a call is delivered and answered", async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    await expect(t.hub.state.invokeMethod('d1', undefined, 'x', Buffer.from('1'))).rejects.toMatchObject({
      code: 'HUB_DEVICE_NOT_ONLINE',
    });
    const links = await methodLinks(
      conn,
      '/devices/d1/methods/devicebound',
      `methods:${crypto.randomUUID()}`,
    );
    expect(await answerOnce(t, links, 'd1')).toEqual({ status: 201, payload: '{"done":true}' });
  });

  it("the C SDK's channel (the device id) and whole-URI address, mixed case", async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const links = await methodLinks(conn, `amqps://${hostOf(t)}/devices/d1/methods/deviceBound`, 'd1');
    expect(await answerOnce(t, links, 'd1')).toEqual({ status: 201, payload: '{"done":true}' });
  });

  it("old Java's symbol channel id, on a module's methods", async () => {
    const t = await testHub();
    const mod = t.hub.state.registry.addModule('d1', 'm1');
    const token = generateSasToken({
      resourceUri: `${hostOf(t)}/devices/d1/modules/m1`,
      key: mod.primaryKey,
    });
    const conn = await connectPlain(t, `d1/modules/m1@sas.${t.hub.hubName}`, token);
    const links = await methodLinks(
      conn,
      '/devices/d1/modules/m1/methods/devicebound',
      new AmqpSymbol('methods:java'),
    );
    expect(await answerOnce(t, links, 'd1', 'm1')).toEqual({ status: 201, payload: '{"done":true}' });
    // The module's credential is not the device's.
    await expect(conn.openReceiver('/devices/d1/methods/devicebound')).rejects.toThrow(/unauthorized-access/);
  });

  it('a response without status is rejected; an unanswered call times out on the hub clock', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const links = await methodLinks(conn, '/devices/d1/methods/devicebound', 'd1');
    const call = t.hub.state.invokeMethod('d1', undefined, 'x', Buffer.from('1'), {
      responseTimeoutMs: 5_000,
    });
    const req = await next(links.requests);
    const bad = await links.responses.send({
      properties: { correlationId: req.message.properties?.correlationId },
      body: Buffer.from('1'),
    });
    expect(bad).toMatchObject({ type: 'rejected', error: { condition: 'com.microsoft:argument-error' } });
    t.advance(5_000);
    await expect(call).rejects.toMatchObject({ code: 'HUB_METHOD_TIMEOUT' });
    // A late answer is accepted and changes nothing.
    const late = await links.responses.send({
      properties: { correlationId: req.message.properties?.correlationId },
      applicationProperties: { 'IoThub-status': 200 },
      body: Buffer.from('1'),
    });
    expect(late?.type).toBe('accepted');
  });

  it('another device cannot attach to d1 methods or twin', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd2');
    await expect(conn.openReceiver('/devices/d1/methods/devicebound')).rejects.toThrow(/unauthorized-access/);
    await expect(conn.openSender('/devices/d1/twin')).rejects.toThrow(/unauthorized-access/);
  });
});

describe('the twin on the emulator', () => {
  it('GET, PATCH, PUT and a desired push, with string correlation-ids echoed and int/long annotations', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const { requests, responses } = await twinLinks(conn);
    await requests.send(twinRequest('c-get', 'GET'));
    let r = (await next(responses)).message;
    expect(r.properties?.correlationId).toBe('c-get');
    expect(ann(r, 'status')).toBe(200);
    expect(typeof ann(r, 'version')).toBe('bigint');
    const got = JSON.parse(text(r));
    expect(withoutMetadata(got)).toEqual({ desired: { $version: 1 }, reported: { $version: 1 } });
    // IoT Hub's $metadata: when each part was last written, and in desired at which version.
    expect(got.desired.$metadata).toEqual({ $lastUpdated: expect.any(String), $lastUpdatedVersion: 1 });
    expect(Object.keys(got.reported.$metadata)).toEqual(['$lastUpdated']);

    await requests.send(twinRequest('c-patch', 'PATCH', '/properties/reported', '{"fw":"1.2"}'));
    r = (await next(responses)).message;
    expect([r.properties?.correlationId, ann(r, 'status'), ann(r, 'version')]).toEqual(['c-patch', 204, 2n]);
    expect(withoutMetadata(t.hub.state.getTwin('d1').properties.reported)).toEqual({
      fw: '1.2',
      $version: 2,
    });

    await requests.send(twinRequest('c-put', 'PUT', '/notifications/twin/properties/desired'));
    r = (await next(responses)).message;
    expect([r.properties?.correlationId, ann(r, 'status')]).toEqual(['c-put', 200]);
    await t.hub.state.updateTwin('d1', undefined, { desired: { temp: 20 } });
    const push = (await next(responses)).message;
    expect(push.properties?.correlationId).toBeUndefined();
    expect(ann(push, 'version')).toBe(2n);
    expect(JSON.parse(text(push))).toEqual({ temp: 20, $version: 2 });

    await requests.send(twinRequest('c-del', 'DELETE', '/notifications/twin/properties/desired'));
    expect((await next(responses)).message.properties?.correlationId).toBe('c-del');
    await t.hub.state.updateTwin('d1', undefined, { desired: { temp: 21 } });
    await requests.send(twinRequest('c-get2', 'GET'));
    // The next message is the GET's answer: no push came after the DELETE.
    r = (await next(responses)).message;
    expect(r.properties?.correlationId).toBe('c-get2');
    expect(withoutMetadata(JSON.parse(text(r)).desired)).toEqual({ temp: 21, $version: 3 });
  });

  it('errors: a bad patch and an unknown operation answer 400 with IoT Hub error JSON; ids keep their type', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const { requests, responses } = await twinLinks(conn, 'amqps://localhost/devices/d1/Twin');
    const id = uuid(crypto.randomUUID());
    await requests.send(twinRequest(id, 'PATCH', '/properties/reported', '{"a.b":1}'));
    let r = (await next(responses)).message;
    expect(r.properties?.correlationId).toEqual(id);
    expect(ann(r, 'status')).toBe(400);
    const body = JSON.parse(text(r));
    expect(body).toMatchObject({ errorCode: 400004, message: expect.stringContaining('a.b') });
    expect(typeof body.trackingId).toBe('string');
    await requests.send(twinRequest('c-x', 'POST', '/what'));
    r = (await next(responses)).message;
    expect([r.properties?.correlationId, ann(r, 'status')]).toEqual(['c-x', 400]);
    await requests.send(twinRequest('c-json', 'PATCH', '/properties/reported', '{not json'));
    expect(ann((await next(responses)).message, 'status')).toBe(400);
  });
});

describe('twin bounds', () => {
  it('a twin receiver that gives no credit is detached once 200 answers wait for it', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const channel = `twin:${crypto.randomUUID()}`;
    const address = '/devices/d1/twin';
    const responses = await conn.openReceiver({ address, credit: 'manual', properties: props(channel) });
    const requests = await conn.openSender({ address, properties: props(channel), presettled: true });
    for (let i = 0; i <= 200; i++) await requests.send(twinRequest(`c-${i}`, 'GET'));
    await until(() => responses.link.remote === 'detached');
    expect(responses.link.error?.amqpError.condition).toBe('amqp:resource-limit-exceeded');
    // The request link stays: the device attaches a receiver again and reads the twin anew.
    expect(requests.link.remote).toBe('attached');
  });
});

describe('a twin request with no twin receiver to answer on', () => {
  const address = '/devices/d1/twin';

  it('unsettled (as the C SDK sends): rejected with amqp:precondition-failed; the link stays', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const requests = await conn.openSender({ address, properties: props(`twin:${crypto.randomUUID()}`) });
    const outcome = await requests.send(twinRequest('c-alone', 'GET'));
    expect(outcome).toMatchObject({ type: 'rejected', error: { condition: 'amqp:precondition-failed' } });
    expect(requests.link.remote).toBe('attached');
    // Once a receiver is attached, the same link's requests are answered.
    const responses = await conn.openReceiver({ address, credit: 10, properties: props('twin:other') });
    await requests.send(twinRequest('c-after', 'GET'));
    const r = (await next(responses)).message;
    expect([r.properties?.correlationId, ann(r, 'status')]).toEqual(['c-after', 200]);
  });

  it('presettled (as the Node SDK and ours send): the request link is detached with amqp:precondition-failed', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const channel = `twin:${crypto.randomUUID()}`;
    const responses = await conn.openReceiver({ address, credit: 10, properties: props(channel) });
    const requests = await conn.openSender({ address, properties: props(channel), presettled: true });
    // The receiver goes (a fault, a resource limit); the sender stays and asks.
    await responses.close();
    await requests.send(twinRequest('c-lost', 'GET'));
    await until(() => requests.link.remote === 'detached');
    expect(requests.link.error?.amqpError.condition).toBe('amqp:precondition-failed');
    expect(requests.link.error?.amqpError.description).toContain('no twin receiver');
    // The connection stays: the device reattaches both links and is answered.
    const again = await twinLinks(conn);
    await again.requests.send(twinRequest('c-again', 'GET'));
    expect((await next(again.responses)).message.properties?.correlationId).toBe('c-again');
  });
});

describe('unknown addresses', () => {
  it('detach with amqp:not-found, the 404006 error JSON and com.microsoft:is-filtered', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const err = await conn.openSender('/no/such/node').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LinkError);
    const e = (err as LinkError).amqpError;
    expect(e.condition).toBe('amqp:not-found');
    expect(JSON.parse(e.description!)).toMatchObject({
      errorCode: 404006,
      message: expect.stringContaining('/no/such/node'),
    });
    const info = e.info as Record<string, unknown>;
    expect(info['com.microsoft:is-filtered']).toBe(true);
    await until(() => t.hub.connectionCount === 1);
  });
});
