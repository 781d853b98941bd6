/**
 * Direct methods (contract section 12) as pure logic: which identities (a device, or a device's
 * module) have a method link attached, the calls in flight, and their deadlines. No sockets and no
 * timers: deadlines sit in a {@link DeadlineHeap} that the owner runs with `tick(now)`.
 *
 * A call to an identity with no subscriber fails with HUB_DEVICE_NOT_ONLINE (404103), at once or,
 * with a connect timeout, when no subscriber came in time; a call delivered and not answered within
 * its response timeout fails with HUB_METHOD_TIMEOUT (504101). A subscriber that goes away leaves
 * its calls pending: the device may still answer on its response link until the timeout.
 *
 * Bound: at most `maxPendingPerIdentity` calls (waiting or delivered) per identity, default 100;
 * one more fails at once with HUB_TOO_MANY_REQUESTS (IoT Hub throttles, 429).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../util/timers.js';
import { DeadlineHeap, type Timer } from './deadlines.js';
import { HubError } from './errors.js';

/** What the device receives: the uuid correlation-id (text form), `IoThub-methodname`, the JSON body. */
export interface MethodRequest {
  readonly requestId: string;
  readonly methodName: string;
  readonly payload: Uint8Array;
}

/** The device's answer: `IoThub-status` and the JSON body it sent. */
export interface MethodResult {
  status: number;
  payload: Uint8Array;
}

/** Timeouts of one call, as the REST API's `responseTimeoutInSeconds` / `connectTimeoutInSeconds`. */
export interface InvokeOptions {
  /** How long the device has to answer once the request is delivered (default 30 s, 5 s to 300 s). */
  responseTimeoutMs?: number;
  /** How long to wait for a method link when none is attached (default 0: fail at once; at most 300 s). */
  connectTimeoutMs?: number;
}

export interface MethodDispatcherOptions {
  clock: Clock;
  /** Called when a deadline earlier than every other appears: re-arm the timer that calls tick(). */
  onDeadline?: () => void;
  /** Calls waiting or in flight per identity (default 100). */
  maxPendingPerIdentity?: number;
  /** Request ids (default random uuids); tests pass a counter. */
  newRequestId?: () => string;
}

export const DEFAULT_RESPONSE_TIMEOUT_MS = 30_000;
export const MIN_RESPONSE_TIMEOUT_MS = 5_000;
export const MAX_METHOD_TIMEOUT_MS = 300_000;
export const DEFAULT_MAX_PENDING_METHODS = 100;
/** IoT Hub's limit on a method's request and response payloads. */
export const MAX_METHOD_PAYLOAD = 128 * 1024;
/** Method names: IoT Hub allows up to 100 characters. */
export const MAX_METHOD_NAME_LENGTH = 100;

/** A method subscriber: delivers one request on its link. */
export type MethodSubscriber = (request: MethodRequest) => void;

/** The key of an identity: `deviceId` or `deviceId/moduleId` (ids never contain `/`). */
export function identityKey(deviceId: string, moduleId?: string): string {
  return moduleId === undefined ? deviceId : `${deviceId}/${moduleId}`;
}

interface Call {
  readonly key: string;
  readonly request: MethodRequest;
  readonly responseTimeoutMs: number;
  timer: Timer | undefined;
  delivered: boolean;
  resolve(r: MethodResult): void;
  reject(e: HubError): void;
}

export class MethodDispatcher {
  private readonly subscribers = new Map<string, MethodSubscriber[]>();
  /** Whether a subscriber's link can still carry a request (absent: always). */
  private readonly liveness = new WeakMap<MethodSubscriber, () => boolean>();
  /** Calls per identity, by request id. */
  private readonly calls = new Map<string, Map<string, Call>>();
  private readonly deadlines: DeadlineHeap;
  private readonly maxPending: number;
  private readonly newRequestId: () => string;
  private closed = false;

  constructor(private readonly opts: MethodDispatcherOptions) {
    this.deadlines = new DeadlineHeap(opts.onDeadline);
    this.maxPending = opts.maxPendingPerIdentity ?? DEFAULT_MAX_PENDING_METHODS;
    this.newRequestId = opts.newRequestId ?? randomUUID;
  }

  /** Whether a method link is attached for the identity. */
  isSubscribed(key: string): boolean {
    return this.current(key) !== undefined;
  }

  /** Calls waiting or delivered for the identity. */
  pending(key: string): number {
    return this.calls.get(key)?.size ?? 0;
  }

  /**
   * A method link attached: the newest subscriber of an identity gets its requests (calls waiting
   * for a connection are delivered now); `live`, when given, says whether its link can still carry
   * a request. Returns the unsubscribe function.
   */
  subscribe(key: string, deliver: MethodSubscriber, live?: () => boolean): () => void {
    if (live) this.liveness.set(deliver, live);
    let list = this.subscribers.get(key);
    if (!list) this.subscribers.set(key, (list = []));
    list.push(deliver);
    for (const c of this.calls.get(key)?.values() ?? []) if (!c.delivered) this.deliver(c, deliver);
    return () => {
      const l = this.subscribers.get(key);
      const i = l?.indexOf(deliver) ?? -1;
      if (i < 0) return;
      l!.splice(i, 1);
      if (l!.length === 0) this.subscribers.delete(key);
    };
  }

  /**
   * Calls `methodName` on the identity. Resolves with the device's status and payload; rejects with
   * HUB_DEVICE_NOT_ONLINE, HUB_METHOD_TIMEOUT, HUB_TOO_MANY_REQUESTS, HUB_BAD_ARGUMENT or HUB_CLOSED.
   */
  invoke(key: string, methodName: string, payload: Uint8Array, o: InvokeOptions = {}): Promise<MethodResult> {
    try {
      const responseTimeoutMs = o.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
      const connectTimeoutMs = o.connectTimeoutMs ?? 0;
      checkInvoke(methodName, payload, responseTimeoutMs, connectTimeoutMs);
      if (this.closed) throw new HubError('HUB_CLOSED', 'the hub is closed');
      const sub = this.current(key);
      if (!sub && connectTimeoutMs === 0) throw notOnline(key);
      let calls = this.calls.get(key);
      if ((calls?.size ?? 0) >= this.maxPending)
        throw new HubError(
          'HUB_TOO_MANY_REQUESTS',
          `${key} already has ${this.maxPending} direct method calls in flight`,
        );
      if (!calls) this.calls.set(key, (calls = new Map()));
      const requestId = this.newRequestId();
      return new Promise<MethodResult>((resolve, reject) => {
        const call: Call = {
          key,
          request: { requestId, methodName, payload },
          responseTimeoutMs,
          timer: undefined,
          delivered: false,
          resolve,
          reject,
        };
        calls.set(requestId, call);
        if (sub) this.deliver(call, sub);
        else
          call.timer = this.deadlines.schedule(this.opts.clock.now() + connectTimeoutMs, () =>
            this.finish(call, notOnline(key)),
          );
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The device's response (from its methods sender). Returns false when no call of this identity
   * has that id: answered already, timed out, or never made.
   */
  respond(key: string, requestId: string, result: MethodResult): boolean {
    const call = this.calls.get(key)?.get(requestId);
    if (!call || !call.delivered) return false;
    this.finish(call, undefined, result);
    return true;
  }

  nextDeadline(): number | undefined {
    return this.deadlines.next();
  }

  tick(now: number): void {
    this.deadlines.runDue(now);
  }

  /** Fails every call in flight with HUB_CLOSED. */
  close(): void {
    this.closed = true;
    for (const calls of [...this.calls.values()])
      for (const c of [...calls.values()]) this.finish(c, new HubError('HUB_CLOSED', 'the hub is closed'));
  }

  /**
   * The newest subscriber that can still carry a request: one whose link the hub detached itself
   * (fault injection) is passed over while the device has not answered the detach yet.
   */
  private current(key: string): MethodSubscriber | undefined {
    const l = this.subscribers.get(key) ?? [];
    for (let i = l.length - 1; i >= 0; i--) if (this.liveness.get(l[i]!)?.() ?? true) return l[i];
    return undefined;
  }

  private deliver(call: Call, sub: MethodSubscriber): void {
    call.timer?.cancel();
    call.delivered = true;
    call.timer = this.deadlines.schedule(this.opts.clock.now() + call.responseTimeoutMs, () =>
      this.finish(
        call,
        new HubError(
          'HUB_METHOD_TIMEOUT',
          `${call.key} did not answer ${call.request.methodName} within ${call.responseTimeoutMs} ms`,
        ),
      ),
    );
    sub(call.request);
  }

  private finish(call: Call, error: HubError | undefined, result?: MethodResult): void {
    const calls = this.calls.get(call.key);
    if (!calls?.delete(call.request.requestId)) return;
    if (calls.size === 0) this.calls.delete(call.key);
    call.timer?.cancel();
    if (error) call.reject(error);
    else call.resolve(result!);
  }
}

function notOnline(key: string): HubError {
  return new HubError('HUB_DEVICE_NOT_ONLINE', `${key} is not online: no direct method link is attached`);
}

function checkInvoke(name: string, payload: Uint8Array, responseMs: number, connectMs: number): void {
  const bad = (m: string): never => {
    throw new HubError('HUB_BAD_ARGUMENT', m);
  };
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_METHOD_NAME_LENGTH)
    bad(`a method name has 1 to ${MAX_METHOD_NAME_LENGTH} characters`);
  if (payload.length > MAX_METHOD_PAYLOAD) bad(`a method payload is at most ${MAX_METHOD_PAYLOAD} bytes`);
  if (
    !Number.isFinite(responseMs) ||
    responseMs < MIN_RESPONSE_TIMEOUT_MS ||
    responseMs > MAX_METHOD_TIMEOUT_MS
  )
    bad(`the response timeout is ${MIN_RESPONSE_TIMEOUT_MS / 1000} s to ${MAX_METHOD_TIMEOUT_MS / 1000} s`);
  if (!Number.isFinite(connectMs) || connectMs < 0 || connectMs > MAX_METHOD_TIMEOUT_MS)
    bad(`the connect timeout is 0 s to ${MAX_METHOD_TIMEOUT_MS / 1000} s`);
}
