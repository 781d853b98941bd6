/** Starting the IoT Hub emulator for the client integration tests (real sockets, TLS). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startHub, type IotHubEmulator, type StartHubOptions } from '../../../src/iothub/emulator/index.js';

export type { IotHubEmulator };

const cleanups: (() => Promise<void>)[] = [];

/** A hub on free ports with TLS; closed by {@link cleanup}. */
export async function hubForTest(options: StartHubOptions = {}): Promise<IotHubEmulator> {
  const hub = await startHub({ port: 0, tlsPort: 0, ...options });
  cleanups.push(() => hub.close());
  return hub;
}

/** A temporary directory, removed by {@link cleanup}. */
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'amqp-one-client-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Registers something to close at the end of the test (runs in reverse order). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(async () => {
    await fn();
  });
}

export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    await cleanups.pop()!().catch(() => undefined);
  }
}
