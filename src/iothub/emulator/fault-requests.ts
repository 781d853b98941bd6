/**
 * The language of IoT Hub's fault injection (faults.ts does the faults): the operations, the fault
 * message's application properties and what they ask for (`faultOf`), and the scheduled faults of
 * `startHub({ faults })` and `--fault` (`parseFaultSchedule`, `checkScheduledFaults`), with their
 * bounds. docs/iothub-protocol.md section 14 has the sources.
 */
import type { Message } from '../../codec/message.js';
import { Typed, type AmqpValue } from '../../codec/values.js';
import { InvalidArgumentError } from '../../protocol/errors.js';
import { entry } from '../message-values.js';
import { stringProp } from './context.js';

/** The operations of IoT Hub's fault injection over AMQP. */
export const FAULT_OPERATIONS = [
  'KillTcp',
  'KillAmqpConnection',
  'KillAmqpSession',
  'KillAmqpCBSLinkReq',
  'KillAmqpCBSLinkResp',
  'KillAmqpD2CLink',
  'KillAmqpC2DLink',
  'KillAmqpMethodReqLink',
  'KillAmqpMethodRespLink',
  'KillAmqpTwinLinkReq',
  'KillAmqpTwinLinkResp',
  'ShutDownAmqp',
] as const;
/** One of {@link FAULT_OPERATIONS}. */
export type FaultOperation = (typeof FAULT_OPERATIONS)[number];

/** Operations the SDKs' tests also send that this emulator does not do (logged, ignored). */
const NOT_EMULATED = new Set([
  'InvokeThrottling',
  'InvokeMaxMessageQuota',
  'InvokeAuthError',
  'ShutDownMqtt',
]);

/** The application properties of a fault message. */
export const FAULT_PROPERTIES = {
  type: 'AzIoTHub_FaultOperationType',
  closeReason: 'AzIoTHub_FaultOperationCloseReason',
  delay: 'AzIoTHub_FaultOperationDelayInSecs',
  duration: 'AzIoTHub_FaultOperationDurationInSecs',
} as const;

/** The longest delay a fault message may ask for (5 minutes); longer is clamped. */
export const MAX_FAULT_DELAY_S = 300;
/** The longest a device stays faulted (5 minutes); longer is clamped. */
export const MAX_FAULT_DURATION_S = 300;
/** The shortest period of a scheduled fault (`--fault OP:every=...`). */
export const MIN_FAULT_PERIOD_MS = 1000;

/** What one fault does. */
export interface FaultRequest {
  operation: FaultOperation;
  /** The description of the close, end or detach. */
  reason: string;
  delayMs: number;
  durationMs: number;
}

/** A fault applied on a schedule to connected devices (startHub's `faults`, the CLI's `--fault`). */
export interface ScheduledFault {
  operation: FaultOperation;
  /** Period (ms, at least {@link MIN_FAULT_PERIOD_MS}); the first fault comes one period after start. */
  everyMs: number;
  /** Only this device (default every connected device). */
  deviceId?: string;
  /** How long each device stays faulted (ms, default 0, at most {@link MAX_FAULT_DURATION_S}). */
  durationMs?: number;
  /** The close reason (default `scheduled fault <operation>`). */
  reason?: string;
}

/** Whether `s` names one of {@link FAULT_OPERATIONS}. */
export function isFaultOperation(s: string): s is FaultOperation {
  return (FAULT_OPERATIONS as readonly string[]).includes(s);
}

/**
 * Seconds as the SDKs give them: a decimal string (C#, Java, C) or a number of any AMQP numeric
 * type (the Node SDK passes the JS number on); 0 when absent, undefined when not a count of seconds.
 */
function seconds(m: Message, name: string): number | undefined {
  const raw: AmqpValue = entry(m.applicationProperties, name, true);
  const v = raw instanceof Typed ? raw.value : raw;
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return 0;
  const n =
    typeof v === 'string'
      ? Number(v.trim())
      : typeof v === 'number' || typeof v === 'bigint'
        ? Number(v)
        : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * The fault a telemetry message asks for: undefined when it is not a fault message, a string (why
 * it is ignored) when it is one the hub does not act on.
 */
export function faultOf(m: Message): FaultRequest | string | undefined {
  const type = stringProp(m, FAULT_PROPERTIES.type);
  if (type === undefined) return undefined;
  if (!isFaultOperation(type))
    return NOT_EMULATED.has(type)
      ? `fault operation ${type} is not emulated`
      : `unknown fault operation ${JSON.stringify(type)}`;
  const delay = seconds(m, FAULT_PROPERTIES.delay);
  const duration = seconds(m, FAULT_PROPERTIES.duration);
  if (delay === undefined || duration === undefined)
    return `fault ${type}: delay and duration must be non-negative numbers of seconds`;
  return {
    operation: type,
    reason: stringProp(m, FAULT_PROPERTIES.closeReason) ?? type,
    delayMs: Math.round(Math.min(delay, MAX_FAULT_DELAY_S) * 1000),
    durationMs: Math.round(Math.min(duration, MAX_FAULT_DURATION_S) * 1000),
  };
}

/** `500ms`, `30s`, `2m`, or a bare number of seconds, as milliseconds; undefined if bad. */
function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  return Number.isSafeInteger(Math.round(n)) ? Math.round(n) : undefined;
}

/**
 * Parses the CLI's `--fault OP:every=DUR[,device=ID][,duration=DUR][,reason=TEXT]` (DUR: `500ms`,
 * `30s`, `2m` or seconds), e.g. `KillTcp:every=30s` or `KillAmqpC2DLink:every=1m,device=d1`.
 * Throws an InvalidArgumentError saying what is wrong.
 */
export function parseFaultSchedule(spec: string): ScheduledFault {
  const colon = spec.indexOf(':');
  const op = colon < 0 ? spec : spec.slice(0, colon);
  if (!isFaultOperation(op))
    throw new InvalidArgumentError(
      `unknown fault operation ${JSON.stringify(op)}; one of ${FAULT_OPERATIONS.join(', ')}`,
    );
  const f: Partial<ScheduledFault> = { operation: op };
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  for (const part of rest === '' ? [] : rest.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'every' || key === 'duration') {
      const ms = durationMs(value);
      if (ms === undefined)
        throw new InvalidArgumentError(`${key}=${value} is not a duration (500ms, 30s, 2m, or seconds)`);
      if (key === 'every') f.everyMs = ms;
      else f.durationMs = ms;
    } else if (key === 'device' && value !== '') f.deviceId = value;
    else if (key === 'reason' && value !== '') f.reason = value;
    else
      throw new InvalidArgumentError(
        `unknown fault setting ${JSON.stringify(part)} (every, device, duration, reason)`,
      );
  }
  if (f.everyMs === undefined)
    throw new InvalidArgumentError(`${spec} needs every=DURATION (e.g. ${op}:every=30s)`);
  checkScheduledFaults([f as ScheduledFault]);
  return f as ScheduledFault;
}

/** Checks startHub's `faults` option: a typed error for the first bad entry. */
export function checkScheduledFaults(faults: readonly ScheduledFault[]): void {
  faults.forEach((f, i) => {
    const at = `faults[${i}]`;
    if (typeof f !== 'object' || f === null) throw new InvalidArgumentError(`${at} must be an object`);
    if (typeof f.operation !== 'string' || !isFaultOperation(f.operation))
      throw new InvalidArgumentError(`${at}.operation must be one of ${FAULT_OPERATIONS.join(', ')}`, {
        option: `${at}.operation`,
      });
    if (!Number.isFinite(f.everyMs) || f.everyMs < MIN_FAULT_PERIOD_MS)
      throw new InvalidArgumentError(`${at}.everyMs must be at least ${MIN_FAULT_PERIOD_MS}`, {
        option: `${at}.everyMs`,
      });
    const d = f.durationMs ?? 0;
    if (!Number.isFinite(d) || d < 0 || d > MAX_FAULT_DURATION_S * 1000)
      throw new InvalidArgumentError(`${at}.durationMs must be from 0 to ${MAX_FAULT_DURATION_S * 1000}`, {
        option: `${at}.durationMs`,
      });
    if (f.deviceId !== undefined && typeof f.deviceId !== 'string')
      throw new InvalidArgumentError(`${at}.deviceId must be a string`, { option: `${at}.deviceId` });
    if (f.reason !== undefined && typeof f.reason !== 'string')
      throw new InvalidArgumentError(`${at}.reason must be a string`, { option: `${at}.reason` });
  });
}
