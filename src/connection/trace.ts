/**
 * AMQP_TRACE=frames prints every frame, decoded, to stderr (like Proton's PN_TRACE_FRM). The flag is
 * read once; when it is off the engine pays one boolean test per frame.
 */
import { inspect } from 'node:util';

export const traceFrames = /\bframes\b/.test(process.env.AMQP_TRACE ?? '');

export function traceFrame(
  id: string,
  dir: '->' | '<-',
  channel: number,
  body: unknown,
  payloadBytes = 0,
): void {
  const shown = inspect(body, { depth: 6, breakLength: Infinity, maxStringLength: 200 });
  process.stderr.write(
    `[${id}]:${channel} ${dir} ${shown}${payloadBytes ? ` (${payloadBytes} payload bytes)` : ''}\n`,
  );
}
