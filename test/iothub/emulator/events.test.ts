/**
 * The events side with our own client (contract sections 7-8): the redirect, partition receivers
 * with selector filters, epochs, `$management` READ, CBS with the Event Hubs key convention, and
 * the runtime-metric capability.
 */
import { truncateSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AmqpConnection } from '../../../src/client/connect.js';
import type { MessageReceiver } from '../../../src/api/receiver.js';
import { RequestResponseLink } from '../../../src/client/request-response.js';
import type { Message } from '../../../src/codec/message.js';
import { Described, ulong, type AmqpValue } from '../../../src/codec/values.js';
import { RedirectError } from '../../../src/protocol/errors.js';
import { EPOCH_PROPERTY, RUNTIME_METRIC_CAPABILITY } from '../../../src/iothub/emulator/index.js';
import { SELECTOR_FILTER_CODE, SELECTOR_FILTER_NAME } from '../../../src/iothub/hub/filter.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import {
  ann,
  cleanup,
  connectBare,
  connectDevice,
  connectService,
  deviceToken,
  hostOf,
  next,
  openCbs,
  putTokenRequest,
  serviceToken,
  statusOf,
  tempDir,
  testHub,
  text,
  until,
  type TestHub,
} from './helpers.js';

afterEach(cleanup);

function filter(expr: string): { [key: string]: AmqpValue } {
  return { [SELECTOR_FILTER_NAME]: new Described(ulong(SELECTOR_FILTER_CODE), expr) };
}

/** Sends `n` telemetry messages from d1 and returns d1's partition. */
async function sendTelemetry(t: TestHub, n: number, from = 0): Promise<number> {
  const dev = await connectDevice(t, 'd1');
  const s = await dev.openSender('/devices/d1/messages/events');
  for (let i = from; i < from + n; i++) {
    t.clock.advance(1000);
    await s.send({ properties: { messageId: `e${i}` }, body: Buffer.from(`event ${i}`) });
  }
  return t.hub.state.telemetry.partitionOf('d1');
}

/**
 * The error a receiver's link was closed with. (Read from the link: a wrapper whose link closes in
 * the same read as its attach reply never learns it; see client-bugs.test.ts.)
 */
async function closedWith(r: MessageReceiver): Promise<unknown> {
  await until(() => r.link.remote === 'detached');
  return r.link.error;
}

function partitionAddress(t: TestHub, p: number, cg = '$Default'): string {
  return `${t.hub.eventHubName}/ConsumerGroups/${cg}/Partitions/${p}`;
}

async function readIds(
  conn: AmqpConnection,
  address: string,
  f: string | undefined,
  n: number,
): Promise<string[]> {
  const r = await conn.openReceiver({
    address,
    source: { address, ...(f ? { filter: filter(f) } : {}) },
    credit: 100,
  });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(String((await next(r)).message.properties?.messageId));
  await r.close();
  return ids;
}

describe('redirect', () => {
  it('a receiver on messages/events gets the echoing attach, then detach with amqp:link:redirect', async () => {
    const t = await testHub();
    const svc = await connectService(
      t,
      'service',
      serviceToken(t, 'service', { resource: `${hostOf(t)}/messages/events` }),
    );
    const r = await svc.openReceiver({
      address: `amqps://localhost/messages/events/$management`,
      target: { address: 'me' },
    });
    const a = r.link.remoteAttach!;
    expect((a.source as { address?: unknown }).address).toBe('amqps://localhost/messages/events/$management');
    expect((a.target as { address?: unknown }).address).toBe('me');
    const err = await closedWith(r);
    expect(err).toBeInstanceOf(RedirectError);
    const re = err as RedirectError;
    expect(re.condition).toBe('amqp:link:redirect');
    expect(re.hostname).toBe('localhost');
    expect(re.networkHost).toBe('localhost');
    expect(re.port).toBe(t.hub.port);
    expect(re.address).toBe(`amqp://localhost:${t.hub.port}/${t.hub.eventHubName}/$management`);
    expect(r.link.remoteClosed).toBe(true);
  });

  it('the redirect keeps the requested partition; a device token gets no redirect', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const r = await svc.openReceiver('/messages/events/ConsumerGroups/$Default/Partitions/3');
    const re = (await closedWith(r)) as RedirectError;
    expect(re.address).toBe(
      `amqp://localhost:${t.hub.port}/${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/3`,
    );
    const dev = await connectDevice(t, 'd1');
    await expect(dev.openReceiver('/messages/events/ConsumerGroups/$Default/Partitions/0')).rejects.toThrow(
      /unauthorized-access/,
    );
  });
});

describe('partition receivers and filters', () => {
  it('reads the events with their annotations, from the start without a filter', async () => {
    const t = await testHub();
    const p = await sendTelemetry(t, 3);
    const svc = await connectService(t);
    const r = await svc.openReceiver({ address: partitionAddress(t, p), credit: 10 });
    const m = (await next(r)).message;
    expect(text(m)).toBe('event 0');
    expect(ann(m, 'x-opt-sequence-number')).toBe(0n);
    expect(ann(m, 'x-opt-offset')).toBe('0');
    expect(ann(m, 'x-opt-enqueued-time')).toBeInstanceOf(Date);
    expect(ann(m, 'iothub-connection-device-id')).toBe('d1');
    expect(text((await next(r)).message)).toBe('event 1');
  });

  it('sequence-number, offset and enqueued-time filters, inclusive and exclusive, -1 and @latest', async () => {
    const t = await testHub();
    const p = await sendTelemetry(t, 5);
    const svc = await connectService(t);
    const addr = partitionAddress(t, p);
    const cursor = t.hub.state.openEventCursor(p);
    const events = Array.from({ length: 5 }, () => cursor.next()!);
    expect(await readIds(svc, addr, 'amqp.annotation.x-opt-sequence-number > 2', 2)).toEqual(['e3', 'e4']);
    expect(await readIds(svc, addr, "amqp.annotation.x-opt-sequence-number >= '2'", 3)).toEqual([
      'e2',
      'e3',
      'e4',
    ]);
    expect(await readIds(svc, addr, `amqp.annotation.x-opt-offset > '${events[1]!.offset}'`, 3)).toEqual([
      'e2',
      'e3',
      'e4',
    ]);
    expect(await readIds(svc, addr, `amqp.annotation.x-opt-offset >= '${events[1]!.offset}'`, 1)).toEqual([
      'e1',
    ]);
    expect(
      await readIds(svc, addr, `amqp.annotation.x-opt-enqueued-time > ${events[3]!.enqueuedTime}`, 1),
    ).toEqual(['e4']);
    expect(
      await readIds(svc, addr, `amqp.annotation.x-opt-enqueued-time >= ${events[3]!.enqueuedTime}`, 1),
    ).toEqual(['e3']);
    expect(await readIds(svc, addr, "amqp.annotation.x-opt-offset > '-1'", 1)).toEqual(['e0']);
    const latest = await svc.openReceiver({
      address: addr,
      source: { address: addr, filter: filter("amqp.annotation.x-opt-offset > '@latest'") },
      credit: 10,
    });
    expect((latest.link.remoteAttach!.source as { filter?: unknown }).filter).toBeDefined();
    await sendTelemetry(t, 1, 5);
    expect((await next(latest)).message.properties?.messageId).toBe('e5');
  });

  it('a bad filter is refused with com.microsoft:argument-error; unknown groups and partitions are not found', async () => {
    const t = await testHub({ consumerGroups: ['analytics'] });
    const svc = await connectService(t);
    const addr = partitionAddress(t, 0);
    await expect(
      svc.openReceiver({ address: addr, source: { address: addr, filter: filter('nonsense') } }),
    ).rejects.toThrow(/argument-error/);
    await expect(svc.openReceiver(partitionAddress(t, 0, 'nope'))).rejects.toThrow(/not-found/);
    await expect(svc.openReceiver(partitionAddress(t, 99))).rejects.toThrow(/not-found/);
    await expect(svc.openReceiver('otherhub/ConsumerGroups/$Default/Partitions/0')).rejects.toThrow(
      /not-found/,
    );
    await svc.openReceiver(partitionAddress(t, 0, 'Analytics'));
  });

  it('epochs: a higher epoch steals the partition (amqp:link:stolen), lower and none are refused', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const addr = partitionAddress(t, 1);
    const a = await svc.openReceiver({ address: addr, properties: { [EPOCH_PROPERTY]: 1n }, credit: 1 });
    const aClosed = a.receive().catch((e: unknown) => e);
    const b = await svc.openReceiver({ address: addr, properties: { [EPOCH_PROPERTY]: 2n }, credit: 1 });
    expect(String(((await aClosed) as { condition?: string }).condition)).toBe('amqp:link:stolen');
    await expect(svc.openReceiver({ address: addr, properties: { [EPOCH_PROPERTY]: 1n } })).rejects.toThrow(
      /stolen/,
    );
    await expect(svc.openReceiver(addr)).rejects.toThrow(/stolen/);
    // Another consumer group is another partition owner.
    await svc.openReceiver({
      address: partitionAddress(t, 1, '$Default').replace('$Default', '$default'),
      properties: { [EPOCH_PROPERTY]: 2n },
    });
    expect(b.link.local).toBe('detached');
    await b.close();
  });

  it('runtime metric: delivery annotations last_enqueued_* when the capability is desired', async () => {
    const t = await testHub();
    const p = await sendTelemetry(t, 2);
    const svc = await connectService(t);
    const r = await svc.openReceiver({
      address: partitionAddress(t, p),
      desiredCapabilities: [RUNTIME_METRIC_CAPABILITY],
      credit: 5,
    });
    expect(r.link.remoteAttach?.offeredCapabilities).toContain(RUNTIME_METRIC_CAPABILITY);
    const m = (await next(r)).message;
    const da = m.deliveryAnnotations as { [k: string]: unknown };
    expect(da.last_enqueued_sequence_number).toBe(1n);
    expect(da.runtime_info_retrieval_time_utc).toBeInstanceOf(Date);
  });
});

describe('Event Hubs-compatible endpoint: CBS and $management', () => {
  function ehToken(t: TestHub, resource: string, keyEncoding: 'base64' | 'utf8' = 'utf8'): string {
    return serviceToken(t, 'service', { resource, keyEncoding });
  }

  it('CBS with a token signed by the key string (UTF-8), sr = sb://host:port/<eh>/...', async () => {
    const t = await testHub();
    const p = await sendTelemetry(t, 1);
    const conn = await connectBare(t);
    const cbs = await openCbs(conn, 'cbs-reply');
    const audience = `sb://localhost:${t.hub.port}/${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/${p}`;
    expect(statusOf(await cbs.request(putTokenRequest(audience, ehToken(t, audience)))).code).toBe(200);
    const r = await conn.openReceiver({ address: partitionAddress(t, p), credit: 5 });
    expect(text((await next(r)).message)).toBe('event 0');
  });

  it('the IoT convention does not open the Event Hubs entity, nor the EH convention an IoT link', async () => {
    const t = await testHub();
    const conn = await connectBare(t);
    const cbs = await openCbs(conn);
    const audience = `sb://localhost:${t.hub.port}/${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/0`;
    await cbs.request(putTokenRequest(audience, ehToken(t, audience, 'base64')));
    await expect(conn.openReceiver(partitionAddress(t, 0))).rejects.toThrow(/unauthorized-access/);
    const d = t.hub.state.registry.getDevice('d1')!;
    const utf8Device = generateSasToken({
      resourceUri: `${hostOf(t)}/devices/d1`,
      key: d.primaryKey,
      keyEncoding: 'utf8',
    });
    expect(statusOf(await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, utf8Device))).code).toBe(
      401,
    );
    expect(
      statusOf(await cbs.request(putTokenRequest(`${hostOf(t)}/devices/d1`, deviceToken(t, 'd1')))).code,
    ).toBe(200);
  });

  it('$management READ: event hub and partition information, token in security_token', async () => {
    const t = await testHub({ partitions: 2 });
    const p = await sendTelemetry(t, 2);
    const conn = await connectBare(t);
    const mgmt = await RequestResponseLink.open(conn, {
      address: '$management',
      replyTo: 'mgmt-reply',
      timeoutMs: 5000,
    });
    const token = ehToken(t, `sb://localhost:${t.hub.port}/${t.hub.eventHubName}`);
    const read = (type: string, extra: object = {}, tok: string | null = token): Promise<Message> =>
      mgmt.request({
        properties: { messageId: `m-${type}` },
        applicationProperties: {
          operation: 'READ',
          type,
          name: t.hub.eventHubName,
          ...(tok === null ? {} : { security_token: tok }),
          ...extra,
        },
        body: null,
        bodyType: 'value',
      });
    const hubInfo = await read('com.microsoft:eventhub');
    expect(statusOf(hubInfo).code).toBe(200);
    // The management bodies are maps with string keys: plain objects.
    const body = hubInfo.body as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(body.name).toBe(t.hub.eventHubName);
    expect(body.created_at).toBeInstanceOf(Date);
    expect((body.partition_ids as { items: unknown[] }).items).toEqual(['0', '1']);
    const part = await read('com.microsoft:partition', { partition: String(p) });
    const pb = part.body as Record<string, unknown>;
    expect(pb).toMatchObject({
      partition: String(p),
      begin_sequence_number: 0n,
      last_enqueued_sequence_number: 1n,
      is_partition_empty: false,
    });
    expect(typeof pb.last_enqueued_offset).toBe('string');
    expect(pb.last_enqueued_time_utc).toBeInstanceOf(Date);
    const other = await read('com.microsoft:partition', { partition: String(1 - p) });
    expect((other.body as Record<string, unknown>).is_partition_empty).toBe(true);
    expect(statusOf(await read('com.microsoft:eventhub', {}, null)).code).toBe(401);
    expect(
      statusOf(await read('com.microsoft:eventhub', {}, 'SharedAccessSignature sr=x&sig=y&se=1')).code,
    ).toBe(401);
  });
});

describe('events read from disk', () => {
  it('a partition log that cannot be read detaches the reader with amqp:internal-error', async () => {
    const stateDir = await tempDir();
    const t = await testHub({ stateDir, fsync: false, eventCacheBytes: 1 });
    const p = await sendTelemetry(t, 3);
    // The events are on disk only (the cache holds 1 byte); the log loses them under the hub.
    truncateSync(path.join(stateDir, 'telemetry', `partition-${p}.log`), 0);
    const svc = await connectService(t);
    const r = await svc.openReceiver({ address: partitionAddress(t, p), credit: 10 });
    expect(await closedWith(r)).toMatchObject({ condition: 'amqp:internal-error' });
    // The hub goes on: another partition is read as usual.
    const other = await svc.openReceiver({ address: partitionAddress(t, (p + 1) % 4), credit: 10 });
    expect(other.link.remote).toBe('attached');
  });
});
