/**
 * Device-to-cloud telemetry on `/devices/{d}[/modules/{m}]/messages/events` (contract sections 4-5):
 * each message is stored (durably, with a state directory) and then accepted; over 256 KB it is
 * rejected with `amqp:link:message-size-exceeded` (over the link's 1 MB max-message-size the engine
 * detaches the link, as the real hub closes it). A batch (message format 0x80013700, each data
 * section an encoded message: the SDKs' sendEventBatch) is stored message by message.
 */
import { decodeMessage, type Message } from '../../codec/message.js';
import type { ReceivedMessage } from '../../api/received-message.js';
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import type { IncomingLink } from '../../server/server-connection.js';
import { isHubError } from '../hub/errors.js';
import type { AuthMethod } from '../hub/telemetry.js';
import type { Grant } from './auth.js';
import { acceptReceiverFirst, LINK_CREDIT, LINK_MAX_MESSAGE_SIZE, type EmulatorContext } from './context.js';

/** The message format of a batch of encoded messages (Azure's "batched message" format). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

export function authMethodOf(g: Grant | undefined, moduleId: string | undefined): Partial<AuthMethod> {
  return {
    scope: g?.kind === 'policy' ? 'hub' : moduleId === undefined ? 'device' : 'module',
    type: g?.method === 'x509' ? 'x509CA' : 'sas',
  };
}

function settle(l: IncomingLink, rm: ReceivedMessage, error?: AmqpError): void {
  try {
    if (error) rm.reject(error);
    else rm.accept();
    // Why: settling only queues the disposition in the engine; nothing else may write for a while
    // (an outcome given after a durable write comes late), so ask the driver to flush it.
    l.connection.schedule();
  } catch {
    // The link went away before the outcome: the client will send again (at-least-once).
  }
}

export function serveTelemetry(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string | undefined,
  grant: () => Grant | undefined,
): void {
  const receiver = acceptReceiverFirst(l, { credit: LINK_CREDIT, maxMessageSize: LINK_MAX_MESSAGE_SIZE });
  const limit = ctx.state.telemetry.maxMessageSize;
  const store = async (rm: ReceivedMessage): Promise<void> => {
    const authMethod = authMethodOf(grant(), moduleId);
    const opts = { authMethod, ...(moduleId === undefined ? {} : { moduleId }) };
    if (rm.payload.length > limit)
      return settle(l, rm, {
        condition: Condition.MessageSizeExceeded,
        description: `Message size ${rm.payload.length} bytes is over the ${limit}-byte limit.`,
      });
    let messages: Message[];
    // Each message's size as it came: a batch's data sections are the encoded messages.
    let sizes: number[];
    try {
      const m = rm.message;
      if (rm.delivery.messageFormat === BATCH_MESSAGE_FORMAT) {
        const body = m.body;
        const sections = (Array.isArray(body) ? body : [body]) as Uint8Array[];
        messages = sections.map((s) => decodeMessage(s));
        sizes = sections.map((s) => s.length);
      } else {
        messages = [m];
        sizes = [rm.payload.length];
      }
    } catch (e) {
      return settle(l, rm, { condition: Condition.DecodeError, description: String(e) });
    }
    try {
      // Appends are numbered synchronously, so order on the link is order in the partition. A
      // batch is stored whole or refused whole: its one outcome must tell the truth for each.
      await ctx.state.sendTelemetryBatch(deviceId, messages, { ...opts, sizes });
      settle(l, rm);
    } catch (e) {
      if (!isHubError(e)) ctx.log(`telemetry from ${deviceId}: ${String(e)}`);
      settle(l, rm, {
        condition: isHubError(e) ? e.condition : Condition.InternalError,
        description: e instanceof Error ? e.message : String(e),
      });
    }
  };
  void (async () => {
    try {
      for await (const rm of receiver) void store(rm);
    } catch {
      // Link or connection gone.
    }
  })();
}
