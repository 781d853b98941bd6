/**
 * Run-time option checks (src/api/options.ts) against the real schemas: unknown keys name the
 * valid one meant, also across levels (`ca` -> `tls.ca`); wrong types are typed errors; nothing
 * valid is refused. In memory: the checks run before any socket is opened.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api/errors.js';
import { checkOptions, opt, type AnyOptionSchema, type OptionSchema } from '../../src/protocol/options.js';
import { SEND_OPTIONS } from '../../src/api/sender.js';
import { CONNECT_OPTIONS, RECEIVER_OPTIONS, SENDER_OPTIONS } from '../../src/client/connect.js';
import { SERVER_OPTIONS } from '../../src/server/server.js';
import { openSocket } from '../../src/transport/open-socket.js';

function failure(value: unknown, schema: AnyOptionSchema, call = 'connect'): InvalidArgumentError {
  try {
    checkOptions(value, schema, call);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).code).toBe('AMQP_INVALID_ARGUMENT');
    return e as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('unknown options', () => {
  it('a key that belongs one level down is pointed there: ca -> tls.ca', () => {
    const e = failure({ host: 'h', ca: 'PEM' }, CONNECT_OPTIONS);
    expect(e.message).toBe("connect: unknown option 'ca'; did you mean 'tls.ca', that is { tls: { ca } }?");
    expect(e.option).toBe('ca');
    expect(e.suggestion).toBe('tls.ca');
  });

  it('a typo names the key meant', () => {
    expect(failure({ hots: 'h' }, CONNECT_OPTIONS).message).toBe(
      "connect: unknown option 'hots'; did you mean 'host'?",
    );
    expect(failure({ connectTimeout: 5 }, CONNECT_OPTIONS).suggestion).toBe('connectTimeoutMs');
    expect(failure({ adress: 'q' }, SENDER_OPTIONS, 'openSender').message).toBe(
      "openSender: unknown option 'adress'; did you mean 'address'?",
    );
    expect(failure({ prefetch: 10 }, RECEIVER_OPTIONS, 'openReceiver').option).toBe('prefetch');
  });

  it('inside a nested object the path is given, and the suggestion is looked for at that level first', () => {
    const e = failure({ tls: { rejectUnauthorised: false } }, CONNECT_OPTIONS);
    expect(e.message).toBe(
      "connect: unknown option 'tls.rejectUnauthorised'; did you mean 'tls.rejectUnauthorized', that is { tls: { rejectUnauthorized } }?",
    );
    const r = failure({ reconnect: { maxAttempt: 3 } }, CONNECT_OPTIONS);
    expect(r.suggestion).toBe('reconnect.maxAttempts');
  });

  it('a key written one level too deep is pointed back up', () => {
    expect(failure({ tls: { port: 5671 } }, CONNECT_OPTIONS).suggestion).toBe('port');
  });

  it("listen's limits and sasl are nested schemas too", () => {
    expect(failure({ sasl: false, maxConnections: 5 }, SERVER_OPTIONS, 'listen').message).toBe(
      "listen: unknown option 'maxConnections'; did you mean 'limits.maxConnections', that is { limits: { maxConnections } }?",
    );
    expect(failure({ sasl: false, limits: { maxConnection: 5 } }, SERVER_OPTIONS, 'listen').suggestion).toBe(
      'limits.maxConnections',
    );
    expect(failure({ sasl: { anonymus: true } }, SERVER_OPTIONS, 'listen').suggestion).toBe('sasl.anonymous');
    expect(
      failure({ sasl: false, tls: { cert: 'c', key: 'k', requestCerts: true } }, SERVER_OPTIONS, 'listen')
        .suggestion,
    ).toBe('tls.requestCert');
  });

  it('without a close key, the message lists the known ones', () => {
    const e = failure({ timeoutMs: 5, bogus: 1 }, SEND_OPTIONS, 'send');
    expect(e.message).toBe(
      "send: unknown option 'bogus' (known options: timeoutMs, signal, presettled, tag)",
    );
    expect(e.suggestion).toBeUndefined();
  });

  it('a key with the value undefined is the default, not an error', () => {
    expect(() =>
      checkOptions({ host: 'h', ca: undefined, port: undefined }, CONNECT_OPTIONS, 'connect'),
    ).not.toThrow();
  });
});

describe('wrong types', () => {
  it('numbers, booleans and enums', () => {
    expect(failure({ port: '5672' }, CONNECT_OPTIONS).message).toBe(
      `connect: option 'port' must be a number, got a string of 4 characters`,
    );
    expect(failure({ port: Number.NaN }, CONNECT_OPTIONS).option).toBe('port');
    expect(failure({ tls: 'yes' }, CONNECT_OPTIONS).message).toBe(
      `connect: option 'tls' must be true or false or TLS options, got a string of 3 characters`,
    );
    expect(failure({ sasl: 'plain' }, CONNECT_OPTIONS).message).toBe(
      `connect: option 'sasl' must be one of 'ANONYMOUS', 'PLAIN', 'EXTERNAL', 'none' or an object, got a string of 5 characters`,
    );
    expect(failure({ credit: 'many' }, RECEIVER_OPTIONS, 'openReceiver').option).toBe('credit');
    expect(failure({ sndSettleMode: 7 }, SENDER_OPTIONS, 'openSender').option).toBe('sndSettleMode');
    expect(failure({ signal: {} }, SEND_OPTIONS, 'send').message).toBe(
      "send: option 'signal' must be an AbortSignal, got an object",
    );
  });

  it('inside nested objects', () => {
    expect(failure({ tls: { rejectUnauthorized: 'no' } }, CONNECT_OPTIONS).option).toBe(
      'tls.rejectUnauthorized',
    );
    expect(failure({ tls: { ca: 42 } }, CONNECT_OPTIONS).option).toBe('tls.ca');
    expect(failure({ sasl: false, limits: { maxLinks: '10' } }, SERVER_OPTIONS, 'listen').message).toBe(
      `listen: option 'limits.maxLinks' must be a non-negative integer, got a string of 2 characters`,
    );
    expect(failure({ source: { dynamic: 'yes' } }, RECEIVER_OPTIONS, 'openReceiver').option).toBe(
      'source.dynamic',
    );
  });

  it('an options argument that is not an object', () => {
    expect(failure(42, CONNECT_OPTIONS).message).toBe('connect: expected an options object, got number 42');
    expect(failure(null, CONNECT_OPTIONS).message).toBe('connect: expected an options object, got null');
    expect(failure(['host'], CONNECT_OPTIONS).message).toBe(
      'connect: expected an options object, got an array',
    );
  });
});

describe('openSocket', () => {
  it('rejects an unknown option before opening anything', async () => {
    const e = await openSocket({
      host: '127.0.0.1',
      port: 1,
      tls: { ca: 'PEM', servrname: 'h' },
    } as never).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).suggestion).toBe('tls.servername');
  });
});

describe('valid options pass', () => {
  it('every documented shape', () => {
    const pass = (v: unknown, s: AnyOptionSchema) => expect(() => checkOptions(v, s, 'x')).not.toThrow();
    pass(undefined, CONNECT_OPTIONS);
    pass({}, CONNECT_OPTIONS);
    pass(
      {
        host: 'h',
        port: 5671,
        tls: { ca: ['a', Buffer.from('b')], servername: 'h', rejectUnauthorized: true },
        sasl: 'PLAIN',
        reconnect: { initialDelayMs: 1, resend: 'at-least-once', beforeConnect: async () => {} },
        signal: new AbortController().signal,
        properties: { product: 'x' },
        maxFrameSize: 65536,
      },
      CONNECT_OPTIONS,
    );
    pass({ tls: true, reconnect: false, sasl: { name: 'X', start: () => Buffer.alloc(0) } }, CONNECT_OPTIONS);
    pass(
      { address: 'q', source: null, target: { address: 'q', durable: 1 }, maxMessageSize: 10n },
      SENDER_OPTIONS,
    );
    pass(
      { credit: 'manual', source: { address: 'q', filter: {}, type: 'source' }, autoAccept: true },
      RECEIVER_OPTIONS,
    );
    pass(
      { sasl: false, limits: { maxConnections: 1 }, tls: { cert: 'c', key: 'k' }, onLink() {} },
      SERVER_OPTIONS,
    );
    pass({ tag: Buffer.from('t'), presettled: false, timeoutMs: 5 }, SEND_OPTIONS);
  });
});

describe('schemas and interfaces cannot drift apart', () => {
  it('a rule missing for a key of the interface, or a rule for a key it lacks, fails to compile', () => {
    interface Two {
      a?: number;
      b?: string;
    }
    // @ts-expect-error: 'b' has no rule
    const missing = { a: opt.number } satisfies OptionSchema<Two>;
    // @ts-expect-error: 'c' is not an option of Two
    const extra = { a: opt.number, b: opt.string, c: opt.boolean } satisfies OptionSchema<Two>;
    expect(Object.keys(missing)).toEqual(['a']);
    expect(Object.keys(extra)).toEqual(['a', 'b', 'c']);
  });
});
