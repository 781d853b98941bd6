/**
 * Connection strings (../../docs/iothub-protocol.md, section 1): `;`-separated `Key=Value` pairs.
 *
 * Parsing rules (the same for the three kinds):
 * - a pair splits at its FIRST `=` (values such as keys and SAS tokens contain `=`);
 * - whitespace around a pair, key or value is ignored, and so are empty pairs (a trailing `;`);
 * - keys are matched case-INSENSITIVELY and reported in their canonical spelling: the .NET SDKs
 *   (`StringComparer.OrdinalIgnoreCase`) and the Python SDKs accept any case, the Node and C SDKs
 *   only the canonical one; so everything the strict SDKs accept is read the same way here, and the
 *   builders always write the canonical spelling;
 * - a key given twice is an error (the Node SDK keeps the last one, .NET throws): it is ambiguous;
 * - an empty value is an error (the Node SDK would silently drop the pair);
 * - unknown keys are ignored (real strings carry extras such as `TransportType`).
 *
 * Each kind is a class: `X.parse(text)` (or `parseXConnectionString(text)`), `new X(fields)` (the
 * same checks), and `toString()` (the builder: canonical key order and spelling).
 * Every failure is an {@link IotHubConfigError} (code 'IOTHUB_BAD_CONNECTION_STRING') whose message and
 * `key` name the missing or bad key. Messages never repeat secret values.
 */
import { IotHubConfigError } from './errors.js';
import { isBase64Key, parseSasToken } from './sas-token.js';

/** A host with its optional port, as split from `HostName=localhost:5671`. */
export interface HostAndPort {
  /** Host name or IP address (an IPv6 address without its brackets). */
  host: string;
  /** The port when one was written, else undefined (the caller picks the default: 5671, 443, 5672). */
  port: number | undefined;
}

const HOST_LABELS = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function fail(message: string, key?: string, cause?: unknown): never {
  throw new IotHubConfigError(
    message,
    key,
    'IOTHUB_BAD_CONNECTION_STRING',
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Splits `host`, `host:port` or `[ipv6]:port`. `key` names the field in errors. Throws IotHubConfigError
 * for a scheme, a path, an empty host or a port outside 1-65535.
 */
export function splitHostPort(value: string, key = 'HostName'): HostAndPort {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
    fail(`${key} must be a host name (with an optional :port), not a URL`, key);
  }
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (!IPV6.test(host) || !host.includes(':')) fail(`${key} has a bad IPv6 address`, key);
  } else {
    const colon = value.indexOf(':');
    if (colon >= 0 && value.indexOf(':', colon + 1) >= 0) {
      fail(`${key} has more than one ":" (write an IPv6 address in brackets: [::1]:5671)`, key);
    }
    host = colon >= 0 ? value.slice(0, colon) : value;
    portText = colon >= 0 ? value.slice(colon + 1) : undefined;
    if (host.length === 0) fail(`${key} has an empty host`, key);
    if (!HOST_LABELS.test(host)) fail(`${key} is not a valid host name`, key);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) fail(`${key} has a bad port (expected 1-65535)`, key);
  }
  return { host, port };
}

/** The IoT hub name of a host: its first DNS label (`myhub.azure-devices.net` -> `myhub`); an IP address as is. */
export function hubNameOf(host: string): string {
  if (host.includes(':') || IPV4.test(host)) return host;
  return host.split('.')[0]!;
}

/** Reads `;`-separated pairs, keeping the keys in `known` (by canonical name); see the module comment. */
function readPairs<K extends string>(text: unknown, kind: string, known: readonly K[]): Map<K, string> {
  if (typeof text !== 'string') fail(`a ${kind} connection string must be a string`);
  const byLowerCase = new Map(known.map((k) => [k.toLowerCase(), k] as const));
  const pairs = new Map<K, string>();
  text.split(';').forEach((raw, index) => {
    const part = raw.trim();
    if (part.length === 0) return;
    const eq = part.indexOf('=');
    if (eq < 0) fail(`${kind} connection string: part ${index + 1} is not Key=Value`);
    const name = part.slice(0, eq).trim();
    if (name.length === 0) fail(`${kind} connection string: part ${index + 1} has an empty key`);
    const key = byLowerCase.get(name.toLowerCase());
    if (key === undefined) return;
    const value = part.slice(eq + 1).trim();
    if (value.length === 0) fail(`${kind} connection string: ${key} is empty`, key);
    if (pairs.has(key)) fail(`${kind} connection string: ${key} appears more than once`, key);
    pairs.set(key, value);
  });
  return pairs;
}

/** A value given to a builder must survive `toString` then `parse`. */
function checkValue(kind: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    fail(`${kind} connection string: ${key} is missing`, key);
  if (value.includes(';')) fail(`${kind} connection string: ${key} cannot contain ";"`, key);
  if (value.trim() !== value)
    fail(`${kind} connection string: ${key} has leading or trailing whitespace`, key);
  return value;
}

function optionalValue(kind: string, key: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : checkValue(kind, key, value);
}

function checkBase64Key(kind: string, key: string, value: string): string {
  if (!isBase64Key(value)) fail(`${kind} connection string: ${key} is not base64`, key);
  return value;
}

function checkSasToken(kind: string, key: string, value: string): string {
  try {
    parseSasToken(value);
  } catch (e) {
    fail(`${kind} connection string: ${key} is not a valid SAS token (${(e as Error).message})`, key, e);
  }
  return value;
}

function parseBoolean(kind: string, key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fail(`${kind} connection string: ${key} must be true or false`, key);
}

function join(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  return pairs
    .filter((p): p is readonly [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

/* ------------------------------------------------------------------ service */

/** The fields of a service connection string. */
export interface ServiceConnectionStringFields {
  /** `host` or `host:port`. */
  hostName: string;
  /** The policy: required with `sharedAccessKey`. */
  sharedAccessKeyName?: string;
  /** The policy's base64 key. Exactly one of `sharedAccessKey` and `sharedAccessSignature`. */
  sharedAccessKey?: string;
  /** A ready-made SAS token (the .NET form of a service connection string). */
  sharedAccessSignature?: string;
}

const SERVICE = 'service';
const SERVICE_KEYS = ['HostName', 'SharedAccessKeyName', 'SharedAccessKey', 'SharedAccessSignature'] as const;

/** `HostName=h;SharedAccessKeyName=p;SharedAccessKey=k` (or `...;SharedAccessSignature=<token>`). */
export class ServiceConnectionString {
  /** As written: `myhub.azure-devices.net` or `localhost:5671`. The Node SDKs sign with this (port included). */
  readonly hostName: string;
  readonly host: string;
  readonly port: number | undefined;
  /** The first label of the host. */
  readonly hubName: string;
  readonly sharedAccessKeyName: string | undefined;
  readonly sharedAccessKey: string | undefined;
  readonly sharedAccessSignature: string | undefined;

  constructor(fields: ServiceConnectionStringFields) {
    this.hostName = checkValue(SERVICE, 'HostName', fields.hostName);
    ({ host: this.host, port: this.port } = splitHostPort(this.hostName));
    this.hubName = hubNameOf(this.host);
    this.sharedAccessKeyName = optionalValue(SERVICE, 'SharedAccessKeyName', fields.sharedAccessKeyName);
    const key = optionalValue(SERVICE, 'SharedAccessKey', fields.sharedAccessKey);
    const sas = optionalValue(SERVICE, 'SharedAccessSignature', fields.sharedAccessSignature);
    if (key !== undefined && sas !== undefined) {
      fail(
        'service connection string: give SharedAccessKey or SharedAccessSignature, not both',
        'SharedAccessKey',
      );
    }
    if (key === undefined && sas === undefined) {
      fail('service connection string: SharedAccessKey is missing', 'SharedAccessKey');
    }
    if (key !== undefined && this.sharedAccessKeyName === undefined) {
      fail('service connection string: SharedAccessKeyName is missing', 'SharedAccessKeyName');
    }
    this.sharedAccessKey = key === undefined ? undefined : checkBase64Key(SERVICE, 'SharedAccessKey', key);
    this.sharedAccessSignature =
      sas === undefined ? undefined : checkSasToken(SERVICE, 'SharedAccessSignature', sas);
  }

  /** Parses `HostName=...;SharedAccessKeyName=...;SharedAccessKey=...`; throws a typed error on a bad one. */
  static parse(text: string): ServiceConnectionString {
    const p = readPairs(text, SERVICE, SERVICE_KEYS);
    if (!p.has('HostName')) fail('service connection string: HostName is missing', 'HostName');
    return new ServiceConnectionString({
      hostName: p.get('HostName')!,
      sharedAccessKeyName: p.get('SharedAccessKeyName'),
      sharedAccessKey: p.get('SharedAccessKey'),
      sharedAccessSignature: p.get('SharedAccessSignature'),
    });
  }

  /** The connection string, in the hub's own order. */
  toString(): string {
    return join([
      ['HostName', this.hostName],
      ['SharedAccessKeyName', this.sharedAccessKeyName],
      ['SharedAccessKey', this.sharedAccessKey],
      ['SharedAccessSignature', this.sharedAccessSignature],
    ]);
  }
}

/** Same as {@link ServiceConnectionString.parse}. */
export function parseServiceConnectionString(text: string): ServiceConnectionString {
  return ServiceConnectionString.parse(text);
}

/* ------------------------------------------------------------------- device */

/** The fields of a device (or module) connection string. */
export interface DeviceConnectionStringFields {
  /** `host` or `host:port`: the hub, which SAS tokens are signed for. */
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** Connect here instead of `hostName` (IoT Edge): `host` or `host:port`. */
  gatewayHostName?: string;
  /** The device's (or the policy's) base64 key. Exactly one of sharedAccessKey, sharedAccessSignature, x509. */
  sharedAccessKey?: string;
  /** Set when `sharedAccessKey` is a policy key (tokens then carry `skn`). Only with `sharedAccessKey`. */
  sharedAccessKeyName?: string;
  /** A ready-made SAS token. */
  sharedAccessSignature?: string;
  /** X.509 authentication (`x509=true`): identity from the TLS client certificate. */
  x509?: boolean;
}

/** How a device connection string authenticates. */
export type DeviceAuthentication = 'shared-access-key' | 'shared-access-signature' | 'x509';

const DEVICE = 'device';
const DEVICE_KEYS = [
  'HostName',
  'DeviceId',
  'ModuleId',
  'GatewayHostName',
  'SharedAccessKeyName',
  'SharedAccessKey',
  'SharedAccessSignature',
  'x509',
] as const;

/**
 * `HostName=h;DeviceId=d;SharedAccessKey=k` | `SharedAccessSignature=<token>` | `x509=true`,
 * optional `ModuleId`, `GatewayHostName`, `SharedAccessKeyName`. `x509=false` counts as absent.
 */
export class DeviceConnectionString {
  /** As written: `myhub.azure-devices.net` or `localhost:5671`. */
  readonly hostName: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly hubName: string;
  readonly deviceId: string;
  readonly moduleId: string | undefined;
  readonly gatewayHostName: string | undefined;
  readonly gatewayHost: string | undefined;
  readonly gatewayPort: number | undefined;
  readonly sharedAccessKeyName: string | undefined;
  readonly sharedAccessKey: string | undefined;
  readonly sharedAccessSignature: string | undefined;
  readonly x509: boolean;
  readonly authentication: DeviceAuthentication;

  constructor(fields: DeviceConnectionStringFields) {
    this.hostName = checkValue(DEVICE, 'HostName', fields.hostName);
    ({ host: this.host, port: this.port } = splitHostPort(this.hostName));
    this.hubName = hubNameOf(this.host);
    this.deviceId = checkValue(DEVICE, 'DeviceId', fields.deviceId);
    this.moduleId = optionalValue(DEVICE, 'ModuleId', fields.moduleId);
    this.gatewayHostName = optionalValue(DEVICE, 'GatewayHostName', fields.gatewayHostName);
    if (this.gatewayHostName !== undefined) {
      ({ host: this.gatewayHost, port: this.gatewayPort } = splitHostPort(
        this.gatewayHostName,
        'GatewayHostName',
      ));
    }
    this.sharedAccessKeyName = optionalValue(DEVICE, 'SharedAccessKeyName', fields.sharedAccessKeyName);
    const key = optionalValue(DEVICE, 'SharedAccessKey', fields.sharedAccessKey);
    const sas = optionalValue(DEVICE, 'SharedAccessSignature', fields.sharedAccessSignature);
    if (fields.x509 !== undefined && typeof fields.x509 !== 'boolean') {
      fail('device connection string: x509 must be true or false', 'x509');
    }
    this.x509 = fields.x509 === true;
    const given = [key !== undefined, sas !== undefined, this.x509].filter(Boolean).length;
    if (given === 0) {
      fail(
        'device connection string: SharedAccessKey is missing (or give SharedAccessSignature or x509=true)',
        'SharedAccessKey',
      );
    }
    if (given > 1) {
      const names = [
        key !== undefined ? 'SharedAccessKey' : undefined,
        sas !== undefined ? 'SharedAccessSignature' : undefined,
        this.x509 ? 'x509' : undefined,
      ].filter((n) => n !== undefined);
      fail(`device connection string: give only one of ${names.join(', ')}`, names[1]);
    }
    if (this.sharedAccessKeyName !== undefined && key === undefined) {
      fail(
        'device connection string: SharedAccessKeyName is only valid with SharedAccessKey',
        'SharedAccessKeyName',
      );
    }
    this.sharedAccessKey = key === undefined ? undefined : checkBase64Key(DEVICE, 'SharedAccessKey', key);
    this.sharedAccessSignature =
      sas === undefined ? undefined : checkSasToken(DEVICE, 'SharedAccessSignature', sas);
    this.authentication = this.x509
      ? 'x509'
      : sas !== undefined
        ? 'shared-access-signature'
        : 'shared-access-key';
  }

  /** Where to open the connection: the gateway when there is one, else the hub. */
  get connectHost(): HostAndPort {
    return this.gatewayHost !== undefined
      ? { host: this.gatewayHost, port: this.gatewayPort }
      : { host: this.host, port: this.port };
  }

  /** The unencoded resource a token is signed for: `hostName/devices/<id>[/modules/<id>]` (always the hub, never the gateway). */
  get resourceUri(): string {
    const device = `${this.hostName}/devices/${this.deviceId}`;
    return this.moduleId === undefined ? device : `${device}/modules/${this.moduleId}`;
  }

  /** Parses `HostName=...;DeviceId=...;SharedAccessKey=...`; throws a typed error on a bad one. */
  static parse(text: string): DeviceConnectionString {
    const p = readPairs(text, DEVICE, DEVICE_KEYS);
    if (!p.has('HostName')) fail('device connection string: HostName is missing', 'HostName');
    if (!p.has('DeviceId')) fail('device connection string: DeviceId is missing', 'DeviceId');
    const x509 = p.get('x509');
    return new DeviceConnectionString({
      hostName: p.get('HostName')!,
      deviceId: p.get('DeviceId')!,
      moduleId: p.get('ModuleId'),
      gatewayHostName: p.get('GatewayHostName'),
      sharedAccessKeyName: p.get('SharedAccessKeyName'),
      sharedAccessKey: p.get('SharedAccessKey'),
      sharedAccessSignature: p.get('SharedAccessSignature'),
      x509: x509 === undefined ? undefined : parseBoolean(DEVICE, 'x509', x509),
    });
  }

  /** The connection string, in the hub's own order. */
  toString(): string {
    return join([
      ['HostName', this.hostName],
      ['DeviceId', this.deviceId],
      ['ModuleId', this.moduleId],
      ['SharedAccessKeyName', this.sharedAccessKeyName],
      ['SharedAccessKey', this.sharedAccessKey],
      ['SharedAccessSignature', this.sharedAccessSignature],
      ['x509', this.x509 ? 'true' : undefined],
      ['GatewayHostName', this.gatewayHostName],
    ]);
  }
}

/** Same as {@link DeviceConnectionString.parse}. */
export function parseDeviceConnectionString(text: string): DeviceConnectionString {
  return DeviceConnectionString.parse(text);
}

/* --------------------------------------------------------------- event hubs */

/** The fields of an Event Hubs connection string. */
export interface EventHubsConnectionStringFields {
  /** `sb://host[:port]/` (the trailing slash, and the `sb://` scheme, may be left out). */
  endpoint: string;
  /** Required with `sharedAccessKey`. */
  sharedAccessKeyName?: string;
  /** The key, used as a UTF-8 string (not base64-decoded) by Event Hubs clients. */
  sharedAccessKey?: string;
  /** A ready-made SAS token, instead of a key. */
  sharedAccessSignature?: string;
  /** The event hub name. */
  entityPath?: string;
  /** Plain TCP (no TLS), default port 5672. */
  useDevelopmentEmulator?: boolean;
}

const EVENT_HUBS = 'Event Hubs';
const EVENT_HUBS_KEYS = [
  'Endpoint',
  'SharedAccessKeyName',
  'SharedAccessKey',
  'SharedAccessSignature',
  'EntityPath',
  'UseDevelopmentEmulator',
] as const;

/** `Endpoint=sb://ns/;SharedAccessKeyName=p;SharedAccessKey=k[;EntityPath=e][;UseDevelopmentEmulator=true]`. */
export class EventHubsConnectionString {
  /** Normalised: `sb://host[:port]/`. */
  readonly endpoint: string;
  readonly host: string;
  /** The port written in the endpoint, if any. */
  readonly port: number | undefined;
  /** `port`, else 5672 with the development emulator, else 5671. */
  readonly effectivePort: number;
  /** False with the development emulator (plain TCP). */
  readonly tls: boolean;
  readonly sharedAccessKeyName: string | undefined;
  readonly sharedAccessKey: string | undefined;
  readonly sharedAccessSignature: string | undefined;
  readonly entityPath: string | undefined;
  readonly useDevelopmentEmulator: boolean;

  constructor(fields: EventHubsConnectionStringFields) {
    const endpoint = checkValue(EVENT_HUBS, 'Endpoint', fields.endpoint);
    const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?([^/?#]*)\/?$/.exec(endpoint);
    if (!m) fail('Event Hubs connection string: Endpoint must be sb://host[:port]/ (no path)', 'Endpoint');
    if (m[1] !== undefined && m[1].toLowerCase() !== 'sb') {
      fail('Event Hubs connection string: Endpoint must use the sb:// scheme', 'Endpoint');
    }
    if (m[2]!.length === 0) fail('Event Hubs connection string: Endpoint has an empty host', 'Endpoint');
    ({ host: this.host, port: this.port } = splitHostPort(m[2]!, 'Endpoint'));
    this.endpoint = `sb://${m[2]!}/`;
    if (fields.useDevelopmentEmulator !== undefined && typeof fields.useDevelopmentEmulator !== 'boolean') {
      fail(
        'Event Hubs connection string: UseDevelopmentEmulator must be true or false',
        'UseDevelopmentEmulator',
      );
    }
    this.useDevelopmentEmulator = fields.useDevelopmentEmulator === true;
    this.tls = !this.useDevelopmentEmulator;
    this.effectivePort = this.port ?? (this.useDevelopmentEmulator ? 5672 : 5671);
    this.sharedAccessKeyName = optionalValue(EVENT_HUBS, 'SharedAccessKeyName', fields.sharedAccessKeyName);
    this.sharedAccessKey = optionalValue(EVENT_HUBS, 'SharedAccessKey', fields.sharedAccessKey);
    const sas = optionalValue(EVENT_HUBS, 'SharedAccessSignature', fields.sharedAccessSignature);
    if (this.sharedAccessKey !== undefined && sas !== undefined) {
      fail(
        'Event Hubs connection string: give SharedAccessKey or SharedAccessSignature, not both',
        'SharedAccessKey',
      );
    }
    if (this.sharedAccessKey === undefined && sas === undefined) {
      fail('Event Hubs connection string: SharedAccessKey is missing', 'SharedAccessKey');
    }
    if (this.sharedAccessKey !== undefined && this.sharedAccessKeyName === undefined) {
      fail('Event Hubs connection string: SharedAccessKeyName is missing', 'SharedAccessKeyName');
    }
    this.sharedAccessSignature =
      sas === undefined ? undefined : checkSasToken(EVENT_HUBS, 'SharedAccessSignature', sas);
    this.entityPath = optionalValue(EVENT_HUBS, 'EntityPath', fields.entityPath);
  }

  /**
   * Parses `Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=...`; throws a typed
   * error on a bad one.
   */
  static parse(text: string): EventHubsConnectionString {
    const p = readPairs(text, EVENT_HUBS, EVENT_HUBS_KEYS);
    if (!p.has('Endpoint')) fail('Event Hubs connection string: Endpoint is missing', 'Endpoint');
    const emulator = p.get('UseDevelopmentEmulator');
    return new EventHubsConnectionString({
      endpoint: p.get('Endpoint')!,
      sharedAccessKeyName: p.get('SharedAccessKeyName'),
      sharedAccessKey: p.get('SharedAccessKey'),
      sharedAccessSignature: p.get('SharedAccessSignature'),
      entityPath: p.get('EntityPath'),
      useDevelopmentEmulator:
        emulator === undefined ? undefined : parseBoolean(EVENT_HUBS, 'UseDevelopmentEmulator', emulator),
    });
  }

  /** The connection string, in the portal's order. */
  toString(): string {
    return join([
      ['Endpoint', this.endpoint],
      ['SharedAccessKeyName', this.sharedAccessKeyName],
      ['SharedAccessKey', this.sharedAccessKey],
      ['SharedAccessSignature', this.sharedAccessSignature],
      ['EntityPath', this.entityPath],
      ['UseDevelopmentEmulator', this.useDevelopmentEmulator ? 'true' : undefined],
    ]);
  }
}

/** Same as {@link EventHubsConnectionString.parse}. */
export function parseEventHubsConnectionString(text: string): EventHubsConnectionString {
  return EventHubsConnectionString.parse(text);
}
