/**
 * Cloud-to-device messages (contract sections 4-6).
 *
 * - Service sender on `/messages/devicebound`: each message is routed by its `to` into the target
 *   device's queue and accepted once queued; refusals are `rejected` outcomes with the hub's
 *   condition (`amqp:not-found` unknown device, `amqp:resource-limit-exceeded` 50 queued,
 *   `com.microsoft:argument-error` bad `to`, `amqp:link:message-size-exceeded` over 64 KB).
 * - Device receiver on `/devices/{d}/messages/devicebound`, a module's input receiver on
 *   `/devices/{d}/modules/{m}/messages/events` (messages its routes queued, with
 *   `x-opt-input-name`), and the service's feedback receiver on `/messages/serviceBound/feedback`:
 *   peek-lock deliveries, sent unsettled on credit with the
 *   16-byte lock-token tag and the queue's annotations. The device's outcome settles the lock:
 *   accepted = complete, rejected = reject (dead), released or modified = abandon (redelivered);
 *   dispositions that arrive as ranges reach each delivery (the engine splits them). A link that
 *   goes away with locked deliveries abandons them, so that they come back at once.
 */
import type { DeliveryState } from '../../codec/spec/records.js';
import type { MessageSender } from '../../api/sender.js';
import type { IncomingLink } from '../../server/server-connection.js';
import type { Delivery, SettleOutcome } from '../hub/queue.js';
import { serveClientSender, type EmulatorContext } from './context.js';

/** The real hub's C2D message size limit. */
export const MAX_C2D_SIZE = 64 * 1024;

export function outcomeOf(state: DeliveryState | undefined): SettleOutcome {
  switch (state?.type) {
    case 'accepted':
      return 'complete';
    case 'rejected':
      return 'reject';
    default:
      // released, modified, or settled without an outcome: the message goes back to the queue.
      return 'abandon';
  }
}

interface LockSource {
  what: string;
  receive(): Delivery<unknown> | undefined;
  settle(tag: Uint8Array, outcome: SettleOutcome): void;
  onAvailable(cb: () => void): () => void;
}

/** Sends locked messages on credit and settles each lock with the client's outcome. */
function pumpLocked(ctx: EmulatorContext, sender: MessageSender, src: LockSource): () => void {
  const inflight = new Map<string, Delivery<unknown>>();
  const presettled = sender.link.remoteAttach?.sndSettleMode === 1;
  let closed = false;
  const settle = (d: Delivery<unknown>, outcome: SettleOutcome): void => {
    if (!inflight.delete(d.lockToken)) return;
    try {
      src.settle(d.deliveryTag, outcome);
    } catch (e) {
      // A lost lock (timed out, message requeued) or a settled one: nothing to undo.
      ctx.log(`${src.what}: ${outcome} of ${d.lockToken}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const pump = (): void => {
    while (!closed && sender.sendable > 0) {
      const d = src.receive();
      if (!d) return;
      inflight.set(d.lockToken, d);
      sender.send(d.message, { tag: d.deliveryTag, presettled }).then(
        (state) => settle(d, presettled ? 'complete' : outcomeOf(state)),
        () => settle(d, 'abandon'),
      );
    }
  };
  const unsubscribe = src.onAvailable(pump);
  sender.on('credit', pump);
  const stop = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    // A disposition that came in the same read as the detach has already resolved its send, but
    // the resolution runs as a microtask after this 'close': settle what is left only after it.
    setImmediate(() => {
      for (const d of [...inflight.values()]) settle(d, 'abandon');
    });
  };
  sender.once('close', stop);
  pump();
  return stop;
}

export function serveDeviceBound(ctx: EmulatorContext, l: IncomingLink, deviceId: string): void {
  const sender = l.acceptSender();
  const registry = ctx.state.registry;
  try {
    registry.setConnectionState(deviceId, true);
  } catch {
    // removed meanwhile
  }
  sender.once('close', () => {
    try {
      registry.setConnectionState(deviceId, false);
    } catch {
      // removed meanwhile
    }
  });
  pumpLocked(ctx, sender, {
    what: `C2D for ${deviceId}`,
    receive: () => ctx.state.receiveC2d(deviceId),
    settle: (tag, outcome) => void ctx.state.settleC2d(deviceId, tag, outcome),
    onAvailable: (cb) => ctx.state.onC2dAvailable(deviceId, cb),
  });
}

export function serveModuleInput(
  ctx: EmulatorContext,
  l: IncomingLink,
  deviceId: string,
  moduleId: string,
): void {
  const sender = l.acceptSender();
  pumpLocked(ctx, sender, {
    what: `input of ${deviceId}/${moduleId}`,
    receive: () => ctx.state.receiveInput(deviceId, moduleId),
    settle: (tag, outcome) => void ctx.state.settleInput(deviceId, moduleId, tag, outcome),
    onAvailable: (cb) => ctx.state.onInputAvailable(deviceId, moduleId, cb),
  });
}

export function serveFeedback(ctx: EmulatorContext, l: IncomingLink): void {
  const sender = l.acceptSender();
  pumpLocked(ctx, sender, {
    what: 'feedback',
    receive: () => ctx.state.receiveFeedback(),
    settle: (tag, outcome) => void ctx.state.settleFeedback(tag, outcome),
    onAvailable: (cb) => ctx.state.onFeedbackAvailable(cb),
  });
}

export function serveServiceC2d(ctx: EmulatorContext, l: IncomingLink): void {
  serveClientSender(l, {
    maxSize: MAX_C2D_SIZE,
    tooLarge: (size) => `C2D message of ${size} bytes is over the ${MAX_C2D_SIZE}-byte limit.`,
    decode: (rm) => rm.message,
    store: (m) => ctx.state.sendC2d(m),
  });
}
