/**
 * Direct method requests as a device receives them (contract section 12): the uuid correlation-id,
 * `IoThub-methodname` and a JSON body; answered once with `IoThub-status` (an int) and a JSON body
 * on the methods sender.
 */
import type { Message } from '../../codec/message.js';
import { Typed, uuid } from '../../codec/values.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { AlreadyRespondedError } from '../errors.js';
import { entry, stringOf } from '../message-values.js';
import { bodyBytes } from './amqp-utils.js';
import { alloc, utf8Encode, utf8Lenient } from '../../codec/bytes.js';

/** What a method handler returns: the status the service sees and a JSON-able payload. */
export interface MethodResult {
  status: number;
  payload?: unknown;
}

/** A method handler: return (or resolve) the answer, or call `request.respond` yourself. */
export type MethodHandler = (
  request: DeviceMethodRequest,
) => MethodResult | void | Promise<MethodResult | void>;

/** One direct method call, to be answered once with {@link DeviceMethodRequest.respond}. */
export class DeviceMethodRequest {
  private answered = false;

  constructor(
    /** `IoThub-methodname`. */
    readonly methodName: string,
    /** The call's id: the request's uuid correlation-id, in text form. */
    readonly requestId: string,
    /** The request's JSON body, as bytes. */
    readonly payload: Uint8Array,
    private readonly reply: (m: Message) => Promise<void>,
  ) {}

  /** The payload as text. */
  text(): string {
    return utf8Lenient(this.payload);
  }

  /** The payload parsed as JSON (null when empty). */
  json<T = unknown>(): T {
    return (this.payload.length === 0 ? null : JSON.parse(this.text())) as T;
  }

  /** Whether respond() was called. */
  get responded(): boolean {
    return this.answered;
  }

  /**
   * Answers the call: `status` (an integer) and a payload sent as JSON (default null). Resolves
   * once the hub accepted the answer; a second answer is an AlreadyRespondedError.
   */
  async respond(status: number, payload: unknown = null): Promise<void> {
    if (!Number.isInteger(status) || status < -(2 ** 31) || status >= 2 ** 31)
      throw new InvalidArgumentError(`a method status is a 32-bit integer, not ${String(status)}`);
    if (this.answered)
      throw new AlreadyRespondedError({ description: `${this.methodName} ${this.requestId}` });
    const body = JSON.stringify(payload);
    if (body === undefined) throw new InvalidArgumentError('a method payload must be JSON-serializable');
    this.answered = true;
    await this.reply({
      properties: { correlationId: uuid(this.requestId) },
      applicationProperties: { 'IoThub-status': status }, // a JS integer encodes as an AMQP int
      body: utf8Encode(body),
    });
  }
}

/** The request in a delivery on the methods receiver, or undefined when it is not one. */
export function methodRequestOf(
  m: Message,
  reply: (m: Message) => Promise<void>,
): DeviceMethodRequest | undefined {
  const cid = m.properties?.correlationId;
  const name = stringOf(entry(m.applicationProperties, 'IoThub-methodname', true));
  if (!(cid instanceof Typed) || cid.type !== 'uuid' || name === undefined) return undefined;
  return new DeviceMethodRequest(name, String(cid.value), bodyBytes(m) ?? alloc(0), reply);
}
