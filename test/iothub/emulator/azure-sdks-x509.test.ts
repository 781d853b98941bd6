/**
 * azure-iot-device 1.18.4, unchanged, with X.509 devices against the emulator on IoT Hub's own
 * ports (AMQPS 5671, HTTPS/WSS 443), with both of azure-iot-device-amqp's transports:
 * - `Amqp`: TLS with the client certificate, the bare AMQP header (no SASL), no CBS;
 * - `AmqpWs`: the same inside `wss://localhost:443/$iothub/websocket`, the certificate given to
 *   the WebSocket's TLS.
 * A self-signed device (by thumbprint) and a CA-signed one (a CA the hub is told to trust) each
 * send telemetry, read back with our ServiceClient, and complete a C2D message our ServiceClient
 * queued; a CA-signed module (X509AuthenticationProvider with a moduleId: the SDK's ModuleClient
 * takes no `x509=true` connection string) sends telemetry; with a certificate the hub does not
 * know the open succeeds (the SDK names its device only in its links) and the first send fails. Each scenario runs in a child process (sdk-support.ts).
 *
 * Binding 443 needs root (or CAP_NET_BIND_SERVICE): CI runs as root and must run these; elsewhere,
 * without root, they are skipped with the reason printed.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient, eventText, type IotHubEvent } from '../../../src/iothub/client/index.js';
import { startHub, type IotHubEmulator } from '../../../src/iothub/emulator/index.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';
import { runSdkScenario } from './sdk-support.js';
import { collect } from '../client/support.js';

const canBind443 = process.getuid?.() === 0 || process.env.CI === 'true';
if (!canBind443)
  console.warn(
    'azure-sdks-x509.test.ts skipped: binding ports 443 and 5671 needs root, and this is neither root nor CI',
  );

const deviceCa = createCertificateAuthority({ commonName: 'sdk device CA', validDays: 2 });

let hub: IotHubEmulator;
let service: ServiceClient;

/** What the child is given: who to be, with which certificate. */
interface Identity {
  deviceId: string;
  moduleId?: string;
  cert: string;
  key: string;
}

const SCENARIO = `
const { Client, ModuleClient, Message, X509AuthenticationProvider } = require('azure-iot-device');
const transports = require('azure-iot-device-amqp');
const Transport = transports[input.transport];
const results = [];
for (const who of input.identities) {
  const x509 = { cert: who.cert, key: who.key };
  let client;
  if (who.moduleId) {
    const auth = new X509AuthenticationProvider({ deviceId: who.deviceId, moduleId: who.moduleId, host: 'localhost', x509 });
    client = ModuleClient.fromAuthenticationProvider(auth, Transport);
  } else {
    client = Client.fromConnectionString('HostName=localhost;DeviceId=' + who.deviceId + ';x509=true', Transport);
    client.setOptions(x509);
  }
  const r = { deviceId: who.deviceId, moduleId: who.moduleId };
  await client.open();
  const m = new Message(input.transport + ' from ' + who.deviceId + (who.moduleId ? '/' + who.moduleId : ''));
  try {
    await client.sendEvent(m);
  } catch (e) {
    // No SASL, no CBS: the hub learns which device the client claims to be from the link.
    r.sendError = e.constructor.name;
    await client.close();
    results.push(r);
    continue;
  }
  if (!who.moduleId) {
    r.c2d = await new Promise((resolve) => {
      client.on('message', async (msg) => {
        await client.complete(msg);
        resolve(msg.data.toString());
      });
    });
  }
  await client.close();
  results.push(r);
}
done(results);
`;

/** The events whose text starts with `prefix`, once `n` of them are in. */
async function events(prefix: string, n: number): Promise<IotHubEvent[]> {
  const mine = (xs: IotHubEvent[]) => xs.filter((e) => eventText(e).startsWith(prefix));
  return mine(await collect(service.events({ from: 'earliest' }), (xs) => mine(xs).length >= n, 20_000));
}

describe.runIf(canBind443)('azure-iot-device with X.509 on ports 443 and 5671', () => {
  beforeAll(async () => {
    hub = await startHub({ port: 0, tlsPort: 5671, httpsPort: 443, x509Ca: [deviceCa.certPem] });
    service = ServiceClient.fromConnectionString(hub.serviceConnectionString(), { tls: { ca: hub.caPem } });
  });

  afterAll(async () => {
    await service?.close();
    await hub?.close();
  });

  describe.each(['Amqp', 'AmqpWs'] as const)('%s', (transport) => {
    it('a self-signed and a CA-signed device send telemetry and complete C2D; a CA-signed module sends', async () => {
      const self = createCertificateAuthority({ commonName: `self-${transport}`, validDays: 1 });
      const selfId = `x509-self-${transport}`;
      const caId = `x509-ca-${transport}`;
      hub.state.registry.addDevice(selfId, {
        authType: 'selfSigned',
        primaryThumbprint: createHash('sha256').update(self.cert.raw).digest('hex'),
      });
      hub.state.registry.addDevice(caId, { authType: 'certificateAuthority' });
      hub.state.registry.addModule(caId, 'm1', { authType: 'certificateAuthority' });
      const ca = issueCertificate(deviceCa, { commonName: caId, validDays: 1, usage: 'client' });
      const mod = issueCertificate(deviceCa, { commonName: `${caId}/m1`, validDays: 1, usage: 'client' });
      // Queued before the devices connect: delivered when their C2D link attaches.
      await service.send(selfId, `c2d for ${selfId}`);
      await service.send(caId, `c2d for ${caId}`);
      const { result } = await runSdkScenario<
        { deviceId: string; moduleId?: string; c2d?: string; sendError?: string }[]
      >(
        SCENARIO,
        {
          transport,
          identities: [
            { deviceId: selfId, cert: self.certPem, key: self.keyPem },
            { deviceId: caId, cert: ca.certPem, key: ca.keyPem },
            { deviceId: caId, moduleId: 'm1', cert: mod.certPem, key: mod.keyPem },
          ] satisfies Identity[],
        },
        { caFile: hub.caFile!, timeoutMs: 60_000 },
      );
      expect(result).toEqual([
        { deviceId: selfId, c2d: `c2d for ${selfId}` },
        { deviceId: caId, c2d: `c2d for ${caId}` },
        { deviceId: caId, moduleId: 'm1' },
      ]);
      expect(hub.state.c2d.depth(selfId)).toBe(0);
      expect(hub.state.c2d.depth(caId)).toBe(0);
      const mine = await events(`${transport} from`, 3);
      expect(
        mine.map((e) => [
          eventText(e),
          e.systemProperties.moduleId,
          (e.systemProperties.authMethod as { type: string }).type,
        ]),
      ).toEqual(
        expect.arrayContaining([
          [`${transport} from ${selfId}`, undefined, 'x509Certificate'],
          [`${transport} from ${caId}`, undefined, 'x509CA'],
          [`${transport} from ${caId}/m1`, 'm1', 'x509CA'],
        ]),
      );
      expect(mine).toHaveLength(3);
    });

    it('a certificate the hub does not know: the first send fails with UnauthorizedError', async () => {
      const id = `x509-unknown-${transport}`;
      hub.state.registry.addDevice(id, {
        authType: 'selfSigned',
        primaryThumbprint: createHash('sha1').update(Buffer.from('another certificate')).digest('hex'),
      });
      const stranger = createCertificateAuthority({ commonName: id, validDays: 1 });
      const { result } = await runSdkScenario<{ sendError?: string }[]>(
        SCENARIO,
        { transport, identities: [{ deviceId: id, cert: stranger.certPem, key: stranger.keyPem }] },
        { caFile: hub.caFile!, timeoutMs: 60_000 },
      );
      expect(result).toEqual([{ deviceId: id, sendError: 'UnauthorizedError' }]);
    });
  });
});
