import { describe, expect, test } from 'vitest';
import { encodeMessage, decodeMessage } from '../../../src/codec/message.js';
import {
  FEEDBACK_CONTENT_TYPE,
  parseFeedbackMessage,
  parseFeedbackRecord,
  parseFeedbackRecords,
  parseUtcTime,
} from '../../../src/iothub/client/feedback.js';
import { BadResponseError } from '../../../src/iothub/errors.js';

const RECORD = {
  originalMessageId: '0987654321',
  enqueuedTimeUtc: '2015-07-28T16:24:48.789Z',
  statusCode: 'Success',
  description: 'Success',
  deviceId: 'myDevice',
  deviceGenerationId: '635732704022817470',
};

describe('feedback parsing', () => {
  test('the documented record', () => {
    const [r] = parseFeedbackRecords(Buffer.from(JSON.stringify([RECORD])));
    expect(r).toEqual({
      originalMessageId: '0987654321',
      deviceId: 'myDevice',
      deviceGenerationId: '635732704022817470',
      statusCode: 'Success',
      description: 'Success',
      enqueuedTimeUtc: new Date(Date.UTC(2015, 6, 28, 16, 24, 48, 789)),
    });
    expect(r!.enqueuedTimeUtc).toBeInstanceOf(Date);
  });

  test('every status code; several records; text or parsed input; BOM', () => {
    const codes = ['Success', 'Expired', 'DeliveryCountExceeded', 'Rejected', 'Purged'];
    const body = codes.map((statusCode, i) => ({ ...RECORD, statusCode, originalMessageId: `m${i}` }));
    const recs = parseFeedbackRecords(`\uFEFF${JSON.stringify(body)}`);
    expect(recs.map((r) => r.statusCode)).toEqual(codes);
    expect(recs.map((r) => r.originalMessageId)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(parseFeedbackRecords(body)).toHaveLength(5);
    expect(parseFeedbackRecords('[]')).toEqual([]);
  });

  test('lenient where SDKs differ: key case, status case, missing description and generation id', () => {
    const r = parseFeedbackRecord({
      OriginalMessageId: 'a',
      DeviceId: 'd',
      StatusCode: 'deliverycountexceeded',
      EnqueuedTimeUtc: '2024-01-01T00:00:00Z',
    });
    expect(r.statusCode).toBe('DeliveryCountExceeded');
    expect(r.description).toBe('DeliveryCountExceeded');
    expect(r.deviceGenerationId).toBeUndefined();
  });

  test('times: seven fraction digits (.NET), no zone (UTC), offsets', () => {
    expect(parseUtcTime('2015-07-28T16:24:48.7899163Z').toISOString()).toBe('2015-07-28T16:24:48.789Z');
    expect(parseUtcTime('2015-07-28T16:24:48').toISOString()).toBe('2015-07-28T16:24:48.000Z');
    expect(parseUtcTime('2015-07-28T16:24:48.5+02:00').toISOString()).toBe('2015-07-28T14:24:48.500Z');
    expect(() => parseUtcTime('yesterday')).toThrow(BadResponseError);
  });

  test.each([
    ['not JSON', Buffer.from('{oops')],
    ['not an array', Buffer.from('{"a":1}')],
    ['a record that is not an object', '[1]'],
    ['no statusCode', JSON.stringify([{ ...RECORD, statusCode: undefined }])],
    ['an unknown statusCode', JSON.stringify([{ ...RECORD, statusCode: 'Maybe' }])],
    ['no originalMessageId', JSON.stringify([{ ...RECORD, originalMessageId: undefined }])],
    ['a bad time', JSON.stringify([{ ...RECORD, enqueuedTimeUtc: 'soon' }])],
    ['a non-string deviceId', JSON.stringify([{ ...RECORD, deviceId: {} }])],
  ])('malformed: %s -> BadResponseError', (_what, body) => {
    expect(() => parseFeedbackRecords(body)).toThrow(BadResponseError);
  });

  test('a whole feedback message as the hub sends it (through the codec)', () => {
    const bytes = encodeMessage({
      properties: { contentType: FEEDBACK_CONTENT_TYPE, userId: Buffer.from('myhub') },
      messageAnnotations: { 'iothub-enqueuedtime': new Date(1_700_000_000_000), 'x-opt-lock-token': 'lt' },
      body: Buffer.from(JSON.stringify([RECORD, { ...RECORD, statusCode: 'Rejected' }])),
    });
    const parsed = parseFeedbackMessage(decodeMessage(bytes));
    expect(parsed.records.map((r) => r.statusCode)).toEqual(['Success', 'Rejected']);
    expect(parsed.userId).toBe('myhub');
    expect(parsed.enqueuedTime).toEqual(new Date(1_700_000_000_000));
    expect(parsed.lockToken).toBe('lt');
  });
});
