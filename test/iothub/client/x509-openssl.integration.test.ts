/**
 * The emulator README's openssl recipes, run as written: a self-signed device certificate and its
 * SHA-256 thumbprint, and a CA with a device certificate it signs, then our DeviceClient connects
 * with each (the CA given to the hub as `--x509-ca` would give it).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { DeviceClient } from '../../../src/iothub/client/index.js';
import { runCommand } from '../../interop/support/peers.js';
import { cleanup, hubForTest, onCleanup, tempDir } from './hub-fixture.js';

afterEach(cleanup);

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const openssl = hasOpenssl();
if (!openssl) console.warn('x509-openssl.integration.test.ts skipped: no openssl on PATH');

async function sh(dir: string, script: string): Promise<string> {
  const r = await runCommand('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`shell failed (${r.code}):\n${r.output}`);
  return r.stdout;
}

describe.runIf(openssl)('certificates made with openssl as the README says', () => {
  test('a self-signed device by SHA-256 thumbprint, and a device signed by a CA the hub trusts', async () => {
    const dir = await tempDir();
    const print = (
      await sh(
        dir,
        `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \\
  -subj "/CN=thermo-1" -keyout thermo-1.key -out thermo-1.pem 2>/dev/null
openssl x509 -in thermo-1.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :`,
      )
    ).trim();
    await sh(
      dir,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \\
  -subj "/CN=my device CA" -addext basicConstraints=critical,CA:TRUE -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=thermo-2" \\
  -keyout thermo-2.key -out thermo-2.csr 2>/dev/null
openssl x509 -req -in thermo-2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \\
  -extfile <(printf 'extendedKeyUsage=clientAuth') -out thermo-2.pem 2>/dev/null`,
    );
    expect(print).toMatch(/^[0-9A-F]{64}$/);
    const file = (name: string) => readFile(path.join(dir, name), 'utf8');
    const hub = await hubForTest({
      x509Ca: [await file('ca.pem')],
      registry: {
        devices: [
          {
            deviceId: 'thermo-1',
            authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: print } },
          },
          { deviceId: 'thermo-2', authentication: { type: 'certificateAuthority' } },
        ],
      },
    });
    for (const id of ['thermo-1', 'thermo-2']) {
      expect(hub.deviceConnectionString(id)).toBe(`HostName=${hub.hostName};DeviceId=${id};x509=true`);
      const d = DeviceClient.fromConnectionString(hub.deviceConnectionString(id), {
        tls: { ca: hub.caPem, cert: await file(`${id}.pem`), key: await file(`${id}.key`) },
        reconnect: false,
      });
      onCleanup(() => d.close());
      await d.sendEvent(`from ${id}`);
    }
    const stored = ['thermo-1', 'thermo-2'].map((id) => {
      const e = hub.state.openEventCursor(hub.state.telemetry.partitionOf(id));
      for (let ev = e.next(); ev; ev = e.next())
        if (
          (ev.message.messageAnnotations as Record<string, unknown> | undefined)?.[
            'iothub-connection-device-id'
          ] === id
        )
          return id;
      return undefined;
    });
    expect(stored).toEqual(['thermo-1', 'thermo-2']);
  });
});
