/**
 * The simulated device behind `amqp-one iothub simulate-device`, on a connected DeviceClient (or
 * ModuleClient): it answers a built-in set of direct methods, acknowledges desired properties as an
 * IoT Plug and Play device acknowledges writable properties, reports a counter and its uptime, and
 * sends a JSON reading every `intervalMs`, for `count` messages or until `signal` aborts. Time comes
 * from `timers`, so a test drives the interval by hand.
 *
 *   const summary = await runDeviceSimulator(device, { intervalMs: 1000, signal, onEvent: print });
 */
import type { DeviceClientBase, DeviceMethodRequest, MethodResult } from '../iothub/client/index.js';
import { jsonMessage } from '../iothub/client/index.js';
import { realTimers, type Timers } from '../util/timers.js';

/** The direct methods the simulator answers; any other gets 501 (no handler), as the client does. */
export const SIMULATOR_METHODS = {
  echo: 'answers 200 with the request payload',
  reboot: 'answers 200 {"rebooting":true}, then reports reboots (a count) and lastReboot',
  status: 'answers 200 with {sent, uptimeSeconds, reboots, desiredVersion}',
} as const;

/** Reported `sent` and `uptimeSeconds` are updated every this many messages (and at the end). */
export const REPORT_EVERY = 10;

/** What the simulator did, one event at a time (the command prints each). */
export type SimulatorEvent =
  | { event: 'ready'; deviceId: string; methods: string[]; desiredVersion: number }
  | { event: 'sent'; seq: number }
  | { event: 'method'; name: string; status: number }
  | { event: 'desired'; version: number; full: boolean; acknowledged: string[] };

export interface SimulatorOptions {
  /** Telemetry messages to send, then stop (default: until `signal` aborts). */
  count?: number;
  /** The pause between two messages (ms, default 1000; 0: as fast as the hub accepts them). */
  intervalMs?: number;
  /** Bytes of padding in each reading (default 0). */
  bodySize?: number;
  /** Ends the run: the message in flight completes, then the last report is made. */
  signal?: AbortSignal;
  /** The interval's timers and the uptime's clock (default the real ones). */
  timers?: Timers;
  onEvent?: (e: SimulatorEvent) => void;
}

export interface SimulatorSummary {
  sent: number;
  /** Uptime at the end, by `timers`. */
  seconds: number;
  methods: number;
  desiredUpdates: number;
}

/**
 * The reported patch that acknowledges desired properties as IoT Plug and Play writable properties:
 * `{value, ac: 200, av: <desired $version>, ad: 'applied'}` per property, null for a removed one.
 */
export function acknowledgement(desired: Record<string, unknown>, version: number): Record<string, unknown> {
  const ack: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(desired)) {
    if (k.startsWith('$')) continue; // $version, $metadata
    ack[k] = v === null ? null : { value: v, ac: 200, av: version, ad: 'applied' };
  }
  return ack;
}

/** A pause on `timers` that an abort cuts short. */
function pause(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      timers.clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = timers.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runDeviceSimulator(
  device: DeviceClientBase,
  options: SimulatorOptions = {},
): Promise<SimulatorSummary> {
  const timers = options.timers ?? realTimers;
  const count = options.count ?? Infinity;
  const intervalMs = options.intervalMs ?? 1000;
  const pad = 'x'.repeat(options.bodySize ?? 0);
  const emit = options.onEvent ?? ((): void => undefined);
  const started = timers.now();
  const uptime = (): number => Math.floor((timers.now() - started) / 1000);
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) stop.abort();
  // A failure of a background report or acknowledgement ends the run with that error.
  let failure: unknown;
  const fail = (e: unknown): void => {
    failure ??= e;
    stop.abort();
  };
  const s = { sent: 0, methods: 0, desiredUpdates: 0, reboots: 0, desiredVersion: 0 };

  const answer =
    (name: string, result: (r: DeviceMethodRequest) => MethodResult) =>
    (r: DeviceMethodRequest): MethodResult => {
      const res = result(r);
      s.methods++;
      emit({ event: 'method', name, status: res.status });
      return res;
    };
  const off = [
    device.onMethod(
      'echo',
      answer('echo', (r) => ({ status: 200, payload: r.json() })),
    ),
    device.onMethod(
      'reboot',
      answer('reboot', () => {
        s.reboots++;
        const at = new Date(timers.now()).toISOString();
        device.updateReported({ reboots: s.reboots, lastReboot: at }).catch(fail);
        return { status: 200, payload: { rebooting: true } };
      }),
    ),
    device.onMethod(
      'status',
      answer('status', () => ({
        status: 200,
        payload: {
          sent: s.sent,
          uptimeSeconds: uptime(),
          reboots: s.reboots,
          desiredVersion: s.desiredVersion,
        },
      })),
    ),
  ];

  try {
    await device.enableMethods();
    const updates = device.desiredUpdates({ signal: stop.signal });
    await device.enableDesiredUpdates();
    // What was desired before we came: acknowledged at its version, as a PnP device does at start.
    const twin = await device.getTwin();
    s.desiredVersion = twin.desired.$version;
    await device.updateReported({
      ...acknowledgement(twin.desired, twin.desired.$version),
      startedAt: new Date(started).toISOString(),
      intervalMs,
      sent: 0,
      uptimeSeconds: 0,
    });
    const desiredLoop = (async () => {
      for await (const u of updates) {
        if (!u.full && u.version <= s.desiredVersion) continue; // already acknowledged by the GET
        const ack = acknowledgement(u.patch, u.version);
        await device.updateReported(ack);
        s.desiredVersion = u.version;
        s.desiredUpdates++;
        emit({ event: 'desired', version: u.version, full: u.full, acknowledged: Object.keys(ack) });
      }
    })().catch(fail);
    emit({
      event: 'ready',
      deviceId: device.deviceId,
      methods: Object.keys(SIMULATOR_METHODS),
      desiredVersion: s.desiredVersion,
    });

    for (let seq = 0; seq < count && !stop.signal.aborted; seq++) {
      if (seq > 0 && intervalMs > 0) {
        await pause(timers, intervalMs, stop.signal);
        if (stop.signal.aborted) break;
      }
      const reading = { device: device.deviceId, seq, temperature: 20 + Math.round(Math.random() * 50) / 10 };
      await device.sendEvent(
        jsonMessage(pad === '' ? reading : { ...reading, pad }, { properties: { seq: String(seq) } }),
      );
      s.sent++;
      emit({ event: 'sent', seq });
      if (s.sent % REPORT_EVERY === 0) await device.updateReported({ sent: s.sent, uptimeSeconds: uptime() });
    }
    stop.abort();
    await desiredLoop;
    if (failure !== undefined) throw failure;
    await device.updateReported({ sent: s.sent, uptimeSeconds: uptime() });
  } finally {
    stop.abort();
    for (const f of off) f(); // the device goes on without our handlers: 501 from now on
    options.signal?.removeEventListener('abort', abort);
  }
  return {
    sent: s.sent,
    seconds: (timers.now() - started) / 1000,
    methods: s.methods,
    desiredUpdates: s.desiredUpdates,
  };
}
