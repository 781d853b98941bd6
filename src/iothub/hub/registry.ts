/**
 * The identity registry: devices (and their modules) with symmetric keys, and the hub's shared
 * access policies. Pure state plus JSON (de)serialisation; the hub persists it with an atomic
 * JSON file write on every change (it changes rarely, so a snapshot beats a log here).
 *
 * Keys are 32 random bytes in base64, like the real hub's. A generation id is a string of digits
 * (the real hub uses .NET ticks): it changes when a device with the same id is deleted and created
 * again, which is why telemetry and feedback carry it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../../util/timers.js';
import { HubError } from './errors.js';

/** IoT Hub's permissions, as shared access policies grant them. */
export type AccessRight = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';
export const ALL_RIGHTS: readonly AccessRight[] = [
  'RegistryRead',
  'RegistryWrite',
  'ServiceConnect',
  'DeviceConnect',
];

export type DeviceStatus = 'enabled' | 'disabled';
export type ConnectionState = 'Connected' | 'Disconnected';

export interface SharedAccessPolicy {
  keyName: string;
  primaryKey: string;
  secondaryKey: string;
  rights: AccessRight[];
}

export interface ModuleIdentity {
  deviceId: string;
  moduleId: string;
  generationId: string;
  primaryKey: string;
  secondaryKey: string;
  /** Transient: not persisted. */
  connectionState: ConnectionState;
  connectionStateUpdatedTime?: number;
}

export interface DeviceIdentity {
  deviceId: string;
  generationId: string;
  status: DeviceStatus;
  statusReason?: string;
  primaryKey: string;
  secondaryKey: string;
  /** Transient: not persisted. */
  connectionState: ConnectionState;
  connectionStateUpdatedTime?: number;
  lastActivityTime?: number;
  modules: Map<string, ModuleIdentity>;
}

/** What may be given when creating or updating an identity; missing keys are generated. */
export interface IdentitySpec {
  primaryKey?: string;
  secondaryKey?: string;
  status?: DeviceStatus;
  statusReason?: string;
  generationId?: string;
}

/** A fresh shared access key: 32 random bytes, base64. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

const TICKS_AT_EPOCH = 621_355_968_000_000_000n;

/** A generation id: .NET ticks at `now` (18 digits), the low digits random so that ids differ. */
export function generateGenerationId(now: number): string {
  return (
    TICKS_AT_EPOCH +
    BigInt(Math.max(0, Math.floor(now))) * 10_000n +
    BigInt(randomInt(10_000))
  ).toString();
}

/** Device and module ids as the real hub allows them: up to 128 of these ASCII characters. */
const ID_RE = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;

export function isValidIdentityId(id: string): boolean {
  return ID_RE.test(id);
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id))
    throw new HubError('HUB_BAD_ARGUMENT', `invalid ${what} ${JSON.stringify(id)}`);
  return id;
}

function checkKey(k: unknown, what: string): string | undefined {
  if (k === undefined || k === null) return undefined;
  if (typeof k !== 'string' || k.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(k))
    throw new HubError('HUB_BAD_REGISTRY', `${what} must be a base64 string`);
  return k;
}

// ---- JSON shape (close to the service API's Device JSON) ----

export interface SymmetricKeyJson {
  symmetricKey?: { primaryKey?: string; secondaryKey?: string };
}
export interface ModuleJson {
  moduleId: string;
  generationId?: string;
  authentication?: SymmetricKeyJson;
}
export interface DeviceJson {
  deviceId: string;
  generationId?: string;
  status?: DeviceStatus;
  statusReason?: string;
  authentication?: SymmetricKeyJson;
  modules?: ModuleJson[];
}
export interface PolicyJson {
  keyName: string;
  primaryKey?: string;
  secondaryKey?: string;
  rights?: AccessRight[];
}
/**
 * A registry document. When loading (e.g. `--registry file.json`) everything but the ids is
 * optional, a device may be just its id string, and a bare array is a list of devices.
 */
export interface RegistryJson {
  version?: 1;
  devices?: (DeviceJson | string)[];
  policies?: PolicyJson[];
}

/** The policies every hub has: `iothubowner` (every right) and `service` (ServiceConnect). */
export const DEFAULT_POLICIES: readonly { keyName: string; rights: AccessRight[] }[] = [
  { keyName: 'iothubowner', rights: [...ALL_RIGHTS] },
  { keyName: 'service', rights: ['ServiceConnect'] },
];

export interface RegistryOptions {
  clock: Clock;
  /** Create the default policies (default true). */
  defaultPolicies?: boolean;
}

export class Registry {
  private readonly devices = new Map<string, DeviceIdentity>();
  private readonly policies = new Map<string, SharedAccessPolicy>();
  private readonly listeners = new Set<() => void>();
  private readonly clock: Clock;

  constructor(opts: RegistryOptions) {
    this.clock = opts.clock;
    if (opts.defaultPolicies ?? true) {
      for (const p of DEFAULT_POLICIES) this.setPolicy(p.keyName, { rights: p.rights });
    }
  }

  /** Called after every persisted change (devices, modules, keys, status, policies). */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    for (const cb of [...this.listeners]) cb();
  }

  // ---- devices ----

  getDevice(deviceId: string): Readonly<DeviceIdentity> | undefined {
    return this.devices.get(deviceId);
  }

  listDevices(): Readonly<DeviceIdentity>[] {
    return [...this.devices.values()];
  }

  /** Creates a device; fails with HUB_DEVICE_EXISTS when the id is taken. */
  addDevice(deviceId: string, spec: IdentitySpec = {}): Readonly<DeviceIdentity> {
    checkId(deviceId, 'device id');
    if (this.devices.has(deviceId)) throw new HubError('HUB_DEVICE_EXISTS', `device ${deviceId} exists`);
    const d: DeviceIdentity = {
      deviceId,
      generationId: spec.generationId ?? generateGenerationId(this.clock.now()),
      status: spec.status ?? 'enabled',
      primaryKey: checkKey(spec.primaryKey, 'primaryKey') ?? generateKey(),
      secondaryKey: checkKey(spec.secondaryKey, 'secondaryKey') ?? generateKey(),
      connectionState: 'Disconnected',
      modules: new Map(),
    };
    if (spec.statusReason !== undefined) d.statusReason = spec.statusReason;
    this.devices.set(deviceId, d);
    this.changed();
    return d;
  }

  /**
   * The device, created when missing (`--device ID` on every start). Keys given in `spec` replace
   * the stored ones; keys not given are kept, so a restart keeps the connection strings valid.
   */
  ensureDevice(deviceId: string, spec: IdentitySpec = {}): Readonly<DeviceIdentity> {
    const d = this.devices.get(deviceId);
    if (!d) return this.addDevice(deviceId, spec);
    const patch: IdentitySpec = {};
    if (spec.primaryKey !== undefined && spec.primaryKey !== d.primaryKey) patch.primaryKey = spec.primaryKey;
    if (spec.secondaryKey !== undefined && spec.secondaryKey !== d.secondaryKey)
      patch.secondaryKey = spec.secondaryKey;
    if (spec.status !== undefined && spec.status !== d.status) patch.status = spec.status;
    if (spec.statusReason !== undefined && spec.statusReason !== d.statusReason)
      patch.statusReason = spec.statusReason;
    if (Object.keys(patch).length > 0) this.updateDevice(deviceId, patch);
    return d;
  }

  updateDevice(deviceId: string, patch: Omit<IdentitySpec, 'generationId'>): Readonly<DeviceIdentity> {
    const d = this.requireDevice(deviceId);
    if (patch.primaryKey !== undefined) d.primaryKey = checkKey(patch.primaryKey, 'primaryKey')!;
    if (patch.secondaryKey !== undefined) d.secondaryKey = checkKey(patch.secondaryKey, 'secondaryKey')!;
    if (patch.status !== undefined) d.status = patch.status;
    if (patch.statusReason !== undefined) d.statusReason = patch.statusReason;
    this.changed();
    return d;
  }

  removeDevice(deviceId: string): boolean {
    const ok = this.devices.delete(deviceId);
    if (ok) this.changed();
    return ok;
  }

  /** The device, or HUB_DEVICE_NOT_FOUND. */
  requireDevice(deviceId: string): DeviceIdentity {
    const d = this.devices.get(deviceId);
    if (!d) throw new HubError('HUB_DEVICE_NOT_FOUND', `device ${deviceId} not found`);
    return d;
  }

  // ---- modules ----

  addModule(deviceId: string, moduleId: string, spec: IdentitySpec = {}): Readonly<ModuleIdentity> {
    const d = this.requireDevice(deviceId);
    checkId(moduleId, 'module id');
    if (d.modules.has(moduleId))
      throw new HubError('HUB_DEVICE_EXISTS', `module ${deviceId}/${moduleId} exists`);
    const m: ModuleIdentity = {
      deviceId,
      moduleId,
      generationId: spec.generationId ?? generateGenerationId(this.clock.now()),
      primaryKey: checkKey(spec.primaryKey, 'primaryKey') ?? generateKey(),
      secondaryKey: checkKey(spec.secondaryKey, 'secondaryKey') ?? generateKey(),
      connectionState: 'Disconnected',
    };
    d.modules.set(moduleId, m);
    this.changed();
    return m;
  }

  getModule(deviceId: string, moduleId: string): Readonly<ModuleIdentity> | undefined {
    return this.devices.get(deviceId)?.modules.get(moduleId);
  }

  removeModule(deviceId: string, moduleId: string): boolean {
    const ok = this.devices.get(deviceId)?.modules.delete(moduleId) ?? false;
    if (ok) this.changed();
    return ok;
  }

  /** Connection state: transient (not persisted, no change event). */
  setConnectionState(deviceId: string, connected: boolean, moduleId?: string): void {
    const d = this.requireDevice(deviceId);
    const now = this.clock.now();
    const state: ConnectionState = connected ? 'Connected' : 'Disconnected';
    const target = moduleId === undefined ? d : d.modules.get(moduleId);
    if (!target) throw new HubError('HUB_DEVICE_NOT_FOUND', `module ${deviceId}/${moduleId} not found`);
    target.connectionState = state;
    target.connectionStateUpdatedTime = now;
    d.lastActivityTime = now;
  }

  /** Records activity (telemetry, settlement) for the device twin's lastActivityTime. */
  touch(deviceId: string): void {
    const d = this.devices.get(deviceId);
    if (d) d.lastActivityTime = this.clock.now();
  }

  // ---- policies ----

  getPolicy(keyName: string): Readonly<SharedAccessPolicy> | undefined {
    return this.policies.get(keyName);
  }

  listPolicies(): Readonly<SharedAccessPolicy>[] {
    return [...this.policies.values()];
  }

  /** Creates or updates a policy; missing keys are generated (or kept, on update). */
  setPolicy(
    keyName: string,
    spec: { rights?: AccessRight[]; primaryKey?: string; secondaryKey?: string },
  ): Readonly<SharedAccessPolicy> {
    if (typeof keyName !== 'string' || !/^[A-Za-z0-9\-._]{1,64}$/.test(keyName))
      throw new HubError('HUB_BAD_ARGUMENT', `invalid policy name ${JSON.stringify(keyName)}`);
    for (const r of spec.rights ?? [])
      if (!ALL_RIGHTS.includes(r)) throw new HubError('HUB_BAD_REGISTRY', `unknown right ${String(r)}`);
    const old = this.policies.get(keyName);
    const p: SharedAccessPolicy = {
      keyName,
      primaryKey: checkKey(spec.primaryKey, 'primaryKey') ?? old?.primaryKey ?? generateKey(),
      secondaryKey: checkKey(spec.secondaryKey, 'secondaryKey') ?? old?.secondaryKey ?? generateKey(),
      rights: [...(spec.rights ?? old?.rights ?? [])],
    };
    this.policies.set(keyName, p);
    this.changed();
    return p;
  }

  /** Whether policy `keyName` exists and grants `right`. */
  policyAllows(keyName: string, right: AccessRight): boolean {
    return this.policies.get(keyName)?.rights.includes(right) ?? false;
  }

  // ---- JSON ----

  toJSON(): Required<Pick<RegistryJson, 'version'>> & { devices: DeviceJson[]; policies: PolicyJson[] } {
    return {
      version: 1,
      devices: [...this.devices.values()].map((d) => {
        const j: DeviceJson = {
          deviceId: d.deviceId,
          generationId: d.generationId,
          status: d.status,
          authentication: { symmetricKey: { primaryKey: d.primaryKey, secondaryKey: d.secondaryKey } },
        };
        if (d.statusReason !== undefined) j.statusReason = d.statusReason;
        if (d.modules.size > 0)
          j.modules = [...d.modules.values()].map((m) => ({
            moduleId: m.moduleId,
            generationId: m.generationId,
            authentication: { symmetricKey: { primaryKey: m.primaryKey, secondaryKey: m.secondaryKey } },
          }));
        return j;
      }),
      policies: [...this.policies.values()].map((p) => ({
        keyName: p.keyName,
        primaryKey: p.primaryKey,
        secondaryKey: p.secondaryKey,
        rights: [...p.rights],
      })),
    };
  }

  /**
   * Merges a registry document into this registry: policies are created or updated, devices and
   * modules ensured (given keys replace stored ones, missing keys are generated or kept).
   * Throws HUB_BAD_REGISTRY for a malformed document, before changing anything.
   */
  merge(input: unknown): void {
    const doc = parseRegistryJson(input);
    for (const p of doc.policies) {
      const spec: { rights?: AccessRight[]; primaryKey?: string; secondaryKey?: string } = {};
      if (p.rights) spec.rights = p.rights;
      if (p.primaryKey) spec.primaryKey = p.primaryKey;
      if (p.secondaryKey) spec.secondaryKey = p.secondaryKey;
      this.setPolicy(p.keyName, spec);
    }
    for (const d of doc.devices) {
      const spec = specOf(d.authentication, d.generationId);
      if (d.status) spec.status = d.status;
      if (d.statusReason !== undefined) spec.statusReason = d.statusReason;
      const existing = this.devices.get(d.deviceId);
      // A stored generation id wins: it is what the device's earlier telemetry carried.
      if (existing) delete spec.generationId;
      this.ensureDevice(d.deviceId, spec);
      for (const m of d.modules ?? []) {
        const mspec = specOf(m.authentication, m.generationId);
        const old = this.getModule(d.deviceId, m.moduleId);
        if (!old) this.addModule(d.deviceId, m.moduleId, mspec);
        else {
          const mm = old as ModuleIdentity;
          if (mspec.primaryKey) mm.primaryKey = mspec.primaryKey;
          if (mspec.secondaryKey) mm.secondaryKey = mspec.secondaryKey;
          this.changed();
        }
      }
    }
  }

  /** A registry from a document (with the default policies unless the document names them). */
  static fromJSON(input: unknown, opts: RegistryOptions): Registry {
    const r = new Registry({ ...opts, defaultPolicies: false });
    const doc = parseRegistryJson(input);
    r.merge(doc);
    for (const p of DEFAULT_POLICIES)
      if (!r.policies.has(p.keyName)) r.setPolicy(p.keyName, { rights: p.rights });
    return r;
  }
}

function specOf(auth: SymmetricKeyJson | undefined, generationId: string | undefined): IdentitySpec {
  const spec: IdentitySpec = {};
  const k = auth?.symmetricKey;
  if (k?.primaryKey) spec.primaryKey = k.primaryKey;
  if (k?.secondaryKey) spec.secondaryKey = k.secondaryKey;
  if (generationId !== undefined) spec.generationId = generationId;
  return spec;
}

function bad(msg: string): never {
  throw new HubError('HUB_BAD_REGISTRY', `registry: ${msg}`);
}

/** Validates a registry document and normalises it (device strings to objects). */
export function parseRegistryJson(input: unknown): { devices: DeviceJson[]; policies: PolicyJson[] } {
  const doc = Array.isArray(input) ? { devices: input } : input;
  if (typeof doc !== 'object' || doc === null) bad('expected an object or an array');
  const { devices = [], policies = [] } = doc as RegistryJson;
  if (!Array.isArray(devices)) bad('devices must be an array');
  if (!Array.isArray(policies)) bad('policies must be an array');
  const seen = new Set<string>();
  const outDevices = devices.map((d, i): DeviceJson => {
    const dj: DeviceJson = typeof d === 'string' ? { deviceId: d } : d;
    if (typeof dj !== 'object' || dj === null) bad(`devices[${i}] must be an id or an object`);
    if (typeof dj.deviceId !== 'string' || !ID_RE.test(dj.deviceId)) bad(`devices[${i}].deviceId is invalid`);
    if (seen.has(dj.deviceId)) bad(`device ${dj.deviceId} listed twice`);
    seen.add(dj.deviceId);
    if (dj.status !== undefined && dj.status !== 'enabled' && dj.status !== 'disabled')
      bad(`devices[${i}].status must be enabled or disabled`);
    if (dj.generationId !== undefined && !/^\d{1,30}$/.test(String(dj.generationId)))
      bad(`devices[${i}].generationId must be a string of digits`);
    checkKeys(dj.authentication, `devices[${i}]`);
    if (dj.modules !== undefined && !Array.isArray(dj.modules)) bad(`devices[${i}].modules must be an array`);
    for (const [j, m] of (dj.modules ?? []).entries()) {
      if (typeof m?.moduleId !== 'string' || !ID_RE.test(m.moduleId))
        bad(`devices[${i}].modules[${j}].moduleId is invalid`);
      checkKeys(m.authentication, `devices[${i}].modules[${j}]`);
    }
    return dj;
  });
  for (const [i, p] of policies.entries()) {
    if (typeof p?.keyName !== 'string') bad(`policies[${i}].keyName is missing`);
    if (p.rights !== undefined && (!Array.isArray(p.rights) || p.rights.some((r) => !ALL_RIGHTS.includes(r))))
      bad(`policies[${i}].rights must be a list of ${ALL_RIGHTS.join(', ')}`);
    if (p.primaryKey !== undefined) checkKeyOrBad(p.primaryKey, `policies[${i}].primaryKey`);
    if (p.secondaryKey !== undefined) checkKeyOrBad(p.secondaryKey, `policies[${i}].secondaryKey`);
  }
  return { devices: outDevices, policies };
}

function checkKeys(auth: SymmetricKeyJson | undefined, where: string): void {
  const k = auth?.symmetricKey;
  if (k?.primaryKey !== undefined) checkKeyOrBad(k.primaryKey, `${where}.primaryKey`);
  if (k?.secondaryKey !== undefined) checkKeyOrBad(k.secondaryKey, `${where}.secondaryKey`);
}

function checkKeyOrBad(k: unknown, where: string): void {
  if (typeof k !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(k)) bad(`${where} must be a base64 string`);
}

// ---- connection strings ----

/** `HostName=h;SharedAccessKeyName=p;SharedAccessKey=k` for a policy. */
export function serviceConnectionString(
  hostName: string,
  policy: Pick<SharedAccessPolicy, 'keyName' | 'primaryKey'>,
): string {
  return `HostName=${hostName};SharedAccessKeyName=${policy.keyName};SharedAccessKey=${policy.primaryKey}`;
}

/** `HostName=h;DeviceId=d[;ModuleId=m];SharedAccessKey=k` for a device or module identity. */
export function deviceConnectionString(
  hostName: string,
  identity: { deviceId: string; moduleId?: string; primaryKey: string },
): string {
  const mod = identity.moduleId === undefined ? '' : `;ModuleId=${identity.moduleId}`;
  return `HostName=${hostName};DeviceId=${identity.deviceId}${mod};SharedAccessKey=${identity.primaryKey}`;
}
