/**
 * Cloud-to-device messages as a device receives them (contract section 5), with the three ways to
 * settle one: complete = accepted, reject = rejected, abandon = released.
 */
import type { ReceivedMessage } from '../../api/received-message.js';
import type { Message } from '../../codec/message.js';
import type { AmqpValue } from '../../codec/values.js';
import { MessageLockLostError } from '../errors.js';
import { entry, idText, stringOf } from '../message-values.js';
import { utf8Lenient } from '../../codec/bytes.js';
import { bigintOf, bodyBytes, dateOf, numberOf, toRecord } from './amqp-utils.js';

/** How a device settled a C2D message. */
export type C2DOutcome = 'completed' | 'rejected' | 'abandoned';
/** Which outcomes the service asked feedback for (`iothub-ack`). */
export type AckMode = 'none' | 'positive' | 'negative' | 'full';

/** A cloud-to-device message on the device, with the hub's settlement calls: complete, reject, abandon. */
export class C2DMessage {
  private outcome: C2DOutcome | undefined;

  constructor(
    /** The message as the AMQP layer received it. */
    readonly received: ReceivedMessage,
    /** The hub connection generation it arrived on: settling fails once that connection is gone. */
    readonly generation: number,
    /** False once the connection it arrived on is gone (settling then fails). */
    private readonly live: () => boolean = () => true,
  ) {}

  /** The decoded AMQP message. */
  get message(): Message {
    return this.received.message;
  }

  /** The body as bytes (a data body, or a string/binary amqp-value), else undefined; a Buffer in Node. */
  get body(): Uint8Array | undefined {
    return bodyBytes(this.message);
  }

  /** The body as UTF-8 text. */
  text(): string {
    const b = this.body;
    return b === undefined ? '' : utf8Lenient(b);
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The message-id the service gave it. */
  get messageId(): AmqpValue {
    return this.message.properties?.messageId;
  }

  /** The message id in text form (uuid, ulong and string ids alike). */
  get messageIdText(): string | undefined {
    return idText(this.messageId);
  }

  /** The correlation-id, when the service set one. */
  get correlationId(): AmqpValue {
    return this.message.properties?.correlationId;
  }

  /** `/devices/{deviceId}/messages/devicebound`. */
  get to(): string | undefined {
    return stringOf(this.message.properties?.to);
  }

  /** The content type the service set. */
  get contentType(): string | undefined {
    return this.message.properties?.contentType;
  }

  /** The content encoding the service set. */
  get contentEncoding(): string | undefined {
    return this.message.properties?.contentEncoding;
  }

  /** When the hub expires the message. */
  get expiryTime(): Date | undefined {
    return this.message.properties?.absoluteExpiryTime;
  }

  /** The user-id the service set, as text. */
  get userId(): string | undefined {
    const u = this.message.properties?.userId;
    return u === undefined ? undefined : utf8Lenient(u);
  }

  /** Application properties (without the hub's `iothub-ack`, which is {@link ack}). */
  get properties(): Record<string, AmqpValue> {
    const all = toRecord(this.message.applicationProperties);
    delete all['iothub-ack'];
    return all;
  }

  /** The feedback the service asked for (`iothub-ack`), default 'none'. */
  get ack(): AckMode {
    const a = stringOf(entry(this.message.applicationProperties, 'iothub-ack'));
    return a === 'positive' || a === 'negative' || a === 'full' ? a : 'none';
  }

  /** `x-opt-lock-token`. */
  get lockToken(): string | undefined {
    return idText(entry(this.message.messageAnnotations, 'x-opt-lock-token'));
  }

  /** `x-opt-sequence-number`. */
  get sequenceNumber(): bigint | undefined {
    return bigintOf(entry(this.message.messageAnnotations, 'x-opt-sequence-number'));
  }

  /** `iothub-enqueuedtime`. */
  get enqueuedTime(): Date | undefined {
    return dateOf(entry(this.message.messageAnnotations, 'iothub-enqueuedtime'));
  }

  /** `iothub-deliverycount`: how many times the hub delivered it before. */
  get deliveryCount(): number | undefined {
    return numberOf(entry(this.message.messageAnnotations, 'iothub-deliverycount'));
  }

  /** How this message was settled, if it was. */
  get settledAs(): C2DOutcome | undefined {
    return this.outcome;
  }

  /** Done with it: the hub removes it from the queue (accepted); positive feedback follows if asked for. */
  complete(): Promise<void> {
    return this.settle('completed', (r) => r.accept());
  }

  /** It is bad: the hub dead-letters it (rejected); negative feedback follows if asked for. */
  reject(): Promise<void> {
    return this.settle('rejected', (r) => r.reject());
  }

  /** Give it back: the hub delivers it again later (released), counting a delivery. */
  abandon(): Promise<void> {
    return this.settle('abandoned', (r) => r.release());
  }

  private settle(outcome: C2DOutcome, how: (r: ReceivedMessage) => void): Promise<void> {
    if (this.outcome !== undefined) {
      if (this.outcome === outcome) return Promise.resolve();
      return Promise.reject(
        new MessageLockLostError({ description: `the message was already ${this.outcome}` }),
      );
    }
    try {
      if (!this.live()) throw new Error('connection gone');
      how(this.received);
    } catch (e) {
      return Promise.reject(
        new MessageLockLostError({
          description: 'the link that received the message is gone; the hub will deliver it again',
          cause: e,
        }),
      );
    }
    this.outcome = outcome;
    return Promise.resolve();
  }
}
