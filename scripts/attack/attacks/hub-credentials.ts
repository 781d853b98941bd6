/** Credentials for the hub's SASL PLAIN, from the connection strings the hub printed at start. */
import { connect, type AmqpConnection } from '../../../src/client/connect.js';
import {
  parseDeviceConnectionString,
  parseServiceConnectionString,
} from '../../../src/iothub/connection-string.js';
import { generateSasToken } from '../../../src/iothub/sas.js';
import { plainClient } from '../../../src/sasl/mechanisms.js';
import { HUB_DEVICES, type ServerInfo } from '../server-process.js';

/** `{device}@sas.{hub}` and a one-hour SAS token for it: what DeviceClient's auth 'plain' sends. */
export function devicePlain(
  info: ServerInfo,
  deviceId: string = HUB_DEVICES[0],
): { username: string; password: string } {
  const cs = parseDeviceConnectionString(info.devices[deviceId]!);
  const password = generateSasToken({
    resourceUri: cs.resourceUri,
    key: cs.sharedAccessKey!,
    expiresInSeconds: 3600,
  });
  return { username: `${deviceId}@sas.${cs.hubName}`, password };
}

/** The `service` policy's name and key (PLAIN with a raw key, as Event Hubs clients do). */
export function servicePlain(info: ServerInfo): { username: string; password: string } {
  const cs = parseServiceConnectionString(info.policies['service']!);
  return { username: cs.sharedAccessKeyName ?? 'service', password: cs.sharedAccessKey! };
}

export function connectPlain(
  info: ServerInfo,
  creds: { username: string; password: string },
): Promise<AmqpConnection> {
  return connect({
    host: info.host,
    port: info.port,
    sasl: plainClient(creds.username, creds.password),
    connectTimeoutMs: 10_000,
  });
}

export const telemetryAddress = (deviceId: string = HUB_DEVICES[0]): string =>
  `/devices/${deviceId}/messages/events`;

export const partitionAddress = (info: ServerInfo, p: number): string =>
  `${info.eventHubName ?? 'amqp-one-hub'}/ConsumerGroups/$Default/Partitions/${p}`;
