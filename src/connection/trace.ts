/**
 * Frames as text. AMQP_TRACE=frames prints every frame, decoded, to stderr (like Proton's
 * PN_TRACE_FRM); the flag is read once. A logger taking 'trace' records of the 'frames' category
 * (or DEBUG=amqp-one:frames) gets the same line as a record's message. Both hide the SASL
 * responses: a trace pasted into a bug report must not carry a password or SAS token. When neither is on the engine pays one boolean test and one `Log.enabled` per frame.
 *
 * The engine imports nothing from Node: in Node a frame is shown with `util.inspect`, found through
 * `process.getBuiltinModule`; elsewhere with `showValue` (show-value.ts), which writes the same
 * shapes for the values frames hold.
 */
import type { Log } from '../util/logger.js';
import { showValue } from './show-value.js';

interface NodeProcess {
  env?: Record<string, string | undefined>;
  stderr?: { write(s: string): unknown };
  getBuiltinModule?(id: string): unknown;
}
type Inspect = (v: unknown, options: object) => string;

const nodeProcess = (globalThis as { process?: NodeProcess }).process;
const inspect = (nodeProcess?.getBuiltinModule?.('node:util') as { inspect?: Inspect } | undefined)?.inspect;

export const traceFrames = /\bframes\b/.test(nodeProcess?.env?.AMQP_TRACE ?? '');

/** A frame's body as text: Node's inspect where there is one. */
function show(body: unknown): string {
  return inspect
    ? inspect(body, { depth: 6, breakLength: Infinity, maxStringLength: 200 })
    : showValue(body, 6, 200);
}

/** One frame as AMQP_TRACE shows it (without the newline). */
export function formatFrame(
  id: string,
  dir: '->' | '<-',
  channel: number,
  body: unknown,
  payloadBytes = 0,
): string {
  const shown = show(body);
  return `[${id}]:${channel} ${dir} ${shown}${payloadBytes ? ` (${payloadBytes} payload bytes)` : ''}`;
}

export function traceFrame(
  id: string,
  dir: '->' | '<-',
  channel: number,
  body: unknown,
  payloadBytes = 0,
): void {
  const line = formatFrame(id, dir, channel, body, payloadBytes);
  if (nodeProcess?.stderr) nodeProcess.stderr.write(`${line}\n`);
  else console.error(line);
}

/** True when a frame is to be shown anywhere: the one test on the frame path. */
export function framesWanted(log: Log): boolean {
  return traceFrames || log.enabled('trace', 'frames');
}

/** Shows one frame where it is wanted (AMQP_TRACE on stderr, the logger as a 'trace' record). */
export function onFrame(
  log: Log,
  id: string,
  dir: '->' | '<-',
  channel: number,
  body: { type: string },
  payloadBytes = 0,
): void {
  if (traceFrames) traceFrame(id, dir, channel, withoutSecrets(body), payloadBytes);
  if (log.enabled('trace', 'frames')) {
    log.write('trace', 'frames', formatFrame(id, dir, channel, withoutSecrets(body), payloadBytes), {
      direction: dir === '->' ? 'out' : 'in',
      channel,
      performative: body.type,
      payloadBytes,
    });
  }
}

/**
 * A SASL frame's response carries the credentials (PLAIN: the password or SAS token): records show
 * its length only. Transfers never show their payload, so CBS tokens stay out as well.
 */
function withoutSecrets(body: { type: string }): unknown {
  if (body.type === 'sasl-init') {
    const r = (body as { initialResponse?: Uint8Array }).initialResponse;
    return r ? { ...body, initialResponse: `<${r.length} bytes hidden>` } : body;
  }
  if (body.type === 'sasl-response') {
    const r = (body as { response?: Uint8Array }).response;
    return { ...body, response: `<${r?.length ?? 0} bytes hidden>` };
  }
  if (body.type === 'sasl-challenge') {
    const r = (body as { challenge?: Uint8Array }).challenge;
    return { ...body, challenge: `<${r?.length ?? 0} bytes hidden>` };
  }
  return body;
}
