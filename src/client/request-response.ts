/**
 * Request/response over a sender and receiver pair (the pattern of CBS and `$management`):
 * requests carry a message-id and a reply-to; responses are matched by correlation-id, compared
 * with its AMQP type (a string id and a ulong id never match each other).
 */
import type { Message } from '../codec/message.js';
import { MessageView } from '../codec/message-view.js';
import { AmqpSymbol, Typed, type AmqpValue } from '../codec/values.js';
import { AmqpOneError } from '../codec/errors.js';
import type { AmqpConnection, AmqpSession } from './amqp-connection.js';
import { ClosedError, InvalidArgumentError } from '../api/errors.js';
import { abortedError, armDeadline } from '../api/deadline.js';
import { deferred, type Deferred } from '../util/deferred.js';
import type { MessageReceiver } from '../api/receiver.js';
import type { MessageSender } from '../api/sender.js';
import { checkOptions, opt, type OptionSchema } from '../protocol/options.js';

/** Options of {@link RequestResponseLink.open}. */
export interface RequestResponseOptions {
  /** The node requests go to ('$cbs', '$management', ...). */
  address: string;
  /** A fixed reply-to address; without it a dynamic node is asked for (falling back to a generated name). */
  replyTo?: string;
  /** Ask the peer for a dynamic reply node (default false: many services, IoT Hub's CBS among them, expect a fixed name). */
  dynamic?: boolean;
  session?: AmqpSession;
  /** How long a request waits for its response (ms, default 30 s; 0 means no deadline). */
  timeoutMs?: number;
  /** How long opening each of the two links waits for the peer's attach (default the connection's openTimeoutMs). */
  openTimeoutMs?: number;
  /**
   * Abandons open() with an AbortError (code AMQP_ABORTED): a link already attached is closed, a
   * half-open one detached. Requests take their own signal (RequestOptions).
   */
  signal?: AbortSignal;
  /** How request ids are made (default a uuid string). */
  messageId?: () => AmqpValue;
}

/** One request's deadline and cancellation. */
export interface RequestOptions {
  /** How long to wait for the response (ms; default the link's timeoutMs, 30 s); 0 means no deadline. */
  timeoutMs?: number;
  /**
   * Gives up the request with an AbortError (code AMQP_ABORTED). A request not yet written is
   * taken back; a response that comes later is dropped. A signal that has already fired sends nothing.
   */
  signal?: AbortSignal;
}

export const REQUEST_RESPONSE_OPTIONS = {
  address: opt.string,
  replyTo: opt.string,
  dynamic: opt.boolean,
  session: opt.object,
  timeoutMs: opt.number,
  openTimeoutMs: opt.number,
  messageId: opt.function,
  signal: opt.signal,
} satisfies OptionSchema<RequestResponseOptions>;

/** The options of one request, tied to request()'s signature: an option added there needs a rule here. */
export const REQUEST_OPTIONS = {
  timeoutMs: opt.number,
  signal: opt.signal,
} satisfies OptionSchema<NonNullable<Parameters<RequestResponseLink['request']>[1]>>;

/**
 * A version 4 uuid from the platform's Web Crypto (Node and browsers). A browser page that is not a
 * secure context has no `randomUUID`, but has `getRandomValues`.
 */
function randomUUID(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/** A key that keeps the AMQP type of an id: 'string:abc' and 'ulong:1' differ. */
export function idKey(id: AmqpValue): string {
  if (typeof id === 'string') return `string:${id}`;
  if (id instanceof Typed) return `${id.type}:${String(id.value)}`;
  if (id instanceof AmqpSymbol) return `symbol:${id.value}`;
  if (id instanceof Uint8Array) return `binary:${hex(id)}`;
  return `${typeof id}:${String(id)}`;
}

/** A sender and a receiver that pair each request with its response by correlation-id. */
export class RequestResponseLink {
  private readonly pending = new Map<string, Deferred<Message>>();
  private closed = false;

  private constructor(
    readonly sender: MessageSender,
    readonly receiver: MessageReceiver,
    readonly replyTo: string,
    private readonly options: RequestResponseOptions,
  ) {
    void this.readResponses();
  }

  /** Opens the reply receiver, then the request sender; closes the first if the second fails. */
  static async open(conn: AmqpConnection, options: RequestResponseOptions): Promise<RequestResponseLink> {
    checkOptions(options, REQUEST_RESPONSE_OPTIONS, 'RequestResponseLink.open');
    if (options === undefined || typeof options.address !== 'string') {
      throw new InvalidArgumentError('RequestResponseLink.open: `address` (a string) is required', {
        option: 'address',
      });
    }
    const session = options.session;
    let replyTo = options.replyTo ?? `${options.address}-reply-${randomUUID()}`;
    const { openTimeoutMs, signal } = options;
    const receiver = options.dynamic
      ? await conn.openReceiver({ source: { dynamic: true }, session, credit: 50, openTimeoutMs, signal })
      : await conn.openReceiver({
          address: replyTo,
          target: { address: replyTo },
          session,
          credit: 50,
          openTimeoutMs,
          signal,
        });
    if (options.dynamic) {
      const a = receiver.link.remoteAttach?.source;
      const addr = a && a.type === 'source' ? a.address : undefined;
      if (typeof addr !== 'string') {
        await receiver.close().catch(() => undefined); // no reply link left behind
        throw new AmqpOneError('AMQP_NO_DYNAMIC_ADDRESS', 'the peer gave the dynamic reply node no address');
      }
      replyTo = addr;
    }
    let sender: MessageSender;
    try {
      sender = await conn.openSender({
        address: options.address,
        source: { address: replyTo },
        session,
        openTimeoutMs,
        signal,
      });
    } catch (e) {
      await receiver.close().catch(() => undefined); // no reply link left behind
      throw e;
    }
    return new RequestResponseLink(sender, receiver, replyTo, options);
  }

  private async readResponses(): Promise<void> {
    try {
      for await (const m of this.receiver) {
        m.accept();
        const id = m.message.properties?.correlationId;
        const d = id === undefined || id === null ? undefined : this.pending.get(idKey(id));
        if (d) {
          this.pending.delete(idKey(id));
          d.resolve(m.message);
        }
      }
    } catch (e) {
      this.failAll(e);
      return;
    }
    this.failAll(new ClosedError('the response link'));
  }

  private failAll(e: unknown): void {
    for (const d of this.pending.values()) d.reject(e);
    this.pending.clear();
  }

  /**
   * Sends a request and resolves with the matching response. Past the deadline it fails with a
   * TimeoutError, on abort with an AbortError; either way a request still unsent is taken back.
   */
  async request(message: Message, options: RequestOptions = {}): Promise<Message> {
    if (this.closed) throw new ClosedError('the request/response link');
    checkOptions(options, REQUEST_OPTIONS, 'request');
    const what = `the request to ${this.options.address}`;
    const aborted = abortedError(options.signal, what);
    if (aborted) throw aborted;
    const id = message.properties?.messageId ?? this.options.messageId?.() ?? randomUUID();
    const key = idKey(id);
    // A lazily decoded message (a received one passed on) spreads as its internal fields: copy it.
    const plain = message instanceof MessageView ? message.toMessage() : message;
    const response = deferred<Message>();
    this.pending.set(key, response);
    // One deadline and signal for the send and the response: when either ends the wait, the
    // send is cancelled (`cancel`) and `stopped` says why, whatever the send rejected with.
    const gate = deferred<never>();
    const cancel = new AbortController();
    let stopped: Error | undefined;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const disarm = armDeadline(
      this.sender.timers,
      gate,
      timeoutMs,
      what,
      (err) => {
        stopped = err;
        this.pending.delete(key);
        cancel.abort(err);
      },
      options.signal,
    );
    try {
      const outcome = await Promise.race([
        this.sender.send(
          { ...plain, properties: { ...plain.properties, messageId: id, replyTo: this.replyTo } },
          { signal: cancel.signal },
        ),
        gate.promise,
      ]);
      // A request the peer did not take will get no response: fail now, not at the timeout.
      if (outcome && outcome.type !== 'accepted') {
        throw new AmqpOneError(
          'AMQP_REQUEST_REFUSED',
          `${this.options.address} did not accept the request: ${outcome.type}`,
        );
      }
      return await Promise.race([response.promise, gate.promise]);
    } catch (e) {
      throw stopped ?? e;
    } finally {
      disarm();
      this.pending.delete(key);
    }
  }

  /** Closes both links; pending requests fail with ClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.sender.close(), this.receiver.close()]);
  }
}
