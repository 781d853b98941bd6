/**
 * The hub state: registry, telemetry, C2D queues and feedback tied together, with the checks that
 * need more than one of them (does the device exist, is it enabled, which generation id goes on the
 * event or the feedback record). It owns no sockets and no timers: see index.ts for how the AMQP
 * layer drives it.
 *
 * State directory layout (`--state DIR`):
 *   hub.json                           hub name, partition count, creation time
 *   registry.json                      devices, modules, policies (atomic rewrite on change)
 *   telemetry/partition-<n>.log        events per partition
 *   c2d.log                            C2D queues
 *   module-inputs.log                  module input queues (module routes)
 *   feedback.log                       pending feedback records and feedback messages
 *   twins.json                         device and module twins (atomic rewrite on change, 0600)
 */
import * as path from 'node:path';
import type { Message } from '../../codec/message.js';
import { entry, stringOf } from '../message-values.js';
import { deviceOfC2dAddress } from './address.js';
import { C2dStore, type C2dDelivery, type C2dEnqueued, type C2dEntry, type C2dLimits } from './c2d.js';
import { systemClock, type Clock } from '../../util/timers.js';
import { HubError } from './errors.js';
import { FeedbackStore, type FeedbackDelivery, type FeedbackEntry, type FeedbackLimits } from './feedback.js';
import type { EventPosition } from './filter.js';
import type { SettleOutcome } from './queue.js';
import {
  ModuleInputStore,
  type InputDelivery,
  type InputEntry,
  type InputReservation,
  type ModuleInputLimits,
} from './module-inputs.js';
import { identityKey, MethodDispatcher, type InvokeOptions, type MethodResult } from './methods.js';
import { Registry, type DeviceIdentity } from './registry.js';
import { TwinStore, type TwinDocument } from './twin.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tightenFile } from './private-files.js';
import { readJsonFile, writeFileAtomic } from './store.js';
import {
  TelemetryStore,
  type AuthMethod,
  type EventCursor,
  type PartitionInfo,
  type StoredEvent,
} from './telemetry.js';

export interface HubStateOptions {
  /** The hub name: `<name>` of `<name>.azure-devices.net`, the feedback user-id, the default event hub name. */
  hubName: string;
  /** Default: the system clock. Tests pass a ManualClock. */
  clock?: Clock;
  /** Without it everything is in memory. */
  stateDir?: string;
  /** fdatasync the logs (default true). */
  fsync?: boolean;
  /** Default 4; with an existing state directory, default (and required to match): the stored count. */
  partitions?: number;
  /** The Event Hubs-compatible name; default = hubName. */
  eventHubName?: string;
  /** Consumer groups besides `$Default`. */
  consumerGroups?: string[];
  /** Telemetry retention (default 1 day). */
  retentionMs?: number;
  /**
   * Telemetry limits: past them sends are refused (com.microsoft:quota-exceeded) until retention
   * frees space; accepted events are never evicted. Events per partition (default 100 000), bytes
   * per partition (default 128 MiB), bytes in all partitions (default 512 MiB).
   */
  maxEventsPerPartition?: number;
  maxPartitionBytes?: number;
  maxTelemetryBytes?: number;
  /** With a state directory, bytes of the newest events kept in memory per partition (default 8 MiB). */
  eventCacheBytes?: number;
  /** D2C size limit, default 256 KiB. */
  maxTelemetrySize?: number;
  c2d?: Partial<C2dLimits>;
  /** Module input queues: depth per module (default 100), TTL, lock, deliveries. */
  moduleInputs?: Partial<ModuleInputLimits>;
  feedback?: Partial<FeedbackLimits>;
  /** A registry document (`--registry file.json`): merged into the stored registry. */
  registry?: unknown;
  /** Devices that must exist (`--device ID`); existing ones keep their keys. */
  devices?: string[];
  /** Direct method calls waiting or in flight per device or module (default 100). */
  maxPendingMethods?: number;
}

/** The application property a module's telemetry names its output with (contract section 12). */
const OUTPUT_NAME = 'iothub-outputname';

export interface EventHubInfo {
  name: string;
  createdAt: Date;
  partitionIds: string[];
}

export interface TelemetryOptions {
  moduleId?: string;
  authMethod?: Partial<AuthMethod> | string;
  /** Each message's encoded size as received, when known. */
  sizes?: readonly number[];
}

interface HubMeta {
  version: 1;
  hubName: string;
  partitions: number;
  createdAt: number;
}

/** Opens (or creates) the hub state; replays the state directory when there is one. */
export async function createHubState(opts: HubStateOptions): Promise<HubState> {
  const clock = opts.clock ?? systemClock;
  const stateDir = opts.stateDir === undefined ? undefined : path.resolve(opts.stateDir);
  let partitions = opts.partitions ?? 4;
  let createdAt = clock.now();
  let registry: Registry;
  if (stateDir !== undefined) {
    // The registry below holds every key: the folder is the owner's alone, and a registry left
    // by an older run with a wider mode is tightened before anything else.
    await ensurePrivateDir(stateDir);
    await tightenFile(path.join(stateDir, 'registry.json'));
    const metaFile = path.join(stateDir, 'hub.json');
    const meta = (await readJsonFile(metaFile)) as HubMeta | undefined;
    if (meta) {
      if (opts.partitions !== undefined && opts.partitions !== meta.partitions)
        throw new HubError(
          'HUB_STATE_MISMATCH',
          `${stateDir} holds a hub with ${meta.partitions} partitions, not ${opts.partitions}: ` +
            'device-to-partition mapping would change; use another state directory',
        );
      partitions = meta.partitions;
      createdAt = meta.createdAt;
    }
    const m: HubMeta = { version: 1, hubName: opts.hubName, partitions, createdAt };
    if (!meta || meta.hubName !== opts.hubName) await writeFileAtomic(metaFile, JSON.stringify(m, null, 2));
    const stored = await readJsonFile(path.join(stateDir, 'registry.json'));
    registry = stored === undefined ? new Registry({ clock }) : Registry.fromJSON(stored, { clock });
  } else {
    registry = new Registry({ clock });
  }
  if (opts.registry !== undefined) registry.merge(opts.registry);
  for (const d of opts.devices ?? []) registry.ensureDevice(d);

  const listeners = new Set<() => void>();
  const onDeadline = (): void => {
    for (const cb of [...listeners]) cb();
  };
  const common = {
    clock,
    onDeadline,
    ...(stateDir === undefined ? {} : { stateDir }),
    ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }),
  };
  const telemetry = await TelemetryStore.open({
    ...common,
    partitions,
    ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
    ...(opts.maxEventsPerPartition === undefined
      ? {}
      : { maxEventsPerPartition: opts.maxEventsPerPartition }),
    ...(opts.maxPartitionBytes === undefined ? {} : { maxPartitionBytes: opts.maxPartitionBytes }),
    ...(opts.maxTelemetryBytes === undefined ? {} : { maxTotalBytes: opts.maxTelemetryBytes }),
    ...(opts.eventCacheBytes === undefined ? {} : { cacheBytesPerPartition: opts.eventCacheBytes }),
    ...(opts.maxTelemetrySize === undefined ? {} : { maxMessageSize: opts.maxTelemetrySize }),
  });
  const feedback = await FeedbackStore.open({ ...common, ...opts.feedback, hubName: opts.hubName });
  const c2d = await C2dStore.open({ ...common, ...opts.c2d });
  const inputs = await ModuleInputStore.open({ ...common, ...opts.moduleInputs });
  const now = (): number => clock.now();
  const twins = await TwinStore.open(stateDir === undefined ? { now } : { stateDir, now });
  const methods = new MethodDispatcher({
    clock,
    onDeadline,
    ...(opts.maxPendingMethods === undefined ? {} : { maxPendingPerIdentity: opts.maxPendingMethods }),
  });
  const hub = new HubState(
    opts,
    clock,
    stateDir,
    new Date(createdAt),
    registry,
    telemetry,
    c2d,
    feedback,
    listeners,
    methods,
    twins,
    inputs,
  );
  if (stateDir !== undefined) await hub.saveRegistry();
  return hub;
}

export class HubState {
  readonly hubName: string;
  readonly eventHubName: string;
  readonly consumerGroups: readonly string[];
  private registrySave: Promise<void> = Promise.resolve();
  private registryDirty = false;
  private registryError: HubError | undefined;
  private closed = false;

  /** Use createHubState(). */
  constructor(
    opts: HubStateOptions,
    readonly clock: Clock,
    readonly stateDir: string | undefined,
    readonly createdAt: Date,
    readonly registry: Registry,
    readonly telemetry: TelemetryStore,
    readonly c2d: C2dStore,
    readonly feedback: FeedbackStore,
    private readonly deadlineListeners: Set<() => void>,
    readonly methods: MethodDispatcher,
    readonly twins: TwinStore,
    readonly inputs: ModuleInputStore,
  ) {
    this.hubName = opts.hubName;
    this.eventHubName = opts.eventHubName ?? opts.hubName;
    const groups = ['$Default', ...(opts.consumerGroups ?? [])];
    this.consumerGroups = groups.filter(
      (g, i) => groups.findIndex((h) => h.toLowerCase() === g.toLowerCase()) === i,
    );
    c2d.onFeedback = (o) => feedback.submit(o);
    registry.onChange(() => this.scheduleRegistrySave());
  }

  /** Whether accepted state is written to a state directory. */
  get durable(): boolean {
    return this.stateDir !== undefined;
  }

  // ---- devices (the AMQP layer calls these for device links) ----

  /** The device, or HUB_DEVICE_NOT_FOUND / HUB_DEVICE_DISABLED. */
  requireEnabledDevice(deviceId: string, moduleId?: string): Readonly<DeviceIdentity> {
    const d = this.registry.requireDevice(deviceId);
    if (d.status !== 'enabled') throw new HubError('HUB_DEVICE_DISABLED', `device ${deviceId} is disabled`);
    if (moduleId !== undefined && !d.modules.has(moduleId))
      throw new HubError('HUB_DEVICE_NOT_FOUND', `module ${deviceId}/${moduleId} not found`);
    return d;
  }

  /**
   * Telemetry from `/devices/{d}[/modules/{m}]/messages/events`. Resolves once accepted (answer
   * `accepted`); rejects with a HubError whose `condition` goes on the `rejected` outcome
   * (HUB_MESSAGE_TOO_LARGE, HUB_DEVICE_NOT_FOUND, HUB_DEVICE_DISABLED, HUB_QUOTA_EXCEEDED,
   * HUB_STORE_FAILED).
   */
  sendTelemetry(deviceId: string, message: Message, opts: TelemetryOptions = {}): Promise<StoredEvent> {
    return this.sendTelemetryBatch(deviceId, [message], opts).then((es) => es[0]!);
  }

  /**
   * A batch of telemetry (the SDKs' sendEventBatch): every message accepted, or none (the same
   * rejections as sendTelemetry, plus HUB_QUOTA_EXCEEDED when the partition or the hub is full).
   */
  sendTelemetryBatch(
    deviceId: string,
    messages: Message[],
    opts: TelemetryOptions = {},
  ): Promise<StoredEvent[]> {
    try {
      const d = this.requireEnabledDevice(deviceId, opts.moduleId);
      const generationId =
        opts.moduleId === undefined ? d.generationId : d.modules.get(opts.moduleId)!.generationId;
      this.registry.touch(deviceId);
      const moduleId = opts.moduleId;
      if (moduleId === undefined)
        return this.telemetry.appendBatch(deviceId, messages, { ...opts, generationId });
      // A routed message goes to its inputs and to the events endpoint, or to neither: slots first
      // (HUB_QUEUE_FULL refuses the whole batch), the inputs once the events are stored.
      const reservations = this.reserveInputs(deviceId, moduleId, messages);
      let stored: Promise<StoredEvent[]>;
      try {
        stored = this.telemetry.appendBatch(deviceId, messages, { ...opts, generationId });
      } catch (e) {
        for (const r of reservations) if (r) this.inputs.release(r);
        throw e;
      }
      return stored.then(
        async (events) => {
          await Promise.all(
            reservations.map((r, i) => r && this.inputs.enqueue(r, messages[i]!, { deviceId, moduleId })),
          );
          return events;
        },
        (e: unknown) => {
          for (const r of reservations) if (r) this.inputs.release(r);
          throw e;
        },
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** One reservation per message that a route takes (undefined for the others), or none and throws. */
  private reserveInputs(
    deviceId: string,
    moduleId: string,
    messages: readonly Message[],
  ): (InputReservation | undefined)[] {
    if (this.registry.routes.length === 0) return messages.map(() => undefined);
    const out: (InputReservation | undefined)[] = [];
    try {
      for (const m of messages) {
        const output = stringOf(entry(m.applicationProperties, OUTPUT_NAME, true));
        const targets =
          output === undefined
            ? []
            : this.registry
                .routesFrom(deviceId, moduleId, output)
                .filter((r) => this.registry.getModule(r.to.deviceId, r.to.moduleId) !== undefined)
                .map((r) => ({ ...r.to }));
        out.push(targets.length === 0 ? undefined : this.inputs.reserve(targets));
      }
    } catch (e) {
      for (const r of out) if (r) this.inputs.release(r);
      throw e;
    }
    return out;
  }

  // ---- module inputs (module routes) ----

  /** Locks the module's next input message (send it unsettled with `deliveryTag`), if any. */
  receiveInput(deviceId: string, moduleId: string): InputDelivery | undefined {
    return this.inputs.receive(deviceId, moduleId);
  }

  /** The module's outcome: as settleC2d, without feedback. */
  settleInput(
    deviceId: string,
    moduleId: string,
    lockToken: string | Uint8Array,
    outcome: SettleOutcome,
  ): InputEntry {
    const e = this.inputs.settle(deviceId, moduleId, lockToken, outcome);
    this.registry.touch(deviceId);
    return e;
  }

  onInputAvailable(deviceId: string, moduleId: string, cb: () => void): () => void {
    return this.inputs.onAvailable(deviceId, moduleId, cb);
  }

  /** Locks the device's next C2D message (send it unsettled with `deliveryTag`), if any. */
  receiveC2d(deviceId: string): C2dDelivery | undefined {
    return this.c2d.receive(deviceId);
  }

  /**
   * A device disposition: accepted = 'complete', rejected = 'reject', released = 'abandon'
   * (modified: treat as abandon or refuse, the AMQP layer's choice). Throws HUB_LOCK_NOT_FOUND /
   * HUB_LOCK_LOST for a token that is not (or no longer) locked.
   */
  settleC2d(deviceId: string, lockToken: string | Uint8Array, outcome: SettleOutcome): C2dEntry {
    const e = this.c2d.settle(deviceId, lockToken, outcome);
    this.registry.touch(deviceId);
    return e;
  }

  onC2dAvailable(deviceId: string, cb: () => void): () => void {
    return this.c2d.onAvailable(deviceId, cb);
  }

  // ---- service ----

  /**
   * A message from the service's `/messages/devicebound` sender, routed by its `to`. Resolves once
   * queued (accepted); rejects with HUB_BAD_ADDRESS, HUB_DEVICE_NOT_FOUND (amqp:not-found),
   * HUB_QUEUE_FULL (amqp:resource-limit-exceeded) or HUB_STORE_FAILED.
   */
  sendC2d(message: Message): Promise<C2dEnqueued> {
    try {
      const to = message.properties?.to;
      const deviceId = deviceOfC2dAddress(to);
      if (deviceId === undefined)
        throw new HubError(
          'HUB_BAD_ADDRESS',
          `a C2D message needs to = /devices/{id}/messages/devicebound, not ${JSON.stringify(to ?? null)}`,
        );
      const d = this.registry.getDevice(deviceId);
      if (!d) throw new HubError('HUB_DEVICE_NOT_FOUND', `device ${deviceId} not found`);
      return this.c2d.enqueue(deviceId, message, { generationId: d.generationId });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Purges a device's C2D queue (Purged feedback); returns how many messages were removed. */
  purgeC2d(deviceId: string): number {
    this.registry.requireDevice(deviceId);
    return this.c2d.purge(deviceId);
  }

  /** Removes a device, its queue (no feedback: the identity is gone) and its twins. */
  removeDevice(deviceId: string): boolean {
    const had = this.registry.removeDevice(deviceId);
    if (had) {
      this.twins.removeDevice(deviceId);
      this.inputs.purgeDevice(deviceId);
      const saved = this.c2d.onFeedback;
      this.c2d.onFeedback = undefined;
      try {
        this.c2d.purge(deviceId);
      } finally {
        this.c2d.onFeedback = saved;
      }
    }
    return had;
  }

  /** Removes a module, its twin and its input queue (a module created again with the id starts empty). */
  removeModule(deviceId: string, moduleId: string): boolean {
    const had = this.registry.removeModule(deviceId, moduleId);
    if (had) {
      this.twins.remove(identityKey(deviceId, moduleId));
      this.inputs.purge(deviceId, moduleId);
    }
    return had;
  }

  receiveFeedback(): FeedbackDelivery | undefined {
    return this.feedback.receive();
  }

  settleFeedback(lockToken: string | Uint8Array, outcome: SettleOutcome): FeedbackEntry {
    return this.feedback.settle(lockToken, outcome);
  }

  onFeedbackAvailable(cb: () => void): () => void {
    return this.feedback.onAvailable(cb);
  }

  // ---- direct methods and twins (contract section 12) ----

  /**
   * Invokes a direct method on a device or module. Rejects with HUB_DEVICE_NOT_FOUND for an unknown
   * identity, and otherwise as MethodDispatcher.invoke (HUB_DEVICE_NOT_ONLINE, HUB_METHOD_TIMEOUT...).
   */
  invokeMethod(
    deviceId: string,
    moduleId: string | undefined,
    methodName: string,
    payload: Uint8Array,
    options: InvokeOptions = {},
  ): Promise<MethodResult> {
    try {
      this.requireIdentity(deviceId, moduleId);
      return this.methods.invoke(identityKey(deviceId, moduleId), methodName, payload, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The twin of a device or module (HUB_DEVICE_NOT_FOUND for an unknown one). */
  getTwin(deviceId: string, moduleId?: string): TwinDocument {
    this.requireIdentity(deviceId, moduleId);
    return this.twins.document(identityKey(deviceId, moduleId));
  }

  /**
   * The service's twin update: tags and desired properties, merged (PATCH) or replaced (PUT), with
   * an optional etag; desired changes reach the subscribed device. Resolves once durable.
   */
  async updateTwin(
    deviceId: string,
    moduleId: string | undefined,
    change: { tags?: unknown; desired?: unknown },
    options: { etag?: string; replace?: boolean } = {},
  ): Promise<TwinDocument> {
    this.requireIdentity(deviceId, moduleId);
    const doc = this.twins.update(identityKey(deviceId, moduleId), change, options);
    await this.twins.saved();
    return doc;
  }

  /** A device's reported-properties patch; resolves with the new `$version` once durable. */
  async patchReported(deviceId: string, moduleId: string | undefined, patch: unknown): Promise<number> {
    this.requireIdentity(deviceId, moduleId);
    const v = this.twins.patchReported(identityKey(deviceId, moduleId), patch);
    await this.twins.saved();
    return v;
  }

  private requireIdentity(deviceId: string, moduleId: string | undefined): void {
    const d = this.registry.requireDevice(deviceId);
    if (moduleId !== undefined && !d.modules.has(moduleId))
      throw new HubError('HUB_DEVICE_NOT_FOUND', `module ${deviceId}/${moduleId} not found`);
  }

  // ---- Event Hubs-compatible endpoint ----

  eventHubInfo(): EventHubInfo {
    return {
      name: this.eventHubName,
      createdAt: this.createdAt,
      partitionIds: Array.from({ length: this.telemetry.partitionCount }, (_, i) => String(i)),
    };
  }

  /** The partition number of a partition id ('0'..), or HUB_BAD_ARGUMENT. */
  partitionNumber(id: string | number): number {
    const n = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : NaN;
    if (!Number.isInteger(n) || n < 0 || n >= this.telemetry.partitionCount)
      throw new HubError('HUB_BAD_ARGUMENT', `no partition ${String(id)}`);
    return n;
  }

  partitionInfo(id: string | number): PartitionInfo {
    return this.telemetry.partitionInfo(this.partitionNumber(id));
  }

  openEventCursor(id: string | number, from?: EventPosition): EventCursor {
    return this.telemetry.read(this.partitionNumber(id), from);
  }

  /** The configured consumer group's canonical name (case-insensitive match), or undefined. */
  consumerGroup(name: string): string | undefined {
    return this.consumerGroups.find((g) => g.toLowerCase() === name.toLowerCase());
  }

  // ---- time ----

  /** The earliest time at which tick() has work: a lock timeout, a TTL, a feedback batch, retention. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of [
      this.c2d.nextDeadline(),
      this.inputs.nextDeadline(),
      this.feedback.nextDeadline(),
      this.telemetry.nextDeadline(),
      this.methods.nextDeadline(),
    ])
      if (d !== undefined && (min === undefined || d < min)) min = d;
    return min;
  }

  /**
   * Runs everything due at `now`: C2D locks and TTLs (and their feedback), feedback batches,
   * retention, direct method timeouts.
   */
  tick(now: number = this.clock.now()): void {
    this.methods.tick(now);
    this.c2d.tick(now);
    this.inputs.tick(now);
    this.feedback.tick(now);
    this.telemetry.tick(now);
  }

  /**
   * Calls `cb` when a deadline earlier than the ones before may have appeared: the driver should
   * recompute nextDeadline() and re-arm its timer.
   */
  onDeadlineChange(cb: () => void): () => void {
    this.deadlineListeners.add(cb);
    return () => this.deadlineListeners.delete(cb);
  }

  // ---- durability ----

  /** The first write failure of any log, if one happened. */
  get storeError(): HubError | undefined {
    return (
      this.registryError ??
      this.telemetry.storeError ??
      this.c2d.storeError ??
      this.inputs.storeError ??
      this.feedback.storeError ??
      this.twins.storeError
    );
  }

  /** Writes registry.json now (also done automatically after every registry change). */
  saveRegistry(): Promise<void> {
    this.scheduleRegistrySave(true);
    return this.registrySave;
  }

  /** Resolves once everything accepted so far is durable. */
  async flush(): Promise<void> {
    // Feedback before C2D: a C2D removal is logged once its feedback record is durable.
    await Promise.all([
      this.registrySave,
      this.twins.saved(),
      this.telemetry.flush(),
      this.inputs.flush(),
      this.feedback.flush().then(() => this.c2d.flush()),
    ]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.methods.close();
    await this.registrySave;
    await Promise.all([
      this.twins.close(),
      this.telemetry.close(),
      this.inputs.close(),
      this.feedback.close().then(() => this.c2d.close()),
    ]);
  }

  private scheduleRegistrySave(force = false): void {
    if (this.stateDir === undefined || this.closed) return;
    if (this.registryDirty && !force) return;
    this.registryDirty = true;
    const file = path.join(this.stateDir, 'registry.json');
    this.registrySave = this.registrySave.then(async () => {
      if (!this.registryDirty) return;
      this.registryDirty = false;
      try {
        await writeFileAtomic(file, JSON.stringify(this.registry.toJSON(), null, 2) + '\n', {
          mode: PRIVATE_FILE_MODE, // every device and policy key
        });
      } catch (e) {
        this.registryError ??= new HubError(
          'HUB_STORE_FAILED',
          `cannot write ${file}: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
    });
  }
}
