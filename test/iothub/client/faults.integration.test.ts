/**
 * Our DeviceClient through each of IoT Hub's fault injection operations (the emulator's faults.ts),
 * triggered as the SDKs' disconnect tests do: by a telemetry message with the fault properties.
 * The hub runs on a manual clock, so the fault fires and the faulted window ends exactly when the
 * test says. For every operation: no accepted telemetry is lost or read twice, a method called
 * after the fault is answered, a desired update made during the fault arrives after it with its
 * version, and C2D comes back.
 */
import { afterEach, describe, expect, test } from 'vitest';
import {
  DeviceClient,
  ModuleClient,
  ServiceClient,
  type DesiredUpdate,
  type IotHubEvent,
} from '../../../src/iothub/client/index.js';
import { FAULT_OPERATIONS, type FaultOperation } from '../../../src/iothub/emulator/faults.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { collect, tick, until } from './support.js';

afterEach(cleanup);

/** A hub whose clock moves only when the test moves it. */
async function manualHub(): Promise<{ hub: IotHubEmulator; advance: (ms: number) => void; log: string[] }> {
  let now = Date.now();
  const log: string[] = [];
  const hub = await hubForTest({ devices: ['d1'], clock: { now: () => now }, log: (l) => log.push(l) });
  return {
    hub,
    log,
    advance: (ms) => {
      now += ms;
      hub.tick(now);
    },
  };
}

/** The message that asks the hub for a fault, as the SDKs' e2e tests build it. */
function faultMessage(operation: string, delayS: number | string, durationS: number | string, id: string) {
  return {
    body: id,
    messageId: id,
    properties: {
      AzIoTHub_FaultOperationType: operation,
      AzIoTHub_FaultOperationCloseReason: 'boom',
      AzIoTHub_FaultOperationDelayInSecs: String(delayS),
      AzIoTHub_FaultOperationDurationInSecs: String(durationS),
    },
  };
}

/**
 * Invokes a method once the device is back on its methods link: the hub holds the call until a
 * method link attaches (its connect timeout runs on the hub's manual clock, which stands still
 * meanwhile), so the wait ends on the attach itself; the test's timeout bounds it.
 */
async function invokeWhenOnline(
  hub: IotHubEmulator,
  moduleId: string | undefined,
  name: string,
  payload: unknown,
): Promise<unknown> {
  const r = await hub.state.invokeMethod('d1', moduleId, name, Buffer.from(JSON.stringify(payload)), {
    connectTimeoutMs: 300_000,
  });
  return { status: r.status, payload: JSON.parse(Buffer.from(r.payload).toString()) as unknown };
}

/**
 * The faults after which our client reconnects: the connection faults, and KillAmqpSession (links
 * cannot be opened again on an ended session). The others cost the client one link, which it
 * attaches again on the same connection.
 */
const RECONNECTS = new Set<FaultOperation>([
  'KillTcp',
  'KillAmqpConnection',
  'ShutDownAmqp',
  'KillAmqpSession',
]);

describe.each(FAULT_OPERATIONS.map((op) => [op]))('fault injection: %s', (operation) => {
  test(
    'nothing accepted is lost; methods, desired updates and C2D come back',
    { timeout: 30_000 },
    async () => {
      const { hub, advance, log } = await manualHub();
      const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
        tls: { ca: hub.caPem },
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      });
      const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
        tls: { ca: hub.caPem },
      });
      onCleanup(() => device.close());
      onCleanup(() => service.close());
      const drops: Error[] = [];
      let dropped!: () => void;
      const firstDrop = new Promise<void>((r) => (dropped = r));
      device.on('disconnected', (e) => {
        drops.push(e);
        dropped();
      });

      device.onMethod('echo', (req) => ({ status: 200, payload: req.json() }));
      await device.enableMethods();
      const updates = device.desiredUpdates();
      await device.enableDesiredUpdates();
      const c2d = device.messages();
      await service.send('d1', 'c2d-before');
      const [m0] = await collect(c2d, (xs) => xs.length >= 1);
      await m0!.complete();

      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        await device.sendEvent({ body: `before-${i}`, messageId: `before-${i}` });
        sent.push(`before-${i}`);
      }
      await device.sendEvent(faultMessage(operation, 1, 2, 'fault-1'));
      sent.push('fault-1');
      expect(hub.faults!.pendingCount).toBe(1);

      // The delay: nothing happens until the hub's clock passes it.
      advance(999);
      expect(hub.faults!.history).toEqual([]);
      advance(1);
      expect(hub.faults!.history[0]).toEqual({ operation, identity: 'd1', killed: 1, again: false });
      // The client has seen the fault: its reconnect began (a link fault is seen as the detach).
      if (RECONNECTS.has(operation)) await firstDrop;

      // During the fault: a desired update the device can only get afterwards (or at once, where the
      // fault left the twin links alone).
      const doc = await hub.state.updateTwin('d1', undefined, { desired: { during: operation } });
      const version = doc.properties.desired.$version as number;
      advance(2000); // the faulted window is over
      expect(log.some((l) => l.includes(`${operation} on d1 (boom)`))).toBe(true);

      expect(await invokeWhenOnline(hub, undefined, 'echo', { after: operation })).toEqual({
        status: 200,
        payload: { after: operation },
      });
      const got: DesiredUpdate[] = await collect(updates, (xs) => xs.some((u) => u.version >= version));
      const last = got[got.length - 1]!;
      expect(last.version).toBe(version);
      expect(last.patch).toMatchObject({ during: operation });

      const after = await service.send('d1', 'c2d-after');
      const [m1] = await collect(c2d, (xs) => xs.length >= 1, 15_000);
      expect(m1!.messageIdText).toBe(after.messageId);
      await m1!.complete();

      for (let i = 0; i < 5; i++) {
        await device.sendEvent({ body: `after-${i}`, messageId: `after-${i}` });
        sent.push(`after-${i}`);
      }
      const events = service.events({ from: 'earliest' });
      const seen: IotHubEvent[] = await collect(events, (xs) => xs.length >= sent.length, 15_000);
      // Every send completed before or after the fault, none was in flight: exactly once each.
      expect(seen.map((e) => String(e.systemProperties.messageId)).sort()).toEqual([...sent].sort());
      // And nothing more was stored than was sent (a resend stored twice would show here).
      const t = hub.state.telemetry;
      expect(t.size(t.partitionOf('d1'))).toBe(sent.length);
      await events.close();
      // A connection or session fault reconnects (again while the window lasts: how often depends
      // on the backoff); a link fault never does.
      if (RECONNECTS.has(operation)) expect(drops.length).toBeGreaterThanOrEqual(1);
      else expect(drops).toEqual([]);
    },
  );
});

describe.each([['KillAmqpCBSLinkReq'], ['KillAmqpCBSLinkResp']])(
  'fault injection: %s, then renewals',
  (operation) => {
    test(
      'the client opens CBS again and keeps renewing, without a reconnect',
      { timeout: 30_000 },
      async () => {
        const clock = new ManualTimers();
        const hub = await hubForTest({ devices: ['d1'], clock: { now: () => clock.now() } });
        const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
          tls: { ca: hub.caPem },
          timers: clock,
          tokenLifetimeSeconds: 60,
        });
        onCleanup(() => device.close());
        const drops: Error[] = [];
        device.on('disconnected', (e) => drops.push(e));
        let renewals = 0;
        device.on('token-renewed', () => renewals++);
        await device.sendEvent('first');
        await device.sendEvent(faultMessage(operation, 0, 0, 'fault-cbs'));
        hub.tick(clock.now());
        expect(hub.faults!.history).toEqual([{ operation, identity: 'd1', killed: 1, again: false }]);

        // Three token lifetimes: without renewals the hub detaches the links of an expired token.
        for (let t = 0; t < 180_000; t += 2000) {
          clock.advance(2000);
          await tick(2);
          await until(() => !device.hub.tokenRenewer?.renewing, 10_000, 'the renewal in flight');
          hub.tick(clock.now());
        }
        expect(renewals).toBeGreaterThanOrEqual(3);
        expect(drops).toEqual([]);
        await device.sendEvent('after three lifetimes');
      },
    );
  },
);

describe.each([
  ['KillAmqpMethodReqLink'],
  ['KillAmqpTwinLinkResp'],
  ['KillAmqpSession'],
  ['KillTcp'],
] as const)('fault injection on a module: %s', (operation) => {
  test(
    'the fault hits the module; its method and desired updates come back',
    { timeout: 30_000 },
    async () => {
      const { hub, advance } = await manualHub();
      const m = hub.state.registry.addModule('d1', 'filter');
      const module = ModuleClient.fromConnectionString(
        `HostName=${hub.hostName};DeviceId=d1;ModuleId=filter;SharedAccessKey=${m.primaryKey}`,
        { tls: { ca: hub.caPem }, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } },
      );
      onCleanup(() => module.close());
      module.onMethod('echo', (req) => ({ status: 200, payload: req.json() }));
      await module.enableMethods();
      const updates = module.desiredUpdates();
      await module.enableDesiredUpdates();
      await module.sendEvent(faultMessage(operation, 1, 2, 'module-fault'));
      advance(1000);
      expect(hub.faults!.history[0]).toEqual({ operation, identity: 'd1/filter', killed: 1, again: false });
      const doc = await hub.state.updateTwin('d1', 'filter', { desired: { during: operation } });
      advance(2000);
      expect(await invokeWhenOnline(hub, 'filter', 'echo', 'after')).toEqual({
        status: 200,
        payload: 'after',
      });
      const version = doc.properties.desired.$version as number;
      const got = await collect(updates, (xs) => xs.some((u) => u.version >= version));
      expect(got[got.length - 1]).toMatchObject({ version, patch: { during: operation } });
    },
  );
});
