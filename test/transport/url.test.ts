/** parseAmqpUrl's errors: typed, and never carrying the password the URL held. */
import { describe, expect, test } from 'vitest';
import { parseAmqpUrl } from '../../src/transport/url.js';
import { AmqpOneError } from '../../src/codec/errors.js';

function errorOf(url: string): AmqpOneError {
  try {
    parseAmqpUrl(url);
  } catch (e) {
    return e as AmqpOneError;
  }
  throw new Error(`parsed: ${url}`);
}

describe('parseAmqpUrl refusing a URL', () => {
  test.each([
    ['no host', 'amqps://alice:s3cret@:5671'],
    ['not a URL at all', 'amqps://alice:s3cret@ho st:x'],
    ['a password with @ and /', 'wss://alice:s3/cr@et@ho st/'],
    ['a malformed %-escape in the password', 'amqps://alice:s3cret%zz@host'],
    ['a malformed %-escape in the user', 'amqps://s3cret%zz:x@host'],
  ])('%s: AMQP_BAD_URL, and the message has no credentials', (_name, url) => {
    const e = errorOf(url);
    expect(e).toBeInstanceOf(AmqpOneError);
    expect(e.code).toBe('AMQP_BAD_URL');
    expect(e.message).not.toMatch(/s3|cr@et|alice/);
  });
});
