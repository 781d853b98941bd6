/**
 * Module input queues: one peek-lock queue per module (queue.ts), fed by the module routes
 * (module-routes.ts) and read on the module's `/devices/{d}/modules/{m}/messages/events` receiver.
 *
 * - at most 100 messages per module (queued + locked + reserved), else HUB_QUEUE_FULL
 *   (amqp:resource-limit-exceeded) for the sending module's transfer; nothing is evicted;
 * - TTL 2 h from routing (IoT Edge's default `timeToLiveSecs`, 7200), lock 60 s, 10 deliveries;
 * - a message leaving the queue (completed, rejected, expired, too many deliveries, purged) is
 *   dropped: there is no feedback for module inputs.
 *
 * Sending is two steps so that a routed message is either in every target queue and the events
 * endpoint, or in none: `reserve` takes one slot in each target's queue (or none, and throws), then
 * `enqueue` fills a slot once the telemetry was stored, or `release` gives the slots back.
 *
 * Durability (with a state directory), as C2D: `<stateDir>/module-inputs.log` holds an `in` record
 * per routed message, `dc` delivery counts and `rm` removals; locks are not logged.
 */
import { encodeMessage, type Message } from '../../codec/message.js';
import type { Clock } from '../../util/timers.js';
import { DeadlineHeap } from './deadlines.js';
import { HubError } from './errors.js';
import { isSystemAnnotation, withMessageAnnotations } from './message-utils.js';
import { identityKey } from './methods.js';
import { LockQueue, type Delivery, type QueueEntry, type SettleOutcome } from './queue.js';
import { loggedEntry, LoggedQueueStore, queueSnapshot } from './queue-log.js';
import type { LogRecord } from './store.js';
import { KeyedListeners } from '../../util/keyed-listeners.js';

export const MODULE_INPUT_DEFAULTS = {
  maxQueuedPerModule: 100,
  ttlMs: 7200 * 1000,
  lockMs: 60 * 1000,
  maxDeliveryCount: 10,
} as const;

/** The module input limits (queue depth per module, TTL, lock time, max deliveries), each a number. */
export type ModuleInputLimits = { -readonly [K in keyof typeof MODULE_INPUT_DEFAULTS]: number };

/** Where a routed message goes. */
export interface InputTarget {
  deviceId: string;
  moduleId: string;
  input: string;
}

export type InputDelivery = Delivery<InputTarget>;
export type InputEntry = QueueEntry<InputTarget>;

export interface ModuleInputOptions extends Partial<ModuleInputLimits> {
  clock: Clock;
  stateDir?: string;
  fsync?: boolean;
  onDeadline?: () => void;
}

/** Slots taken by `reserve`: each is filled by `enqueue` or given back by `release`, once. */
export interface InputReservation {
  readonly targets: readonly InputTarget[];
  done: boolean;
}

export class ModuleInputStore extends LoggedQueueStore<InputTarget, ModuleInputLimits> {
  private readonly clock: Clock;
  private readonly deadlines: DeadlineHeap;
  private readonly queues = new Map<string, LockQueue<InputTarget>>();
  /** Reserved or being written, per module: they count against the limit. */
  private readonly pending = new Map<string, number>();
  private readonly listeners = new KeyedListeners<[]>();

  private constructor(opts: ModuleInputOptions) {
    super(MODULE_INPUT_DEFAULTS, opts);
    this.clock = opts.clock;
    if (this.limits.maxQueuedPerModule < 1)
      throw new HubError('HUB_BAD_ARGUMENT', 'maxQueuedPerModule must be at least 1');
    this.deadlines = new DeadlineHeap(opts.onDeadline);
  }

  static async open(opts: ModuleInputOptions): Promise<ModuleInputStore> {
    return new ModuleInputStore(opts).openLog(opts, 'module-inputs.log');
  }

  protected entered(r: LogRecord, seq: number): InputEntry | undefined {
    const m = r.meta;
    if (m.k !== 'in') return undefined;
    return loggedEntry(r, seq, { deviceId: String(m.d), moduleId: String(m.m), input: String(m.i) });
  }

  protected restore(entries: InputEntry[]): void {
    for (const e of entries) this.queue(e.meta.deviceId, e.meta.moduleId).add(e);
  }

  protected snapshot(): LogRecord[] {
    const entries = [...this.queues.values()].flatMap((q) => q.entries());
    return queueSnapshot(this.nextSeq, entries, inMeta);
  }

  private queue(deviceId: string, moduleId: string): LockQueue<InputTarget> {
    const key = identityKey(deviceId, moduleId);
    let q = this.queues.get(key);
    if (!q) {
      q = new LockQueue<InputTarget>(
        this.deadlines,
        { lockMs: this.limits.lockMs, maxDeliveryCount: this.limits.maxDeliveryCount },
        {
          removed: (e) => void this.write({ k: 'rm', s: e.sequenceNumber }),
          counted: (e) => void this.write({ k: 'dc', s: e.sequenceNumber, c: e.deliveryCount }),
          available: () => this.notify(key),
        },
      );
      this.queues.set(key, q);
    }
    return q;
  }

  /** Messages counted against the module's limit: queued, locked, reserved and being written. */
  depth(deviceId: string, moduleId: string): number {
    const key = identityKey(deviceId, moduleId);
    return (this.queues.get(key)?.size ?? 0) + (this.pending.get(key) ?? 0);
  }

  /**
   * Takes one slot in each target's queue, or throws HUB_QUEUE_FULL (amqp:resource-limit-exceeded)
   * naming the first full one and takes none.
   */
  reserve(targets: readonly InputTarget[]): InputReservation {
    const need = new Map<string, number>();
    for (const t of targets) {
      const key = identityKey(t.deviceId, t.moduleId);
      need.set(key, (need.get(key) ?? 0) + 1);
    }
    for (const t of targets) {
      const key = identityKey(t.deviceId, t.moduleId);
      const depth = this.depth(t.deviceId, t.moduleId);
      if (depth + need.get(key)! > this.limits.maxQueuedPerModule)
        throw new HubError(
          'HUB_QUEUE_FULL',
          `module ${key} already has ${depth} input messages queued (limit ${this.limits.maxQueuedPerModule})`,
        );
    }
    for (const [key, n] of need) this.pending.set(key, (this.pending.get(key) ?? 0) + n);
    return { targets: [...targets], done: false };
  }

  /** Gives the reserved slots back (the message was not accepted after all). */
  release(r: InputReservation): void {
    if (r.done) return;
    r.done = true;
    for (const t of r.targets) this.unpend(identityKey(t.deviceId, t.moduleId));
  }

  /**
   * Puts `message` in each reserved queue, with `x-opt-input-name` and the sender's
   * `iothub-connection-device-id` / `iothub-connection-module-id`. Resolves once durable (with a
   * state directory); rejects with HUB_STORE_FAILED when the log cannot be written.
   */
  async enqueue(
    r: InputReservation,
    message: Message,
    from: { deviceId: string; moduleId: string },
  ): Promise<void> {
    if (r.done) throw new HubError('HUB_BAD_ARGUMENT', 'this reservation was already used');
    r.done = true;
    const now = this.clock.now();
    const entries = r.targets.map((t): InputEntry => ({
      sequenceNumber: this.nextSeq++,
      message: withMessageAnnotations(
        message,
        {
          'x-opt-input-name': t.input,
          'iothub-connection-device-id': from.deviceId,
          'iothub-connection-module-id': from.moduleId,
        },
        isSystemAnnotation,
      ),
      enqueuedAt: now,
      expiresAt: now + this.limits.ttlMs,
      deliveryCount: 0,
      meta: { ...t },
    }));
    try {
      if (this.log)
        await Promise.all(entries.map((e) => this.log!.append(inMeta(e), encodeMessage(e.message))));
    } finally {
      for (const t of r.targets) this.unpend(identityKey(t.deviceId, t.moduleId));
    }
    for (const e of entries) this.queue(e.meta.deviceId, e.meta.moduleId).add(e);
  }

  /** Locks the module's next input message, if any. */
  receive(deviceId: string, moduleId: string): InputDelivery | undefined {
    return this.queues.get(identityKey(deviceId, moduleId))?.receive(this.clock.now());
  }

  /** Applies the module's outcome by lock token; errors as LockQueue.settle. */
  settle(
    deviceId: string,
    moduleId: string,
    lockToken: string | Uint8Array,
    outcome: SettleOutcome,
  ): InputEntry {
    const q = this.queues.get(identityKey(deviceId, moduleId));
    if (!q) throw new HubError('HUB_LOCK_NOT_FOUND', `module ${deviceId}/${moduleId} has no locked messages`);
    return q.settle(lockToken, outcome, this.clock.now());
  }

  /** Removes every input message of the module; returns how many. */
  purge(deviceId: string, moduleId: string): number {
    return this.queues.get(identityKey(deviceId, moduleId))?.purge(this.clock.now()) ?? 0;
  }

  /** Removes the input queues of every module of a device; returns how many messages. */
  purgeDevice(deviceId: string): number {
    let n = 0;
    const prefix = identityKey(deviceId, '');
    for (const [key, q] of this.queues) if (key.startsWith(prefix)) n += q.purge(this.clock.now());
    return n;
  }

  /** Calls `cb` whenever an input message becomes available for the module. */
  onAvailable(deviceId: string, moduleId: string, cb: () => void): () => void {
    return this.listeners.add(identityKey(deviceId, moduleId), cb);
  }

  nextDeadline(): number | undefined {
    return this.deadlines.next();
  }

  tick(now: number): void {
    this.deadlines.runDue(now);
  }

  private unpend(key: string): void {
    const n = (this.pending.get(key) ?? 0) - 1;
    if (n <= 0) this.pending.delete(key);
    else this.pending.set(key, n);
  }

  private notify(key: string): void {
    this.listeners.emit(key);
  }
}

function inMeta(e: InputEntry): { [key: string]: unknown } {
  return {
    k: 'in',
    s: e.sequenceNumber,
    d: e.meta.deviceId,
    m: e.meta.moduleId,
    i: e.meta.input,
    t: e.enqueuedAt,
    x: e.expiresAt,
  };
}
