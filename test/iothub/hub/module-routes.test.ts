import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/codec/message.js';
import { Typed } from '../../../src/codec/values.js';
import { ManualClock } from '../../../src/util/timers.js';
import { createHubState, type HubStateOptions } from '../../../src/iothub/hub/hub.js';
import { MAX_MODULE_ROUTES } from '../../../src/iothub/hub/module-routes.js';
import { Registry } from '../../../src/iothub/hub/registry.js';
import { ann, T0, tempDir } from './helpers.js';

const route = {
  from: { deviceId: 'e1', moduleId: 'a', output: 'out1' },
  to: { deviceId: 'e1', moduleId: 'b', input: 'in1' },
};
const registry = {
  devices: [{ deviceId: 'e1', modules: [{ moduleId: 'a' }, { moduleId: 'b' }, { moduleId: 'c' }] }],
  routes: [route],
};

const output = (name: string, text: string): Message => ({
  properties: { messageId: text },
  applicationProperties: { 'iothub-outputname': name },
  messageAnnotations: { 'x-opt-input-name': 'forged', 'iothub-connection-device-id': 'forged' },
  body: Buffer.from(text),
});

function hub(extra: Partial<HubStateOptions> = {}, clock = new ManualClock(T0)) {
  return createHubState({ hubName: 'myhub', clock, registry, ...extra });
}

describe('module routes in the registry file', () => {
  test('parsed, kept in toJSON, replaced by a later document', () => {
    const r = Registry.fromJSON(registry, { clock: new ManualClock(T0) });
    expect(r.routes).toEqual([route]);
    expect(r.routesFrom('e1', 'a', 'out1')).toEqual([route]);
    expect(r.routesFrom('e1', 'a', 'OUT1')).toEqual([]);
    expect(Registry.fromJSON(r.toJSON(), { clock: new ManualClock(T0) }).routes).toEqual([route]);
    r.merge({ routes: [] });
    expect(r.routes).toEqual([]);
  });

  test.each([
    [{ routes: {} }, 'routes must be an array'],
    [{ routes: [null] }, 'routes[0] must be an object'],
    [
      { routes: [{ ...route, from: { ...route.from, moduleId: 'a/b' } }] },
      'routes[0].from.moduleId is invalid',
    ],
    [{ routes: [{ ...route, to: { deviceId: 'e1', moduleId: 'b' } }] }, 'routes[0].to.input must be'],
    [{ routes: [{ ...route, from: { ...route.from, output: 'x/y' } }] }, 'routes[0].from.output must be'],
    [{ routes: [route, route] }, 'routes[1] repeats an earlier route'],
    [
      { routes: [{ ...route, to: { ...route.to, moduleId: 'ghost' } }] },
      'module e1/ghost, which does not exist',
    ],
    [
      { routes: Array.from({ length: MAX_MODULE_ROUTES + 1 }, () => route) },
      `at most ${MAX_MODULE_ROUTES} routes`,
    ],
  ])('a bad document is HUB_BAD_REGISTRY and changes nothing (%#)', (doc, message) => {
    const r = Registry.fromJSON(registry, { clock: new ManualClock(T0) });
    let err: unknown;
    try {
      r.merge({ devices: [{ deviceId: 'new1' }], ...doc });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'HUB_BAD_REGISTRY', condition: 'com.microsoft:argument-error' });
    expect((err as Error).message).toContain(message);
    expect(r.getDevice('new1')).toBeUndefined();
    expect(r.routes).toEqual([route]);
  });

  test('a route may name a module the same document creates', () => {
    const r = new Registry({ clock: new ManualClock(T0) });
    r.merge(registry);
    expect(r.routes).toHaveLength(1);
  });
});

describe('module input queues', () => {
  test('a routed output reaches the input queue and the events endpoint', async () => {
    const h = await hub();
    const ev = await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    expect(ev.message.properties?.messageId).toBe('m1');
    const d = h.receiveInput('e1', 'b')!;
    expect(d.message.properties?.messageId).toBe('m1');
    expect(ann(d.message, 'x-opt-input-name')).toBe('in1');
    expect(ann(d.message, 'iothub-connection-device-id')).toBe('e1');
    expect(ann(d.message, 'iothub-connection-module-id')).toBe('a');
    expect(ann(d.message, 'x-opt-lock-token')).toBe(d.lockToken);
    expect(h.receiveInput('e1', 'b')).toBeUndefined();
    h.settleInput('e1', 'b', d.deliveryTag, 'complete');
    expect(h.inputs.depth('e1', 'b')).toBe(0);
    // Unrouted output, other module, plain telemetry: events only.
    await h.sendTelemetry('e1', output('other', 'm2'), { moduleId: 'a' });
    await h.sendTelemetry('e1', output('out1', 'm3'), { moduleId: 'c' });
    await h.sendTelemetry('e1', { body: Buffer.from('m4') }, { moduleId: 'a' });
    expect(h.inputs.depth('e1', 'b')).toBe(0);
    expect(h.inputs.depth('e1', 'c')).toBe(0);
    expect(h.partitionInfo(h.telemetry.partitionOf('e1')).lastEnqueuedSequenceNumber).toBe(3);
  });

  test('abandon redelivers with a delivery count; reject drops', async () => {
    const h = await hub();
    await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    const d1 = h.receiveInput('e1', 'b')!;
    h.settleInput('e1', 'b', d1.lockToken, 'abandon');
    const d2 = h.receiveInput('e1', 'b')!;
    expect(d2.deliveryCount).toBe(1);
    expect(ann(d2.message, 'iothub-deliverycount')).toEqual(new Typed('ubyte', 1));
    h.settleInput('e1', 'b', d2.lockToken, 'reject');
    expect(h.inputs.depth('e1', 'b')).toBe(0);
    expect(() => h.settleInput('e1', 'b', d2.lockToken, 'complete')).toThrow(
      expect.objectContaining({ code: 'HUB_LOCK_NOT_FOUND' }),
    );
  });

  test('a full input queue refuses the sender with resource-limit-exceeded and stores no event', async () => {
    const h = await hub({ moduleInputs: { maxQueuedPerModule: 2 } });
    await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    await h.sendTelemetryBatch('e1', [output('out1', 'm2')], { moduleId: 'a' });
    const p = h.partitionInfo(h.telemetry.partitionOf('e1'));
    await expect(h.sendTelemetry('e1', output('out1', 'm3'), { moduleId: 'a' })).rejects.toMatchObject({
      code: 'HUB_QUEUE_FULL',
      condition: 'amqp:resource-limit-exceeded',
    });
    // A batch with one routed message too many is refused whole.
    await expect(
      h.sendTelemetryBatch('e1', [output('x', 'ok'), output('out1', 'm4')], { moduleId: 'a' }),
    ).rejects.toMatchObject({ code: 'HUB_QUEUE_FULL' });
    expect(h.partitionInfo(p.partitionId).lastEnqueuedSequenceNumber).toBe(p.lastEnqueuedSequenceNumber);
    expect(h.inputs.depth('e1', 'b')).toBe(2);
    // Nothing was evicted: both first messages are still there, in order.
    expect(h.receiveInput('e1', 'b')!.message.properties?.messageId).toBe('m1');
    expect(h.receiveInput('e1', 'b')!.message.properties?.messageId).toBe('m2');
  });

  test('a telemetry refusal gives the reserved slots back', async () => {
    const h = await hub({ moduleInputs: { maxQueuedPerModule: 1 }, maxTelemetrySize: 200 });
    const big: Message = { ...output('out1', 'big'), body: Buffer.alloc(1000) };
    await expect(h.sendTelemetry('e1', big, { moduleId: 'a' })).rejects.toMatchObject({
      code: 'HUB_MESSAGE_TOO_LARGE',
    });
    expect(h.inputs.depth('e1', 'b')).toBe(0);
    await h.sendTelemetry('e1', output('out1', 'ok'), { moduleId: 'a' });
    expect(h.inputs.depth('e1', 'b')).toBe(1);
  });

  test('one output feeds several inputs; messages expire after the TTL', async () => {
    const clock = new ManualClock(T0);
    const fanOut = {
      ...registry,
      routes: [route, { from: route.from, to: { deviceId: 'e1', moduleId: 'c', input: 'copy' } }],
    };
    const h = await hub({ registry: fanOut, moduleInputs: { ttlMs: 1000 } }, clock);
    await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    expect(ann(h.receiveInput('e1', 'c')!.message, 'x-opt-input-name')).toBe('copy');
    expect(h.inputs.depth('e1', 'b')).toBe(1);
    clock.advance(1000);
    h.tick();
    expect(h.inputs.depth('e1', 'b')).toBe(0);
  });

  test('with a state directory, queued inputs survive a restart; routes too', async () => {
    const stateDir = await tempDir();
    const h1 = await hub({ stateDir, fsync: false });
    await h1.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    await h1.sendTelemetry('e1', output('out1', 'm2'), { moduleId: 'a' });
    const d = h1.receiveInput('e1', 'b')!;
    h1.settleInput('e1', 'b', d.lockToken, 'complete');
    await h1.close();
    const h2 = await createHubState({ hubName: 'myhub', clock: new ManualClock(T0), stateDir, fsync: false });
    expect(h2.registry.routes).toEqual([route]);
    const again = h2.receiveInput('e1', 'b')!;
    expect(again.message.properties?.messageId).toBe('m2');
    expect(ann(again.message, 'x-opt-input-name')).toBe('in1');
    expect(h2.receiveInput('e1', 'b')).toBeUndefined();
    // A route to a module removed since does not stop the next start.
    h2.removeModule('e1', 'b');
    await h2.close();
    const h3 = await createHubState({ hubName: 'myhub', clock: new ManualClock(T0), stateDir, fsync: false });
    expect(h3.registry.routes).toEqual([route]);
    await h3.sendTelemetry('e1', output('out1', 'm3'), { moduleId: 'a' });
    expect(h3.inputs.depth('e1', 'b')).toBe(0);
    await h3.close();
  });

  test('removing a module drops its input queue; routes to it then match nothing', async () => {
    const h = await hub();
    await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    expect(h.removeModule('e1', 'b')).toBe(true);
    expect(h.inputs.depth('e1', 'b')).toBe(0);
    h.registry.addModule('e1', 'b');
    expect(h.receiveInput('e1', 'b')).toBeUndefined();
    h.registry.removeModule('e1', 'b');
    await h.sendTelemetry('e1', output('out1', 'm2'), { moduleId: 'a' });
    expect(h.inputs.depth('e1', 'b')).toBe(0);
  });

  test("removing the device drops its modules' input queues", async () => {
    const h = await hub();
    await h.sendTelemetry('e1', output('out1', 'm1'), { moduleId: 'a' });
    expect(h.removeDevice('e1')).toBe(true);
    expect(h.inputs.depth('e1', 'b')).toBe(0);
  });
});
