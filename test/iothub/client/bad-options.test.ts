/**
 * The IoT Hub clients and the emulator check their options at run time: `{ ca }` where
 * `{ tls: { ca } }` is meant, typos and wrong types are InvalidArgumentErrors before anything
 * connects (in memory: no socket is opened).
 */
import { describe, expect, it } from 'vitest';
import {
  DeviceClient,
  InvalidArgumentError,
  RetryPolicy,
  ServiceClient,
  jsonMessage,
  sasKeyTokenProvider,
} from '../../../src/iothub/client/index.js';
import { startHub } from '../../../src/iothub/emulator/index.js';
import { generateSasToken, verifySasToken } from '../../../src/iothub/sas.js';

const DEVICE = 'HostName=localhost:5671;DeviceId=d1;SharedAccessKey=' + Buffer.from('k').toString('base64');
const SERVICE =
  'HostName=localhost:5671;SharedAccessKeyName=iothubowner;SharedAccessKey=' +
  Buffer.from('k').toString('base64');

function thrown(f: () => unknown): InvalidArgumentError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return e as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

async function rejected(p: () => Promise<unknown>): Promise<InvalidArgumentError> {
  const e = await p().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InvalidArgumentError);
  return e as InvalidArgumentError;
}

describe('DeviceClient options', () => {
  it('fromConnectionString(cs, { ca }) points at tls: { ca }', () => {
    const e = thrown(() => DeviceClient.fromConnectionString(DEVICE, { ca: 'PEM' } as never));
    expect(e.code).toBe('AMQP_INVALID_ARGUMENT');
    expect(e.message).toBe(
      "DeviceClient.fromConnectionString: unknown option 'ca'; did you mean 'tls.ca', that is { tls: { ca } }?",
    );
    expect(e.suggestion).toBe('tls.ca');
  });

  it('typos, nested typos and wrong types', () => {
    expect(
      thrown(() => DeviceClient.fromConnectionString(DEVICE, { c2dcredit: 5 } as never)).suggestion,
    ).toBe('c2dCredit');
    expect(
      thrown(() => DeviceClient.fromConnectionString(DEVICE, { renewal: { marginMS: 5 } } as never))
        .suggestion,
    ).toBe('renewal.marginMs');
    expect(thrown(() => DeviceClient.fromConnectionString(DEVICE, { auth: 'sas' } as never)).message).toBe(
      `DeviceClient.fromConnectionString: option 'auth' must be one of 'cbs', 'plain', got a string of 3 characters`,
    );
    expect(thrown(() => DeviceClient.fromConnectionString(DEVICE, { tls: { ca: 1 } } as never)).option).toBe(
      'tls.ca',
    );
    expect(
      thrown(() => DeviceClient.fromConnectionString(DEVICE, { retryPolicy: { maxAttempt: 2 } } as never))
        .suggestion,
    ).toBe('retryPolicy.maxAttempts');
  });

  it('messages(), onMessage() and sendEvent() check theirs', async () => {
    const device = DeviceClient.fromConnectionString(DEVICE, { tls: { ca: 'PEM' }, reconnect: false });
    expect(thrown(() => device.messages({ signall: undefined, sigal: 1 } as never)).suggestion).toBe(
      'signal',
    );
    expect(thrown(() => device.onMessage(() => {}, { autocomplete: false } as never)).suggestion).toBe(
      'autoComplete',
    );
    expect((await rejected(() => device.sendEvent('x', { timeout: 5 } as never))).suggestion).toBe(
      'timeoutMs',
    );
    await device.close();
  });
});

describe('message fields', () => {
  it("another SDK's field names are errors naming ours", async () => {
    const device = DeviceClient.fromConnectionString(DEVICE, { reconnect: false });
    const e = await rejected(() => device.sendEvent({ body: 'x', message_id: 'm1' } as never));
    expect(e.message).toBe("message: unknown field 'message_id'; did you mean 'messageId'?");
    expect(thrown(() => jsonMessage({ t: 1 }, { application_properties: { a: '1' } } as never)).message).toBe(
      "jsonMessage: unknown field 'application_properties'; did you mean 'properties'?",
    );
    expect((await rejected(() => device.sendEvent({ body: 'x', expiryTime: 5 } as never))).option).toBe(
      'expiryTime',
    );
    await device.close();
  });
});

describe('ServiceClient options', () => {
  it('constructor, send, feedback and events', async () => {
    expect(
      thrown(() => ServiceClient.fromConnectionString(SERVICE, { eventHubTLS: {} } as never)).suggestion,
    ).toBe('eventHubTls');
    const service = ServiceClient.fromConnectionString(SERVICE, { reconnect: false });
    expect((await rejected(() => service.send('d1', 'x', { expiry: 5 } as never))).suggestion).toBe(
      'expiryMs',
    );
    expect(thrown(() => service.feedback({ signals: undefined, sinal: 1 } as never)).suggestion).toBe(
      'signal',
    );
    expect(thrown(() => service.events({ consumergroup: 'g' } as never)).suggestion).toBe('consumerGroup');
    expect(thrown(() => service.events({ prefetch: '5' } as never)).option).toBe('prefetch');
    await service.close();
  });
});

describe('the pieces clients are built from', () => {
  it('RetryPolicy and sasKeyTokenProvider', () => {
    expect(thrown(() => new RetryPolicy({ retries: 3 } as never)).message).toBe(
      "RetryPolicy: unknown option 'retries' (known options: maxAttempts, initialDelayMs, maxDelayMs, jitter, maxElapsedMs, isRetryable, random)",
    );
    expect(thrown(() => new RetryPolicy({ jitter: '0.5' } as never)).option).toBe('jitter');
    expect(thrown(() => sasKeyTokenProvider({ key: 'k', lifetime: 60 } as never)).suggestion).toBe(
      'lifetimeSeconds',
    );
  });
});

describe('SAS tokens', () => {
  it('generateSasToken and verifySasToken name the option meant', () => {
    const key = Buffer.from('k').toString('base64');
    expect(thrown(() => generateSasToken({ resourceUri: 'h', key, expiresIn: 60 } as never)).message).toBe(
      "generateSasToken: unknown option 'expiresIn'; did you mean 'expiresInSeconds'?",
    );
    expect(thrown(() => verifySasToken('x', key, { resourcePrefix: 'h' } as never)).suggestion).toBe(
      'expectedResourcePrefix',
    );
    expect(thrown(() => verifySasToken('x', key, { keyEncoding: 'hex' } as never)).option).toBe(
      'keyEncoding',
    );
  });
});

describe('startHub options', () => {
  it('rejects unknown and mistyped options before listening', async () => {
    expect((await rejected(() => startHub({ tlsport: 0 } as never))).suggestion).toBe('tlsPort');
    expect((await rejected(() => startHub({ maxSessions: 5 } as never))).option).toBe('maxSessions');
    expect((await rejected(() => startHub({ c2d: { maxDeliveryCont: 5 } } as never))).suggestion).toBe(
      'c2d.maxDeliveryCount',
    );
    expect((await rejected(() => startHub({ port: '0' } as never))).option).toBe('port');
    expect((await rejected(() => startHub({ maxConnections: -1 }))).option).toBe('maxConnections');
  });

  it('a negative or fractional limit is refused: it would refuse every message', async () => {
    expect((await rejected(() => startHub({ c2d: { maxQueuedPerDevice: -1 } }))).option).toBe(
      'c2d.maxQueuedPerDevice',
    );
    expect((await rejected(() => startHub({ maxTelemetryBytes: 0.5 }))).option).toBe('maxTelemetryBytes');
  });
});

describe('transport and proxy', () => {
  it('a transport other than amqp or amqp-ws, and a proxy that is not an http:// URL, are refused at once', () => {
    expect(
      thrown(() => DeviceClient.fromConnectionString(DEVICE, { transport: 'ws' as never })).message,
    ).toMatch(/amqp-ws/);
    expect(
      thrown(() => ServiceClient.fromConnectionString(SERVICE, { transport: 'mqtt' as never })).message,
    ).toMatch(/transport/);
    expect(
      thrown(() => DeviceClient.fromConnectionString(DEVICE, { proxy: 'socks5://p:1080' })).message,
    ).toMatch(/http:\/\//);
    expect(
      thrown(() => ServiceClient.fromConnectionString(SERVICE, { proxy: 3128 as never })).message,
    ).toMatch(/proxy/);
    // Well-formed ones are taken.
    const d = DeviceClient.fromConnectionString(DEVICE, {
      transport: 'amqp-ws',
      proxy: new URL('http://u:p@proxy.example:3128'),
    });
    expect(d.hub.options.websocket).toEqual({ path: '/$iothub/websocket' });
  });

  it('the emulator refuses a bad httpsPort', async () => {
    expect((await rejected(() => startHub({ httpsPort: '443' as never }))).message).toMatch(/httpsPort/);
  });
});
