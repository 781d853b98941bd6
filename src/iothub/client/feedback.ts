/**
 * C2D delivery feedback (contract section 6): a message on `/messages/serviceBound/feedback` whose
 * data body is a JSON array of records
 * `{"originalMessageId","enqueuedTimeUtc","statusCode","description","deviceId","deviceGenerationId"}`.
 */
import type { ReceivedMessage } from '../../api/received-message.js';
import type { Message } from '../../codec/message.js';
import { BadResponseError, MessageLockLostError } from '../errors.js';
import { entry, idText } from '../message-values.js';
import { bodyBytes, dateOf } from './amqp-utils.js';

/** Where a service reads delivery feedback. */
export const FEEDBACK_ADDRESS = '/messages/serviceBound/feedback';
/** The content type of a feedback message. */
export const FEEDBACK_CONTENT_TYPE = 'application/vnd.microsoft.iothub.feedback.json';

/** The status codes a feedback record may carry. */
export const FEEDBACK_STATUS_CODES = [
  'Success',
  'Expired',
  'DeliveryCountExceeded',
  'Rejected',
  'Purged',
] as const;
/** What happened to a C2D message: Success, Expired, DeliveryCountExceeded, Rejected or Purged. */
export type FeedbackStatusCode = (typeof FEEDBACK_STATUS_CODES)[number];

/** One C2D message's feedback: which message, which device, what happened. */
export interface FeedbackRecord {
  /** The id of the C2D message this is about, in text form. */
  originalMessageId: string;
  deviceId: string;
  deviceGenerationId?: string;
  statusCode: FeedbackStatusCode;
  description: string;
  /** When the outcome happened. */
  enqueuedTimeUtc: Date;
}

function bad(description: string): never {
  throw new BadResponseError({ description: `feedback: ${description}` });
}

/**
 * Reads an ISO 8601 time as UTC: `2015-07-28T16:24:48.789Z`, more than three fraction digits
 * (.NET writes seven), and times without a zone (taken as UTC: the field is named ...Utc).
 */
export function parseUtcTime(text: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/i.exec(
    text.trim(),
  );
  if (!m) bad(`enqueuedTimeUtc is not a time: ${JSON.stringify(text)}`);
  const fraction = m[2] === undefined ? '' : `.${m[2].slice(0, 3).padEnd(3, '0')}`;
  const d = new Date(`${m[1]}${fraction}${m[3] ?? 'Z'}`);
  if (Number.isNaN(d.getTime())) bad(`enqueuedTimeUtc is not a time: ${JSON.stringify(text)}`);
  return d;
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function text(o: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) {
    if (required) bad(`a record has no ${name}`);
    return undefined;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return bad(`${name} is not a string`);
}

/** One record, checked: every field present with the right type, statusCode one of the five. */
export function parseFeedbackRecord(raw: unknown): FeedbackRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('a record is not an object');
  const o = raw as Record<string, unknown>;
  const status = text(o, 'statusCode', true)!;
  const statusCode = FEEDBACK_STATUS_CODES.find((s) => s.toLowerCase() === status.toLowerCase());
  if (statusCode === undefined) bad(`unknown statusCode ${JSON.stringify(status)}`);
  const record: FeedbackRecord = {
    originalMessageId: text(o, 'originalMessageId', true)!,
    deviceId: text(o, 'deviceId', true)!,
    statusCode,
    description: text(o, 'description', false) ?? statusCode,
    enqueuedTimeUtc: parseUtcTime(text(o, 'enqueuedTimeUtc', true)!),
  };
  const gen = text(o, 'deviceGenerationId', false);
  if (gen !== undefined) record.deviceGenerationId = gen;
  return record;
}

/** The records of a feedback body: JSON text (bytes or string) or an already parsed array. */
export function parseFeedbackRecords(body: unknown): FeedbackRecord[] {
  let value: unknown = body;
  if (body instanceof Uint8Array || typeof body === 'string') {
    const s = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      value = JSON.parse(s.replace(/^\uFEFF/, ''));
    } catch (e) {
      bad(`the body is not JSON (${(e as Error).message})`);
    }
  }
  if (!Array.isArray(value)) bad('the body is not a JSON array');
  return value.map(parseFeedbackRecord);
}

/** A feedback message: its records and where it came from. */
export interface ParsedFeedback {
  records: FeedbackRecord[];
  /** `iothub-enqueuedtime`. */
  enqueuedTime?: Date;
  /** `user-id`: the hub name. */
  userId?: string;
  /** `x-opt-lock-token`, when the hub sent one. */
  lockToken?: string;
}

/** Reads the records and system properties of one feedback message. */
export function parseFeedbackMessage(m: Message): ParsedFeedback {
  const bytes = bodyBytes(m);
  const records = parseFeedbackRecords(bytes ?? m.body);
  const out: ParsedFeedback = { records };
  const enq = dateOf(entry(m.messageAnnotations, 'iothub-enqueuedtime'));
  if (enq) out.enqueuedTime = enq;
  const u = m.properties?.userId;
  if (u !== undefined) out.userId = Buffer.from(u).toString('utf8');
  const lock = idText(entry(m.messageAnnotations, 'x-opt-lock-token'));
  if (lock !== undefined) out.lockToken = lock;
  return out;
}

/**
 * One feedback message as yielded by `ServiceClient.feedback()`. It is accepted when the consumer's
 * iteration step with it ends; `complete()` accepts it at once, `abandon()` gives it back (it is
 * delivered again), `reject()` drops it.
 */
export class FeedbackBatch implements ParsedFeedback {
  readonly records: FeedbackRecord[];
  readonly enqueuedTime?: Date;
  readonly userId?: string;
  readonly lockToken?: string;
  private done = false;

  constructor(
    readonly received: ReceivedMessage,
    parsed: ParsedFeedback,
    private readonly live: () => boolean = () => true,
  ) {
    this.records = parsed.records;
    if (parsed.enqueuedTime) this.enqueuedTime = parsed.enqueuedTime;
    if (parsed.userId !== undefined) this.userId = parsed.userId;
    if (parsed.lockToken !== undefined) this.lockToken = parsed.lockToken;
  }

  /** The feedback message as received. */
  get message(): Message {
    return this.received.message;
  }

  /** Whether the batch was completed, abandoned or rejected. */
  get settled(): boolean {
    return this.done;
  }

  /** Completes the batch: the hub drops it. */
  complete(): void {
    this.settle((r) => r.accept());
  }

  /** Abandons the batch: the hub delivers it again. */
  abandon(): void {
    this.settle((r) => r.release());
  }

  /** Rejects the batch: the hub drops it as undeliverable. */
  reject(): void {
    this.settle((r) => r.reject());
  }

  private settle(how: (r: ReceivedMessage) => void): void {
    if (this.done) return;
    this.done = true;
    try {
      if (!this.live()) throw new Error('connection gone');
      how(this.received);
    } catch (e) {
      throw new MessageLockLostError({
        description: 'the feedback link is gone; the hub will deliver this batch again',
        cause: e,
      });
    }
  }
}
