/**
 * A hub whose certificate the client does not trust (a real TLS listener of the emulator, and a CA
 * of our own that did not sign it): every way of reading from the hub ends with the typed
 * TlsVerificationError, as a rejection the caller holds, never as an uncaught exception or an
 * unhandled rejection.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DeviceClient, ServiceClient, type C2DMessage } from '../../../src/iothub/client/index.js';
import { TlsVerificationError } from '../../../src/iothub/errors.js';
import { createCertificateAuthority } from '../../../src/pki/certificates.js';
import { startHub } from '../../../src/iothub/emulator/index.js';
import { cleanup, hubForTest, onCleanup, type IotHubEmulator } from './hub-fixture.js';

const stranger = createCertificateAuthority({ commonName: 'a CA the hub does not use', validDays: 1 });

/** Whatever escapes to the process while a test runs. */
let escaped: unknown[] = [];
const onEscape = (e: unknown): void => void escaped.push(e);
beforeEach(() => {
  escaped = [];
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterEach(async () => {
  await cleanup();
  // One turn of the event loop: a rejection nobody handled is reported by then.
  await new Promise((r) => setImmediate(r));
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  expect(escaped).toEqual([]);
});

async function untrustingDevice(): Promise<{ hub: IotHubEmulator; device: DeviceClient }> {
  const hub = await hubForTest({ devices: ['d1'] });
  const device = DeviceClient.fromConnectionString(hub.deviceConnectionString('d1'), {
    tls: { ca: stranger.certPem },
  });
  onCleanup(() => device.close());
  return { hub, device };
}

/** Runs the loop the README shows and returns what it threw. */
async function loopError(it: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const m of it) void m;
  } catch (e) {
    return e;
  }
  throw new Error('the loop ended without an error');
}

describe('an untrusted hub certificate', () => {
  test('for await of device.messages() rejects with TlsVerificationError (the first next() rejects)', async () => {
    const { device } = await untrustingDevice();
    const err = await loopError(device.messages());
    expect(err).toBeInstanceOf(TlsVerificationError);
    expect((err as TlsVerificationError).code).toBe('IOTHUB_TLS_VERIFICATION_FAILED');
    expect((err as TlsVerificationError).retryable).toBe(false);
  });

  test('device.open() and a messages() loop started together both get the typed error', async () => {
    const { device } = await untrustingDevice();
    const loop = loopError(device.messages());
    const opened = device.open().then(
      () => 'opened',
      (e: unknown) => e,
    );
    expect(await opened).toBeInstanceOf(TlsVerificationError);
    expect(await loop).toBeInstanceOf(TlsVerificationError);
  });

  test('onMessage reports it as an error event to a listener', async () => {
    const { device } = await untrustingDevice();
    const handled: C2DMessage[] = [];
    device.onMessage((m) => void handled.push(m));
    const err = await new Promise((resolve) => device.once('error', resolve));
    expect(err).toBeInstanceOf(TlsVerificationError);
    expect(handled).toEqual([]);
  });

  test('a hub that comes back with a certificate not trusted ends a running loop with the typed error', async () => {
    const first = await startHub({ port: 0, tlsPort: 0, devices: ['d1'] });
    onCleanup(() => first.close());
    const device = DeviceClient.fromConnectionString(first.deviceConnectionString('d1'), {
      tls: { ca: first.caPem },
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    onCleanup(() => device.close());
    await device.open();
    const messages = device.messages();
    const loop = loopError(messages);
    const tlsPort = first.tlsPort!;
    await first.close();
    // The same address, a new certificate authority: the reconnect fails verification and gives up.
    const second = await startHub({ port: 0, tlsPort, devices: ['d1'] });
    onCleanup(() => second.close());
    const err = await loop;
    expect(err).toBeInstanceOf(TlsVerificationError);
    expect(device.connected).toBe(false);
  });

  test('ServiceClient.feedback() and events() reject with it too', async () => {
    const hub = await hubForTest({ devices: ['d1'] });
    const service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), {
      tls: { ca: stranger.certPem },
    });
    onCleanup(() => service.close());
    expect(await loopError(service.feedback())).toBeInstanceOf(TlsVerificationError);
    expect(await loopError(service.events())).toBeInstanceOf(TlsVerificationError);
  });
});
