/**
 * The shapes shared by the conformance suite: cases, verdicts, trace entries and the results object
 * that both the JSON output and the HTML report are made from.
 */

/**
 * Idle time-outs are judged with this slack over the announced value: timers and event loops run a
 * little late (Proton sends its empty frames about every idle-time-out, not every half of it).
 */
export const IDLE_SLACK = 1.25;

export type CaseStatus = 'pass' | 'fail' | 'not-applicable';

/** What a case concluded, and why (a person reads `reason` in the report). */
export interface Verdict {
  status: CaseStatus;
  reason: string;
}

/** One line of a case's frame trace. `t` is milliseconds since the case started. */
export interface TraceEntry {
  t: number;
  /** Which connection of the case (1, 2, ...), when a case opens several. */
  conn: number;
  /** 'out': we sent it; 'in': the peer sent it; 'note': the case's own remark. */
  dir: 'out' | 'in' | 'note';
  kind: 'header' | 'frame' | 'heartbeat' | 'raw' | 'closed' | 'error' | 'note';
  channel?: number;
  /** Frame size in bytes (header included). */
  size?: number;
  /** The performative or SASL frame type: 'open', 'transfer', 'sasl-init', ... */
  performative?: string;
  /** The decoded fields, JSON-safe (binaries as hex, bigints as strings). */
  fields?: unknown;
  /** Bytes after the performative (a transfer's message bytes). */
  payloadBytes?: number;
  /** A one-line rendering of the entry. */
  text: string;
}

export interface CaseResult extends Verdict {
  id: string;
  /** The AMQP 1.0 spec section the case tests, e.g. "2.6.7". */
  section: string;
  title: string;
  durationMs: number;
  trace: TraceEntry[];
}

export interface ConformanceSummary {
  pass: number;
  fail: number;
  notApplicable: number;
  total: number;
}

export interface ConformanceResults {
  tool: 'amqp-one conformance';
  version: string;
  /** 'server': we tested a server (a broker) at `target`; 'client': we listened and tested clients. */
  mode: 'server' | 'client';
  /** The URL tested (without password) or the address listened on. */
  target: string;
  /** What the peer said about itself (open's container-id and product/version properties). */
  peer?: { containerId?: string; product?: string; version?: string; platform?: string };
  startedAt: string;
  durationMs: number;
  summary: ConformanceSummary;
  results: CaseResult[];
}

/** Thrown inside a case to end it with a verdict from deep inside a helper. */
export class CaseVerdict extends Error {
  constructor(
    readonly status: CaseStatus,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const pass = (reason: string): Verdict => ({ status: 'pass', reason });
export const fail = (reason: string): Verdict => ({ status: 'fail', reason });
export const notApplicable = (reason: string): Verdict => ({ status: 'not-applicable', reason });

/** Ends the case as failed (a helper's expectation was not met). */
export function failNow(reason: string): never {
  throw new CaseVerdict('fail', reason);
}

/** Ends the case as not applicable (the peer declined, in a way the spec allows). */
export function notApplicableNow(reason: string): never {
  throw new CaseVerdict('not-applicable', reason);
}

export function summarize(results: CaseResult[]): ConformanceSummary {
  const count = (s: CaseStatus): number => results.filter((r) => r.status === s).length;
  return {
    pass: count('pass'),
    fail: count('fail'),
    notApplicable: count('not-applicable'),
    total: results.length,
  };
}
