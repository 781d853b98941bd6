/**
 * What every `amqp-one iothub` command shares: the common options, the connection string (from
 * --connection-string or IOTHUB_CONNECTION_STRING) with the CA to trust, the registry's REST client,
 * JSON arguments and the interrupt that ends a long-running command.
 */
import { readFileSync } from 'node:fs';
import { RegistryClient } from '../iothub/client/index.js';
import { port, UsageError } from './args.js';

export const COMMON_HELP = `Common: --connection-string CS (or IOTHUB_CONNECTION_STRING: a service string, or a device
string for simulate-device and receive-c2d), --ca FILE (a CA to trust, e.g. the emulator's), --json
(one JSON object per line on stdout).`;

export const common = {
  'connection-string': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
  count: { type: 'string', short: 'c' },
} as const;

export function setup(v: { 'connection-string'?: string; ca?: string }): {
  cs: string;
  tls: { ca?: Buffer };
} {
  const cs = v['connection-string'] ?? process.env.IOTHUB_CONNECTION_STRING;
  if (!cs) throw new UsageError('give --connection-string or set IOTHUB_CONNECTION_STRING');
  return { cs, tls: { ca: v.ca ? readFileSync(v.ca) : undefined } };
}

/** The registry's REST client; --port is the HTTPS port when the HostName names the AMQPS one. */
export function registryOf(v: { 'connection-string'?: string; ca?: string; port?: string }): RegistryClient {
  const { cs, tls } = setup(v);
  const httpsPort = v.port === undefined ? undefined : port(v.port, 'port', 443);
  return RegistryClient.fromConnectionString(cs, {
    tls,
    ...(httpsPort === undefined ? {} : { port: httpsPort }),
  });
}

/** Stops on SIGINT/SIGTERM: an AbortSignal for the streams. */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}

/** A JSON argument, parsed; text that is not JSON is a usage error naming the option. */
export function jsonArg(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`--${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A JSON object argument (a patch): anything else is a usage error. */
export function jsonObjectArg(text: string, name: string): Record<string, unknown> {
  const v = jsonArg(text, name);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new UsageError(`--${name} must be a JSON object, got ${text}`);
  return v as Record<string, unknown>;
}

/** `<deviceId>[/<moduleId>]`, the target of invoke-method and twin. */
export function identityArg(
  arg: string | undefined,
  command: string,
): { deviceId: string; moduleId?: string } {
  if (arg === undefined) throw new UsageError(`${command} needs <deviceId>[/<moduleId>]`);
  const slash = arg.indexOf('/');
  const deviceId = slash < 0 ? arg : arg.slice(0, slash);
  const moduleId = slash < 0 ? undefined : arg.slice(slash + 1);
  if (deviceId === '' || moduleId === '' || moduleId?.includes('/'))
    throw new UsageError(`${command}: ${arg} is not <deviceId>[/<moduleId>]`);
  return moduleId === undefined ? { deviceId } : { deviceId, moduleId };
}
