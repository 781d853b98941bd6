/**
 * What the server cases share: waiting, reading the server's answer to a violation, opening a
 * receiver, making test messages. Not tied to one spec section.
 */
import type { AmqpErrorRecord, Close, End } from '../../codec/spec/records.js';
import {
  describeError,
  textMessage,
  type ClientScript,
  type ScriptLink,
  type ScriptSession,
} from '../client-script.js';
import { fail, pass, type Verdict } from '../types.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a case watches for frames that must NOT come (more transfers than credit, say). */
export const QUIET_MS = 400;

/** The end or close the server answered a violation with, or undefined after the timeout. */
export async function awaitError(
  c: ClientScript,
  s?: ScriptSession,
): Promise<{ kind: string; error?: AmqpErrorRecord } | undefined> {
  const got = await c.peer.take(
    (i) =>
      i.kind === 'frame' &&
      (i.rec?.type === 'close' ||
        (i.rec?.type === 'end' && (s === undefined || i.channel === s.remoteChannel))),
    c.timeoutMs,
  );
  if (got && got.kind === 'frame') {
    const rec = got.rec as End | Close;
    return { kind: rec.type, error: rec.error };
  }
  return c.peer.isClosed ? { kind: 'socket closed' } : undefined;
}

/** A verdict for "the server must answer with `condition` (on an end or a close)". */
export function expectCondition(
  got: { kind: string; error?: AmqpErrorRecord } | undefined,
  condition: string,
  kinds: string[],
  rule: string,
): Verdict {
  if (!got) return fail(`no end or close within the time-out: ${rule}`);
  if (got.kind === 'socket closed') return fail(`closed the socket without a close frame: ${rule}`);
  const cond = got.error?.condition;
  if (cond === condition && kinds.includes(got.kind))
    return pass(`${got.kind} with ${describeError(got.error!)}`);
  return fail(`${got.kind} with ${got.error ? describeError(got.error) : 'no error'}: ${rule}`);
}

/** Opens a receiver on `address` in session `s` (refusal fails the case). */
export function receiver(
  c: ClientScript,
  s: ScriptSession,
  address: string,
  extra: { sndSettleMode?: number } = {},
): Promise<ScriptLink> {
  return c.attachOrFail(s, { role: 'receiver', address, ...extra });
}

/** `n` text messages `${prefix}-0` … `${prefix}-(n-1)`. */
export const texts = (n: number, prefix: string): Buffer[] =>
  Array.from({ length: n }, (_, i) => textMessage(`${prefix}-${i}`));
