/**
 * TLS material for the emulator. Given `cert` and `key` (PEM), those are served. Otherwise a CA and
 * a server certificate for localhost / 127.0.0.1 / ::1 are made at start (pure JS, see
 * src/pki/certificates.ts) and the CA is written to a file that clients trust
 * (`NODE_EXTRA_CA_CERTS=<file>`, the device client's `ca` option, uAMQP's `verify=<file>`):
 * - with a state directory, `<stateDir>/tls/ca.pem` (and its key, mode 0600, in a 0700 folder),
 *   kept across restarts so that it is trusted once;
 * - without one, a fresh temporary directory, removed at close.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../pki/certificates.js';
import { ensurePrivateDir, tightenFile, writePrivateFile } from '../hub/private-files.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** The CA that signed `cert`, when the emulator made it. */
  caPem?: string;
  caFile?: string;
  /** Removes temporary files. */
  cleanup(): Promise<void>;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function prepareTls(o: {
  cert?: string;
  key?: string;
  ca?: string;
  stateDir?: string;
  dnsNames?: string[];
}): Promise<TlsMaterial> {
  if (o.cert !== undefined || o.key !== undefined) {
    if (o.cert === undefined || o.key === undefined)
      throw new TypeError('startHub: give both cert and key (PEM), or neither');
    return {
      cert: o.cert,
      key: o.key,
      ...(o.ca === undefined ? {} : { caPem: o.ca }),
      cleanup: async () => {},
    };
  }
  let dir: string;
  let temporary = false;
  let ca: { certPem: string; keyPem: string } | undefined;
  if (o.stateDir !== undefined) {
    dir = path.join(path.resolve(o.stateDir), 'tls');
    await ensurePrivateDir(dir);
    await tightenFile(path.join(dir, 'ca-key.pem')); // from an older run, perhaps 0644
    const certPem = await readIfExists(path.join(dir, 'ca.pem'));
    const keyPem = await readIfExists(path.join(dir, 'ca-key.pem'));
    if (certPem !== undefined && keyPem !== undefined) ca = { certPem, keyPem };
  } else {
    dir = await mkdtemp(path.join(tmpdir(), 'amqp-one-hub-tls-'));
    temporary = true;
  }
  const caFile = path.join(dir, 'ca.pem');
  if (!ca) {
    const made = createCertificateAuthority({
      commonName: 'amqp-one IoT Hub emulator CA',
      organization: 'amqp-one',
      validDays: 3650,
    });
    ca = { certPem: made.certPem, keyPem: made.keyPem };
    await writePrivateFile(path.join(dir, 'ca-key.pem'), ca.keyPem);
    await writeFile(caFile, ca.certPem);
  }
  const server = issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost', ...(o.dnsNames ?? [])],
    ipAddresses: ['127.0.0.1', '::1'],
    validDays: 365,
    usage: 'server',
  });
  return {
    cert: server.certPem,
    key: server.keyPem,
    caPem: ca.certPem,
    caFile,
    cleanup: async () => {
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}
