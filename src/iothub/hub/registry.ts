/**
 * The identity registry: devices (and their modules) with symmetric keys, and the hub's shared
 * access policies. Pure state plus JSON (de)serialisation; the hub persists it with an atomic
 * JSON file write on every change (it changes rarely, so a snapshot beats a log here).
 *
 * Keys are 32 random bytes in base64, like the real hub's. A generation id is a string of digits
 * (the real hub uses .NET ticks): it changes when a device with the same id is deleted and created
 * again, which is why telemetry and feedback carry it.
 *
 * Each identity authenticates one way, as the service API's `authentication.type` says: `sas`
 * (its keys), `selfSigned` (X.509 thumbprints) or `certificateAuthority` (a certificate from a
 * trusted CA). An identity that is not `sas` still has keys inside (so that a later switch to
 * `sas` without keys has some), but no token signed with them is accepted (emulator/auth.ts).
 * `version` is what the REST API's etags are made of: one counter for the whole registry, so that
 * a device deleted and created again never matches an etag of the old one.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../../util/timers.js';
import { HubError } from './errors.js';
import { ID_RE, isValidIdentityId } from './identity-id.js';
import { missingModule, parseModuleRoutes, type ModuleRoute, type ModuleRouteJson } from './module-routes.js';

/** IoT Hub's permissions, as shared access policies grant them. */
export type AccessRight = 'RegistryRead' | 'RegistryWrite' | 'ServiceConnect' | 'DeviceConnect';
export const ALL_RIGHTS: readonly AccessRight[] = [
  'RegistryRead',
  'RegistryWrite',
  'ServiceConnect',
  'DeviceConnect',
];

export type DeviceStatus = 'enabled' | 'disabled';
/** How an identity authenticates (the service API's `authentication.type`). */
export type AuthenticationType = 'sas' | 'selfSigned' | 'certificateAuthority';
export const AUTHENTICATION_TYPES: readonly AuthenticationType[] = [
  'sas',
  'selfSigned',
  'certificateAuthority',
];
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
  authType: AuthenticationType;
  /** X.509 thumbprints (hex, SHA-1 or SHA-256) of a `selfSigned` identity. */
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  /** Changes with every update (the REST API's etag). */
  version: number;
  /** Transient: not persisted. */
  connectionState: ConnectionState;
  connectionStateUpdatedTime?: number;
  /** The IoT Plug and Play model the module last announced (the twin's `modelId`); transient. */
  modelId?: string;
}

export interface DeviceIdentity {
  deviceId: string;
  generationId: string;
  status: DeviceStatus;
  statusReason?: string;
  primaryKey: string;
  secondaryKey: string;
  authType: AuthenticationType;
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  /** An IoT Edge device (`capabilities.iotEdge`). */
  iotEdge?: boolean;
  /** Changes with every update (the REST API's etag). */
  version: number;
  /** When `status` last changed (epoch ms); transient. */
  statusUpdatedTime?: number;
  /** Transient: not persisted. */
  connectionState: ConnectionState;
  connectionStateUpdatedTime?: number;
  lastActivityTime?: number;
  /** The IoT Plug and Play model the device last announced (the twin's `modelId`); transient. */
  modelId?: string;
  modules: Map<string, ModuleIdentity>;
}

/** What may be given when creating or updating an identity; missing keys are generated. */
export interface IdentitySpec {
  primaryKey?: string;
  secondaryKey?: string;
  status?: DeviceStatus;
  statusReason?: string;
  generationId?: string;
  /** Default 'sas' for a new identity; kept on update when not given. */
  authType?: AuthenticationType;
  /** For `selfSigned`: at least one of the two (hex, 40 or 64 digits). */
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
  /** Devices only. */
  iotEdge?: boolean;
  /** Loading a stored registry only: the version to keep. */
  version?: number;
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

export { isValidIdentityId };

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id))
    throw new HubError('HUB_BAD_ARGUMENT', `invalid ${what} ${JSON.stringify(id)}`);
  return id;
}

/** An X.509 thumbprint as the hub takes it: SHA-1 (40) or SHA-256 (64) hex digits. */
const THUMBPRINT_RE = /^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

export function isValidThumbprint(t: string): boolean {
  return THUMBPRINT_RE.test(t);
}

function checkThumbprint(t: unknown, what: string): string | undefined {
  if (t === undefined || t === null || t === '') return undefined;
  if (typeof t !== 'string' || !THUMBPRINT_RE.test(t))
    throw new HubError('HUB_BAD_ARGUMENT', `${what} must be 40 or 64 hex digits`);
  return t;
}

/** What kind of authentication a spec asks for, with the thumbprints it needs. */
interface AuthFields {
  authType: AuthenticationType;
  primaryKey: string;
  secondaryKey: string;
  primaryThumbprint?: string;
  secondaryThumbprint?: string;
}

/**
 * Applies a spec's authentication to an identity (new when `old` is undefined): keys given replace
 * the stored ones, keys missing are kept (or generated); thumbprints belong to `selfSigned` only.
 */
function applyAuth(target: AuthFields, spec: IdentitySpec, old: AuthFields | undefined): void {
  const authType = spec.authType ?? old?.authType ?? 'sas';
  if (!AUTHENTICATION_TYPES.includes(authType))
    throw new HubError('HUB_BAD_ARGUMENT', `unknown authentication type ${String(authType)}`);
  const primaryKey = checkKey(spec.primaryKey, 'primaryKey') ?? old?.primaryKey ?? generateKey();
  const secondaryKey = checkKey(spec.secondaryKey, 'secondaryKey') ?? old?.secondaryKey ?? generateKey();
  let primaryThumbprint: string | undefined;
  let secondaryThumbprint: string | undefined;
  if (authType === 'selfSigned') {
    const given = spec.primaryThumbprint !== undefined || spec.secondaryThumbprint !== undefined;
    primaryThumbprint = given
      ? checkThumbprint(spec.primaryThumbprint, 'primaryThumbprint')
      : old?.primaryThumbprint;
    secondaryThumbprint = given
      ? checkThumbprint(spec.secondaryThumbprint, 'secondaryThumbprint')
      : old?.secondaryThumbprint;
    if (primaryThumbprint === undefined && secondaryThumbprint === undefined)
      throw new HubError('HUB_BAD_ARGUMENT', 'a selfSigned identity needs a primary or secondary thumbprint');
  }
  target.authType = authType;
  target.primaryKey = primaryKey;
  target.secondaryKey = secondaryKey;
  if (primaryThumbprint === undefined) delete target.primaryThumbprint;
  else target.primaryThumbprint = primaryThumbprint;
  if (secondaryThumbprint === undefined) delete target.secondaryThumbprint;
  else target.secondaryThumbprint = secondaryThumbprint;
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
/** The service API's `authentication` object (keys, thumbprints, type). */
export interface AuthenticationJson extends SymmetricKeyJson {
  type?: AuthenticationType;
  x509Thumbprint?: { primaryThumbprint?: string | null; secondaryThumbprint?: string | null };
}
export interface ModuleJson {
  moduleId: string;
  generationId?: string;
  authentication?: AuthenticationJson;
  version?: number;
}
export interface DeviceJson {
  deviceId: string;
  generationId?: string;
  status?: DeviceStatus;
  statusReason?: string;
  authentication?: AuthenticationJson;
  capabilities?: { iotEdge?: boolean };
  version?: number;
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
  /** Module routes (module-routes.ts): when present, they replace the stored ones. */
  routes?: ModuleRouteJson[];
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
  private lastVersion = 0;
  private routeTable: readonly ModuleRoute[] = [];

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

  /** The next etag version (one counter for every identity). */
  private nextVersion(kept?: number): number {
    if (kept !== undefined && Number.isSafeInteger(kept) && kept > 0) {
      this.lastVersion = Math.max(this.lastVersion, kept);
      return kept;
    }
    return ++this.lastVersion;
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
      primaryKey: '',
      secondaryKey: '',
      authType: 'sas',
      version: 0,
      connectionState: 'Disconnected',
      modules: new Map(),
    };
    applyAuth(d, spec, undefined);
    d.version = this.nextVersion(spec.version);
    if (spec.statusReason !== undefined) d.statusReason = spec.statusReason;
    if (spec.iotEdge) d.iotEdge = true;
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
    if (spec.authType !== undefined && spec.authType !== d.authType) patch.authType = spec.authType;
    if (spec.primaryThumbprint !== undefined && spec.primaryThumbprint !== d.primaryThumbprint)
      patch.primaryThumbprint = spec.primaryThumbprint;
    if (spec.secondaryThumbprint !== undefined && spec.secondaryThumbprint !== d.secondaryThumbprint)
      patch.secondaryThumbprint = spec.secondaryThumbprint;
    if (spec.iotEdge !== undefined && spec.iotEdge !== (d.iotEdge ?? false)) patch.iotEdge = spec.iotEdge;
    if (Object.keys(patch).length > 0) this.updateDevice(deviceId, patch);
    return d;
  }

  /**
   * Changes what `patch` gives (keys, status, authentication, capabilities) and the version; the
   * whole patch is checked before anything changes.
   */
  updateDevice(deviceId: string, patch: Omit<IdentitySpec, 'generationId'>): Readonly<DeviceIdentity> {
    const d = this.requireDevice(deviceId);
    const next = { ...d };
    applyAuth(next, patch, d);
    Object.assign(d, {
      authType: next.authType,
      primaryKey: next.primaryKey,
      secondaryKey: next.secondaryKey,
    });
    copyThumbprints(d, next);
    if (patch.status !== undefined && patch.status !== d.status) {
      d.status = patch.status;
      d.statusUpdatedTime = this.clock.now();
    }
    if (patch.statusReason !== undefined) d.statusReason = patch.statusReason;
    if (patch.iotEdge !== undefined) {
      if (patch.iotEdge) d.iotEdge = true;
      else delete d.iotEdge;
    }
    d.version = this.nextVersion();
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
      primaryKey: '',
      secondaryKey: '',
      authType: 'sas',
      version: 0,
      connectionState: 'Disconnected',
    };
    applyAuth(m, spec, undefined);
    m.version = this.nextVersion(spec.version);
    d.modules.set(moduleId, m);
    this.changed();
    return m;
  }

  /** Changes a module's keys or authentication (checked before anything changes) and its version. */
  updateModule(deviceId: string, moduleId: string, patch: IdentitySpec): Readonly<ModuleIdentity> {
    const m = this.requireDevice(deviceId).modules.get(moduleId);
    if (!m) throw new HubError('HUB_DEVICE_NOT_FOUND', `module ${deviceId}/${moduleId} not found`);
    const next = { ...m };
    applyAuth(next, patch, m);
    Object.assign(m, {
      authType: next.authType,
      primaryKey: next.primaryKey,
      secondaryKey: next.secondaryKey,
    });
    copyThumbprints(m, next);
    m.version = this.nextVersion();
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

  /** The model id a device or module announced on a link: transient (not persisted, no change event). */
  setModelId(deviceId: string, modelId: string, moduleId?: string): void {
    const d = this.requireDevice(deviceId);
    const target = moduleId === undefined ? d : d.modules.get(moduleId);
    if (!target) throw new HubError('HUB_DEVICE_NOT_FOUND', `module ${deviceId}/${moduleId} not found`);
    target.modelId = modelId;
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

  // ---- module routes ----

  /** Every route from a module's output to a module's input, as the registry file set them. */
  get routes(): readonly ModuleRoute[] {
    return this.routeTable;
  }

  /** The routes that take a message the module sent to `output`. */
  routesFrom(deviceId: string, moduleId: string, output: string): ModuleRoute[] {
    return this.routeTable.filter(
      (r) => r.from.deviceId === deviceId && r.from.moduleId === moduleId && r.from.output === output,
    );
  }

  // ---- JSON ----

  toJSON(): Required<Pick<RegistryJson, 'version'>> & {
    devices: DeviceJson[];
    policies: PolicyJson[];
    routes?: ModuleRouteJson[];
  } {
    return {
      version: 1,
      ...(this.routeTable.length === 0 ? {} : { routes: this.routeTable.map((r) => structuredClone(r)) }),
      devices: [...this.devices.values()].map((d) => {
        const j: DeviceJson = {
          deviceId: d.deviceId,
          generationId: d.generationId,
          status: d.status,
          authentication: authenticationJson(d),
          version: d.version,
        };
        if (d.statusReason !== undefined) j.statusReason = d.statusReason;
        if (d.iotEdge) j.capabilities = { iotEdge: true };
        if (d.modules.size > 0)
          j.modules = [...d.modules.values()].map((m) => ({
            moduleId: m.moduleId,
            generationId: m.generationId,
            authentication: authenticationJson(m),
            version: m.version,
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
  merge(input: unknown, opts: { routeModulesExist?: boolean } = {}): void {
    const doc = parseRegistryJson(input);
    const routes = doc.routes === undefined ? undefined : parseModuleRoutes(doc.routes);
    if (routes !== undefined && (opts.routeModulesExist ?? true)) {
      // Checked before anything changes: a module listed in this document counts as existing.
      const missing = missingModule(
        routes,
        (d, m) =>
          this.getModule(d, m) !== undefined ||
          doc.devices.some((dj) => dj.deviceId === d && (dj.modules ?? []).some((mj) => mj.moduleId === m)),
      );
      if (missing !== undefined)
        throw new HubError(
          'HUB_BAD_REGISTRY',
          `registry: a route names module ${missing}, which does not exist`,
        );
    }
    for (const p of doc.policies) {
      const spec: { rights?: AccessRight[]; primaryKey?: string; secondaryKey?: string } = {};
      if (p.rights) spec.rights = p.rights;
      if (p.primaryKey) spec.primaryKey = p.primaryKey;
      if (p.secondaryKey) spec.secondaryKey = p.secondaryKey;
      this.setPolicy(p.keyName, spec);
    }
    for (const d of doc.devices) {
      const spec = specOf(d.authentication, d.generationId, d.version);
      if (d.status) spec.status = d.status;
      if (d.statusReason !== undefined) spec.statusReason = d.statusReason;
      if (d.capabilities?.iotEdge !== undefined) spec.iotEdge = d.capabilities.iotEdge;
      const existing = this.devices.get(d.deviceId);
      // A stored generation id wins: it is what the device's earlier telemetry carried.
      if (existing) delete spec.generationId;
      this.ensureDevice(d.deviceId, spec);
      for (const m of d.modules ?? []) {
        const mspec = specOf(m.authentication, m.generationId, m.version);
        const old = this.getModule(d.deviceId, m.moduleId);
        if (!old) this.addModule(d.deviceId, m.moduleId, mspec);
        else {
          delete mspec.generationId;
          delete mspec.version;
          this.updateModule(d.deviceId, m.moduleId, mspec);
        }
      }
    }
    if (routes !== undefined) {
      this.routeTable = routes;
      this.changed();
    }
  }

  /** A registry from a document (with the default policies unless the document names them). */
  static fromJSON(input: unknown, opts: RegistryOptions): Registry {
    const r = new Registry({ ...opts, defaultPolicies: false });
    const doc = parseRegistryJson(input);
    // A stored route may name a module removed since: it matches nothing, and the hub still starts.
    r.merge(doc, { routeModulesExist: false });
    for (const p of DEFAULT_POLICIES)
      if (!r.policies.has(p.keyName)) r.setPolicy(p.keyName, { rights: p.rights });
    return r;
  }
}

function specOf(
  auth: AuthenticationJson | undefined,
  generationId: string | undefined,
  version: number | undefined,
): IdentitySpec {
  const spec: IdentitySpec = {};
  const k = auth?.symmetricKey;
  if (k?.primaryKey) spec.primaryKey = k.primaryKey;
  if (k?.secondaryKey) spec.secondaryKey = k.secondaryKey;
  if (auth?.type !== undefined) spec.authType = auth.type;
  const t = auth?.x509Thumbprint;
  if (t?.primaryThumbprint) spec.primaryThumbprint = t.primaryThumbprint;
  if (t?.secondaryThumbprint) spec.secondaryThumbprint = t.secondaryThumbprint;
  if (generationId !== undefined) spec.generationId = generationId;
  if (version !== undefined) spec.version = version;
  return spec;
}

/** The stored form of an identity's authentication: the type and thumbprints only when not `sas`. */
function authenticationJson(i: Readonly<AuthFields>): AuthenticationJson {
  const a: AuthenticationJson = {
    symmetricKey: { primaryKey: i.primaryKey, secondaryKey: i.secondaryKey },
  };
  if (i.authType !== 'sas') a.type = i.authType;
  if (i.primaryThumbprint !== undefined || i.secondaryThumbprint !== undefined) {
    a.x509Thumbprint = {};
    if (i.primaryThumbprint !== undefined) a.x509Thumbprint.primaryThumbprint = i.primaryThumbprint;
    if (i.secondaryThumbprint !== undefined) a.x509Thumbprint.secondaryThumbprint = i.secondaryThumbprint;
  }
  return a;
}

function copyThumbprints(to: AuthFields, from: Readonly<AuthFields>): void {
  if (from.primaryThumbprint === undefined) delete to.primaryThumbprint;
  else to.primaryThumbprint = from.primaryThumbprint;
  if (from.secondaryThumbprint === undefined) delete to.secondaryThumbprint;
  else to.secondaryThumbprint = from.secondaryThumbprint;
}

function bad(msg: string): never {
  throw new HubError('HUB_BAD_REGISTRY', `registry: ${msg}`);
}

/** Validates a registry document and normalises it (device strings to objects). */
export function parseRegistryJson(input: unknown): {
  devices: DeviceJson[];
  policies: PolicyJson[];
  routes?: ModuleRouteJson[];
} {
  const doc = Array.isArray(input) ? { devices: input } : input;
  if (typeof doc !== 'object' || doc === null) bad('expected an object or an array');
  const { devices = [], policies = [], routes } = doc as RegistryJson;
  // Checked here too, so that a bad route changes nothing (merge parses before it writes).
  if (routes !== undefined) parseModuleRoutes(routes);
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
  return { devices: outDevices, policies, ...(routes === undefined ? {} : { routes }) };
}

function checkKeys(auth: AuthenticationJson | undefined, where: string): void {
  const k = auth?.symmetricKey;
  if (k?.primaryKey !== undefined) checkKeyOrBad(k.primaryKey, `${where}.primaryKey`);
  if (k?.secondaryKey !== undefined) checkKeyOrBad(k.secondaryKey, `${where}.secondaryKey`);
  if (auth?.type !== undefined && !AUTHENTICATION_TYPES.includes(auth.type))
    bad(`${where}.authentication.type must be one of ${AUTHENTICATION_TYPES.join(', ')}`);
  const t = auth?.x509Thumbprint;
  for (const [name, v] of [
    ['primaryThumbprint', t?.primaryThumbprint],
    ['secondaryThumbprint', t?.secondaryThumbprint],
  ] as const)
    if (v !== undefined && v !== null && (typeof v !== 'string' || !THUMBPRINT_RE.test(v)))
      bad(`${where}.${name} must be 40 or 64 hex digits`);
  if (auth?.type === 'selfSigned' && !t?.primaryThumbprint && !t?.secondaryThumbprint)
    bad(`${where} is selfSigned but has no thumbprint`);
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

/**
 * `HostName=h;DeviceId=d[;ModuleId=m];SharedAccessKey=k` for a device or module identity;
 * `...;x509=true` for an X.509 one, whose keys are never accepted.
 */
export function deviceConnectionString(
  hostName: string,
  identity: { deviceId: string; moduleId?: string; primaryKey: string; authType?: AuthenticationType },
): string {
  const mod = identity.moduleId === undefined ? '' : `;ModuleId=${identity.moduleId}`;
  const credential =
    identity.authType === undefined || identity.authType === 'sas'
      ? `SharedAccessKey=${identity.primaryKey}`
      : 'x509=true';
  return `HostName=${hostName};DeviceId=${identity.deviceId}${mod};${credential}`;
}
