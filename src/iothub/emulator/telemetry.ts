/**
 * Device-to-cloud telemetry on `/devices/{d}[/modules/{m}]/messages/events` (contract sections 4-5):
 * each message is stored (durably, with a state directory) and then accepted; over 256 KB it is
 * rejected with `amqp:link:message-size-exceeded` (over the link's 1 MB max-message-size the engine
 * detaches the link, as the real hub closes it). A batch (message format 0x80013700, each data
 * section an encoded message: the SDKs' sendEventBatch) is stored message by message. A message
 * with IoT Hub's fault injection properties is stored too, then hands its fault to faults.ts.
 */
import { decodeMessage } from '../../codec/message.js';
import type { IncomingLink } from '../../server/server-connection.js';
import type { AuthMethod } from '../hub/telemetry.js';
import type { Grant } from './auth.js';
import { serveClientSender, type EmulatorContext } from './context.js';

/** The message format of a batch of encoded messages (Azure's "batched message" format). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

export function authMethodOf(g: Grant | undefined, moduleId: string | undefined): Partial<AuthMethod> {
  return {
    scope: g?.kind === 'policy' ? 'hub' : moduleId === undefined ? 'device' : 'module',
    type: g?.method !== 'x509' ? 'sas' : g.certificate === 'thumbprint' ? 'x509Certificate' : 'x509CA',
  };
}

export function serveTelemetry(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string | undefined,
  grant: () => Grant | undefined,
): void {
  const limit = ctx.state.telemetry.maxMessageSize;
  serveClientSender(l, {
    maxSize: limit,
    tooLarge: (size) => `Message size ${size} bytes is over the ${limit}-byte limit.`,
    decode: (rm) => {
      const m = rm.message;
      if (rm.delivery.messageFormat !== BATCH_MESSAGE_FORMAT)
        return { messages: [m], sizes: [rm.payload.length] };
      // Each message's size as it came: a batch's data sections are the encoded messages.
      const body = m.body;
      const sections = (Array.isArray(body) ? body : [body]) as Uint8Array[];
      return { messages: sections.map((s) => decodeMessage(s)), sizes: sections.map((s) => s.length) };
    },
    store: ({ messages, sizes }) => {
      const authMethod = authMethodOf(grant(), moduleId);
      const opts = { authMethod, sizes, ...(moduleId === undefined ? {} : { moduleId }) };
      // Appends are numbered synchronously, so order on the link is order in the partition. A
      // batch is stored whole or refused whole: its one outcome must tell the truth for each.
      const stored = ctx.state.sendTelemetryBatch(deviceId, messages, opts);
      // A fault message (faults.ts) takes effect once stored: it is accepted before its fault.
      const cs = ctx.connection(l.connection);
      return stored.then((r) => {
        for (const m of messages) ctx.faults?.onTelemetry(cs, deviceId, moduleId, m);
        return r;
      });
    },
    unexpected: (e) => ctx.log(`telemetry from ${deviceId}: ${String(e)}`),
  });
}
