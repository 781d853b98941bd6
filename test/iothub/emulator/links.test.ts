/**
 * The emulator's device and service links with our own client (contract sections 4-6): telemetry,
 * C2D with every outcome, feedback, the queue rules (limit, lock, delivery count, TTL), size limits,
 * address forms and the attach replies. Time moves only by the injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Source } from '../../../src/codec/spec/records.js';
import { Typed } from '../../../src/codec/values.js';
import {
  ann,
  c2d,
  cleanup,
  connectDevice,
  connectService,
  next,
  serviceToken,
  testHub,
  text,
  until,
} from './helpers.js';

afterEach(cleanup);

describe('the open', () => {
  it("announces the real hub's idle-time-out, 240000 ms, and max-frame-size 65536", async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    expect(conn.remoteOpen?.idleTimeOut).toBe(240_000);
    expect(conn.remoteOpen?.maxFrameSize).toBe(65536);
    expect(String(conn.remoteOpen?.containerId)).toMatch(/^DeviceGateway_[0-9a-f]{32}$/);
  });
});

describe('telemetry', () => {
  it('accepts device telemetry and stores it with the hub annotations in hash(device) mod N', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const s = await conn.openSender('/devices/d1/messages/events');
    const state = await s.send({
      properties: { messageId: 'm1', contentType: 'application/json' },
      applicationProperties: { temp: 21 },
      messageAnnotations: { 'iothub-connection-device-id': 'forged' },
      body: Buffer.from('{"t":21}'),
    });
    expect(state?.type).toBe('accepted');
    const p = t.hub.state.telemetry.partitionOf('d1');
    const cursor = t.hub.state.openEventCursor(p);
    const e = cursor.next()!;
    const m = e.message;
    expect(text(m)).toBe('{"t":21}');
    expect(ann(m, 'iothub-connection-device-id')).toBe('d1');
    expect(ann(m, 'iothub-message-source')).toBe('Telemetry');
    expect(JSON.parse(String(ann(m, 'iothub-connection-auth-method')))).toEqual({
      scope: 'device',
      type: 'sas',
      issuer: 'iothub',
      acceptingIpFilterRule: null,
    });
    expect(ann(m, 'x-opt-sequence-number')).toBe(0n);
    expect(ann(m, 'x-opt-offset')).toBe('0');
    expect(ann(m, 'iothub-enqueuedtime')).toEqual(new Date(t.clock.now()));
    expect(m.applicationProperties).toEqual({ temp: 21 });
  });

  it('answers the attach echoing source and target, with max-message-size 1048576', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const s = await conn.openSender({
      address: '/devices/d1/messages/events',
      source: { address: 'src-d1' },
    });
    const a = s.link.remoteAttach!;
    expect((a.target as { address?: unknown }).address).toBe('/devices/d1/messages/events');
    expect((a.source as Source).address).toBe('src-d1');
    expect(Number(a.maxMessageSize)).toBe(1048576);
  });

  it('takes full URIs and other cases in addresses', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const s = await conn.openSender(`amqps://localhost:${t.hub.port}/DEVICES/d1/Messages/Events`);
    expect((await s.send({ body: Buffer.from('x') }))?.type).toBe('accepted');
  });

  it('rejects a message over 256 KB with amqp:link:message-size-exceeded and keeps the link', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const s = await conn.openSender('/devices/d1/messages/events');
    const big = await s.send({ body: Buffer.alloc(300 * 1024, 1) });
    expect(big?.type).toBe('rejected');
    expect((big as { error?: { condition: string } }).error?.condition).toBe(
      'amqp:link:message-size-exceeded',
    );
    expect((await s.send({ body: Buffer.from('small') }))?.type).toBe('accepted');
    const p = t.hub.state.telemetry.partitionOf('d1');
    expect(t.hub.state.telemetry.size(p)).toBe(1);
  });

  it('stores a batch (message format 0x80013700) message by message', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const s = await conn.openSender('/devices/d1/messages/events');
    const { encodeMessage } = await import('../../../src/codec/message.js');
    const inner = [1, 2, 3].map((i) =>
      encodeMessage({ properties: { messageId: `b${i}` }, body: Buffer.from(`e${i}`) }),
    );
    const outer = encodeMessage({ body: inner, bodyType: 'data' });
    const d = s.link.send(outer, { messageFormat: 0x80013700 });
    conn.schedule();
    await until(() => d.remoteState !== undefined);
    expect(d.remoteState?.type).toBe('accepted');
    const cursor = t.hub.state.openEventCursor(t.hub.state.telemetry.partitionOf('d1'));
    expect([cursor.next(), cursor.next(), cursor.next()].map((e) => text(e!.message))).toEqual([
      'e1',
      'e2',
      'e3',
    ]);
  });
});

describe('cloud-to-device', () => {
  it('routes by `to`, delivers unsettled with a 16-byte lock-token tag and the annotations', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const dev = await connectDevice(t, 'd1');
    const s = await svc.openSender('/messages/devicebound');
    expect((await s.send(c2d('d1', 'c1', 'full')))?.type).toBe('accepted');
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 10 });
    const m = await next(r);
    expect(m.settled).toBe(false);
    expect(m.tag.length).toBe(16);
    const msg = m.message;
    expect(text(msg)).toBe('payload c1');
    expect(typeof ann(msg, 'x-opt-lock-token')).toBe('string');
    expect(ann(msg, 'x-opt-sequence-number')).toEqual(new Typed('ulong', 1n));
    expect(ann(msg, 'iothub-enqueuedtime')).toBeInstanceOf(Date);
    expect(ann(msg, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 0));
    expect(msg.applicationProperties).toMatchObject({ 'iothub-ack': 'full' });
    m.accept();
    await until(() => t.hub.state.c2d.depth('d1') === 0);
  });

  it('complete, reject and abandon; feedback Success and Rejected in one batch', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const dev = await connectDevice(t, 'd1');
    const s = await svc.openSender('/messages/devicebound');
    for (const id of ['a', 'b', 'c']) await s.send(c2d('d1', id, 'full'));
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 1 });
    const a = await next(r);
    a.accept();
    const b = await next(r);
    b.reject();
    const c = await next(r);
    expect(text(c.message)).toBe('payload c');
    c.release();
    const again = await next(r);
    expect(text(again.message)).toBe('payload c');
    expect(ann(again.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 1));
    again.accept();
    await until(() => t.hub.state.c2d.depth('d1') === 0);

    const fb = await svc.openReceiver({ address: '/messages/serviceBound/feedback', credit: 5 });
    t.advance(1000);
    const f = await next(fb);
    expect(f.tag.length).toBe(16);
    expect(f.message.properties?.contentType).toBe('application/vnd.microsoft.iothub.feedback.json');
    expect(Buffer.from(f.message.properties!.userId as Uint8Array).toString()).toBe(t.hub.hubName);
    expect(ann(f.message, 'iothub-enqueuedtime')).toBeInstanceOf(Date);
    const records = JSON.parse(text(f.message)) as {
      originalMessageId: string;
      statusCode: string;
      deviceId: string;
    }[];
    expect(records.map((x) => [x.originalMessageId, x.statusCode, x.deviceId])).toEqual([
      ['a', 'Success', 'd1'],
      ['b', 'Rejected', 'd1'],
      ['c', 'Success', 'd1'],
    ]);
    f.accept();
    await until(() => t.hub.state.feedback.depth === 0);
  });

  it('honours dispositions that arrive as a range', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const dev = await connectDevice(t, 'd1');
    const s = await svc.openSender('/messages/devicebound');
    for (let i = 0; i < 5; i++) await s.send(c2d('d1', `r${i}`));
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 10 });
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await next(r));
    // Settle all five in one go: the engine coalesces neighbours into one first..last disposition.
    for (const m of got)
      (m.delivery.link as import('../../../src/link/receiver.js').Receiver).settle(m.delivery, {
        type: 'accepted',
      });
    dev.schedule();
    await until(() => t.hub.state.c2d.depth('d1') === 0);
  });

  it('refuses the 51st queued message with amqp:resource-limit-exceeded and loses none of the 50', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const s = await svc.openSender('/messages/devicebound');
    for (let i = 0; i < 50; i++) expect((await s.send(c2d('d1', `q${i}`)))?.type).toBe('accepted');
    const over = await s.send(c2d('d1', 'q50'));
    expect(over?.type).toBe('rejected');
    expect((over as { error?: { condition: string } }).error?.condition).toBe('amqp:resource-limit-exceeded');
    expect(t.hub.state.c2d.depth('d1')).toBe(50);
    const dev = await connectDevice(t, 'd1');
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 100 });
    const ids = [];
    for (let i = 0; i < 50; i++) {
      const m = await next(r);
      ids.push(m.message.properties?.messageId);
      m.accept();
    }
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `q${i}`));
  });

  it('C2D to an unknown device is rejected with amqp:not-found; a bad `to` with argument-error', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const s = await svc.openSender('/messages/devicebound');
    const r1 = await s.send(c2d('ghost', 'x'));
    expect((r1 as { error?: { condition: string } }).error?.condition).toBe('amqp:not-found');
    const r2 = await s.send({ properties: { messageId: 'y', to: '/nowhere' }, body: Buffer.from('y') });
    expect((r2 as { error?: { condition: string } }).error?.condition).toBe('com.microsoft:argument-error');
  });

  it('a lock times out after 60 s: the message comes back, a late complete is ignored', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const dev = await connectDevice(t, 'd1');
    await (await svc.openSender('/messages/devicebound')).send(c2d('d1', 'lock', 'full'));
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 5 });
    const first = await next(r);
    t.advance(59_000);
    expect(t.hub.state.c2d.available('d1')).toBe(0);
    t.advance(1_000);
    const second = await next(r);
    expect(second.message.properties?.messageId).toBe('lock');
    expect(ann(second.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 1));
    expect(Buffer.compare(first.tag, second.tag)).not.toBe(0);
    first.accept(); // lost lock: ignored
    await until(() => t.hub.state.c2d.depth('d1') === 1);
    second.accept();
    await until(() => t.hub.state.c2d.depth('d1') === 0);
    t.advance(1000);
    const fb = await svc.openReceiver({ address: '/messages/serviceBound/feedback', credit: 5 });
    const records = JSON.parse(text((await next(fb)).message)) as { statusCode: string }[];
    expect(records.map((x) => x.statusCode)).toEqual(['Success']);
  });

  it('the 10th abandon gives DeliveryCountExceeded feedback (ack negative)', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    const dev = await connectDevice(t, 'd1');
    await (await svc.openSender('/messages/devicebound')).send(c2d('d1', 'dc', 'negative'));
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 1 });
    for (let i = 0; i < 10; i++) {
      const m = await next(r);
      expect(ann(m.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', i));
      m.release();
    }
    await until(() => t.hub.state.c2d.depth('d1') === 0);
    t.advance(1000);
    const fb = await svc.openReceiver({ address: '/messages/serviceBound/feedback', credit: 5 });
    const records = JSON.parse(text((await next(fb)).message)) as {
      statusCode: string;
      originalMessageId: string;
    }[];
    expect(records).toMatchObject([{ statusCode: 'DeliveryCountExceeded', originalMessageId: 'dc' }]);
  });

  it('TTL: default 1 h, absoluteExpiryTime honoured; Expired feedback, nothing delivered late', async () => {
    const t = await testHub();
    const svc = await connectService(
      t,
      'service',
      serviceToken(t, 'service', { expiresInSeconds: 4 * 3600 }),
    );
    const s = await svc.openSender('/messages/devicebound');
    await s.send(
      c2d('d1', 'short', 'full', { properties: { absoluteExpiryTime: new Date(t.clock.now() + 10_000) } }),
    );
    await s.send(c2d('d1', 'default', 'full'));
    t.advance(10_000);
    expect(t.hub.state.c2d.depth('d1')).toBe(1);
    t.advance(3600_000 - 10_000);
    expect(t.hub.state.c2d.depth('d1')).toBe(0);
    t.advance(1000);
    const fb = await svc.openReceiver({ address: '/messages/serviceBound/feedback', credit: 5 });
    const all: { statusCode: string; originalMessageId: string }[] = [];
    while (all.length < 2) {
      const f = await next(fb);
      all.push(...(JSON.parse(text(f.message)) as typeof all));
      f.accept();
    }
    expect(all.map((x) => [x.originalMessageId, x.statusCode])).toEqual([
      ['short', 'Expired'],
      ['default', 'Expired'],
    ]);
    const dev = await connectDevice(t, 'd1');
    const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 5 });
    // Nothing is queued any more, so nothing can arrive (a short real-time bound on the check).
    await expect(r.receive({ timeoutMs: 200 })).rejects.toThrow(/no message/);
  });

  it('a device that goes away with a locked message gets it again at once', async () => {
    const t = await testHub();
    const svc = await connectService(t);
    await (await svc.openSender('/messages/devicebound')).send(c2d('d1', 'again'));
    const dev1 = await connectDevice(t, 'd1');
    const r1 = await dev1.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 5 });
    await next(r1);
    await dev1.close();
    const dev2 = await connectDevice(t, 'd1');
    const r2 = await dev2.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 5 });
    const m = await next(r2);
    expect(m.message.properties?.messageId).toBe('again');
    m.accept();
  });
});

describe('the model id (com.microsoft:model-id, contract section 12)', () => {
  it('is recorded from any device link; a value that is not a 1 to 4096 character string refuses the link', async () => {
    const t = await testHub();
    const conn = await connectDevice(t, 'd1');
    const attach = (value: string | number) =>
      conn.openSender({
        address: '/devices/d1/messages/events',
        properties: { 'com.microsoft:model-id': value },
      });
    await expect(attach(42)).rejects.toThrow(/invalid-field/);
    await expect(attach('')).rejects.toThrow(/invalid-field/);
    await expect(attach(`dtmi:${'x'.repeat(4096)};1`)).rejects.toThrow(/invalid-field/);
    expect(t.hub.state.registry.getDevice('d1')!.modelId).toBeUndefined();
    const r = await conn.openReceiver({
      address: '/devices/d1/messages/devicebound',
      properties: { 'com.microsoft:model-id': 'dtmi:com:example:Light;2' },
    });
    expect(t.hub.state.registry.getDevice('d1')!.modelId).toBe('dtmi:com:example:Light;2');
    await r.close();
  });
});
