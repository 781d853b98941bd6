/**
 * The identity registry over REST (docs/iothub-rest.md): devices and modules created, read,
 * listed, replaced and deleted, in the service's JSON shapes, with etags from the registry's
 * versions. What azure-iothub 1.16's Registry sends:
 *
 *   PUT    /devices/{id}                     no If-Match: create (409 if it exists);
 *                                            If-Match "*" or an etag: replace (404, 412)
 *   GET    /devices/{id}, GET /devices       one, or the list (`top`, at most 1000)
 *   DELETE /devices/{id}                     If-Match "*" or an etag (absent means "*")
 *   PUT|GET|DELETE /devices/{id}/modules/{mid}, GET /devices/{id}/modules
 *
 * Writes answer once the registry file is written (HubState.saveRegistry), so what a client was
 * told is stored survives a crash.
 */
import type { HubState } from '../hub/hub.js';
import { isHubError } from '../hub/errors.js';
import {
  AUTHENTICATION_TYPES,
  isValidThumbprint,
  type AuthenticationType,
  type DeviceIdentity,
  type DeviceStatus,
  type IdentitySpec,
  type ModuleIdentity,
} from '../hub/registry.js';
import { RestError } from './rest-errors.js';
import type { RestReply, RestRequest, RestRoute } from './rest-router.js';

/** The most devices one list answers (the service's `top` maximum). */
export const MAX_LIST_DEVICES = 1000;

/** The etag of a registry version: its decimal digits in base64, as the service's look. */
export function etagOf(version: number): string {
  return Buffer.from(String(version)).toString('base64');
}

/** An If-Match value without quotes or weak prefix; undefined when absent. */
export function ifMatchOf(headers: ReadonlyMap<string, string>): string | undefined {
  const v = headers.get('if-match');
  if (v === undefined) return undefined;
  return v
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/** The service's "never" for times that have not happened (DateTime.MinValue). */
const NEVER = '0001-01-01T00:00:00Z';
const iso = (ms: number | undefined): string => (ms === undefined ? NEVER : new Date(ms).toISOString());

type AuthHolder = Pick<
  ModuleIdentity,
  'authType' | 'primaryKey' | 'secondaryKey' | 'primaryThumbprint' | 'secondaryThumbprint'
>;

/** `authentication` as the service shows it: keys only for `sas`, thumbprints only for `selfSigned`. */
function authenticationJson(i: Readonly<AuthHolder>): object {
  const sas = i.authType === 'sas';
  return {
    symmetricKey: { primaryKey: sas ? i.primaryKey : null, secondaryKey: sas ? i.secondaryKey : null },
    x509Thumbprint: {
      primaryThumbprint: i.primaryThumbprint ?? null,
      secondaryThumbprint: i.secondaryThumbprint ?? null,
    },
    type: i.authType,
  };
}

/** A device in the service's JSON shape. */
export function deviceJson(d: Readonly<DeviceIdentity>, c2dCount: number): object {
  return {
    deviceId: d.deviceId,
    generationId: d.generationId,
    etag: etagOf(d.version),
    connectionState: d.connectionState,
    status: d.status,
    statusReason: d.statusReason ?? null,
    connectionStateUpdatedTime: iso(d.connectionStateUpdatedTime),
    statusUpdatedTime: iso(d.statusUpdatedTime),
    lastActivityTime: iso(d.lastActivityTime),
    cloudToDeviceMessageCount: c2dCount,
    authentication: authenticationJson(d),
    capabilities: { iotEdge: d.iotEdge ?? false },
  };
}

/** A module in the service's JSON shape. */
export function moduleJson(m: Readonly<ModuleIdentity>): object {
  return {
    moduleId: m.moduleId,
    deviceId: m.deviceId,
    generationId: m.generationId,
    etag: etagOf(m.version),
    connectionState: m.connectionState,
    connectionStateUpdatedTime: iso(m.connectionStateUpdatedTime),
    lastActivityTime: NEVER,
    cloudToDeviceMessageCount: 0,
    authentication: authenticationJson(m),
  };
}

const bad = (message: string): RestError => new RestError('ArgumentInvalid', message);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key the service takes: base64 of 16 to 64 bytes. '' and null mean "not given" (generate or keep). */
function keyOf(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length % 4 !== 0)
    throw bad(`${name} must be a base64 string`);
  const n = Buffer.from(v, 'base64').length;
  if (n < 16 || n > 64) throw bad(`${name} must be 16 to 64 bytes, not ${n}`);
  return v;
}

function thumbprintOf(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !isValidThumbprint(v)) throw bad(`${name} must be 40 or 64 hex digits`);
  return v;
}

/**
 * Reads an identity body (device or module) into a registry spec. The ids in the body, when
 * given, must be those of the path. An `authentication` without `type` is read as azure-iothub
 * normalises it: thumbprints make it `selfSigned`, otherwise `sas`.
 */
export function identitySpecOf(
  body: unknown,
  ids: { deviceId: string; moduleId?: string },
  kind: 'device' | 'module',
): IdentitySpec {
  if (!isObject(body)) throw new RestError('ArgumentNull', `the request needs a ${kind} as a JSON object`);
  if (body.deviceId !== undefined && body.deviceId !== ids.deviceId)
    throw bad(`deviceId ${JSON.stringify(body.deviceId)} in the body is not ${ids.deviceId} of the path`);
  if (kind === 'module' && body.moduleId !== undefined && body.moduleId !== ids.moduleId)
    throw bad(`moduleId ${JSON.stringify(body.moduleId)} in the body is not ${ids.moduleId} of the path`);
  const spec: IdentitySpec = {};
  if (kind === 'device') {
    if (body.status !== undefined && body.status !== null) {
      const s = typeof body.status === 'string' ? body.status.toLowerCase() : '';
      if (s !== 'enabled' && s !== 'disabled') throw bad('status must be enabled or disabled');
      spec.status = s as DeviceStatus;
    }
    if (body.statusReason !== undefined && body.statusReason !== null) {
      if (typeof body.statusReason !== 'string' || body.statusReason.length > 128)
        throw bad('statusReason must be a string of at most 128 characters');
      spec.statusReason = body.statusReason;
    }
    const caps = body.capabilities;
    if (caps !== undefined && caps !== null) {
      if (!isObject(caps) || (caps.iotEdge !== undefined && typeof caps.iotEdge !== 'boolean'))
        throw bad('capabilities.iotEdge must be a boolean');
      if (caps.iotEdge !== undefined) spec.iotEdge = caps.iotEdge;
    }
  }
  const auth = body.authentication;
  if (auth === undefined || auth === null) return spec;
  if (!isObject(auth)) throw bad('authentication must be an object');
  const keys = auth.symmetricKey;
  const prints = auth.x509Thumbprint;
  if (keys !== undefined && keys !== null && !isObject(keys)) throw bad('symmetricKey must be an object');
  if (prints !== undefined && prints !== null && !isObject(prints))
    throw bad('x509Thumbprint must be an object');
  const primaryKey = keyOf(keys?.primaryKey, 'primaryKey');
  const secondaryKey = keyOf(keys?.secondaryKey, 'secondaryKey');
  const primaryThumbprint = thumbprintOf(prints?.primaryThumbprint, 'primaryThumbprint');
  const secondaryThumbprint = thumbprintOf(prints?.secondaryThumbprint, 'secondaryThumbprint');
  let type = auth.type;
  if (type === undefined || type === null)
    type = primaryThumbprint !== undefined || secondaryThumbprint !== undefined ? 'selfSigned' : 'sas';
  if (typeof type !== 'string' || !AUTHENTICATION_TYPES.includes(type as AuthenticationType))
    throw bad(`authentication.type must be one of ${AUTHENTICATION_TYPES.join(', ')}`);
  spec.authType = type as AuthenticationType;
  if (type === 'sas') {
    if (primaryKey !== undefined) spec.primaryKey = primaryKey;
    if (secondaryKey !== undefined) spec.secondaryKey = secondaryKey;
  } else if (type === 'selfSigned') {
    if (primaryThumbprint === undefined && secondaryThumbprint === undefined)
      throw bad('a selfSigned identity needs x509Thumbprint.primaryThumbprint or secondaryThumbprint');
    // Both given together: a missing one is cleared, not kept.
    spec.primaryThumbprint = primaryThumbprint ?? '';
    spec.secondaryThumbprint = secondaryThumbprint ?? '';
  }
  return spec;
}

/** Registry errors of a well-formed request (a bad id, say) as the service's. */
function registryCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isHubError(e, 'HUB_BAD_ARGUMENT') || isHubError(e, 'HUB_BAD_REGISTRY')) throw bad(e.message);
    throw e;
  }
}

/** Whether an If-Match value allows a change to an identity at `version`. */
function precondition(ifMatch: string | undefined, version: number, what: string): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  if (ifMatch !== etagOf(version))
    throw new RestError(
      'PreconditionFailed',
      `Precondition failed: the etag ${JSON.stringify(ifMatch.slice(0, 64))} is not the current one of ${what}`,
    );
}

/** The registry routes on a hub state. */
export function registryRoutes(state: HubState): RestRoute[] {
  const registry = state.registry;

  /** Waits for the registry file, so that an answer means stored. */
  const saved = async (): Promise<void> => {
    await state.saveRegistry();
    if (state.storeError) throw new RestError('ServerError', 'the registry could not be stored');
  };
  const device = (id: string): Readonly<DeviceIdentity> => {
    const d = registry.getDevice(id);
    if (!d) throw new RestError('DeviceNotFound', `Device ${id} not registered`);
    return d;
  };
  const module = (id: string, mid: string): Readonly<ModuleIdentity> => {
    const m = device(id).modules.get(mid);
    if (!m) throw new RestError('ModuleNotFound', `Module ${mid} not registered on device ${id}`);
    return m;
  };
  const deviceReply = (d: Readonly<DeviceIdentity>): RestReply => ({
    status: 200,
    body: deviceJson(d, state.c2d.depth(d.deviceId)),
    etag: etagOf(d.version),
  });
  const moduleReply = (m: Readonly<ModuleIdentity>): RestReply => ({
    status: 200,
    body: moduleJson(m),
    etag: etagOf(m.version),
  });

  return [
    {
      method: 'PUT',
      pattern: '/devices/{deviceId}',
      right: 'RegistryWrite',
      body: true,
      async handle(req: RestRequest): Promise<RestReply> {
        const id = req.params.deviceId!;
        const spec = identitySpecOf(req.body, { deviceId: id }, 'device');
        const ifMatch = ifMatchOf(req.headers);
        let d: Readonly<DeviceIdentity>;
        if (ifMatch === undefined) {
          if (registry.getDevice(id))
            throw new RestError('DeviceAlreadyExists', `A device with ID '${id}' is already registered`);
          d = registryCall(() => registry.addDevice(id, spec));
        } else {
          precondition(ifMatch, device(id).version, `device ${id}`);
          d = registryCall(() => registry.updateDevice(id, spec));
        }
        await saved();
        return deviceReply(d);
      },
    },
    {
      method: 'GET',
      pattern: '/devices/{deviceId}',
      right: 'RegistryRead',
      handle: (req) => deviceReply(device(req.params.deviceId!)),
    },
    {
      method: 'GET',
      pattern: '/devices',
      right: 'RegistryRead',
      handle(req) {
        const topText = req.query.get('top');
        let top = MAX_LIST_DEVICES;
        if (topText !== null) {
          top = /^\d{1,4}$/.test(topText) ? Number(topText) : NaN;
          if (!(top >= 1 && top <= MAX_LIST_DEVICES)) throw bad(`top must be 1 to ${MAX_LIST_DEVICES}`);
        }
        const list = registry
          .listDevices()
          .slice(0, top)
          .map((d) => deviceJson(d, state.c2d.depth(d.deviceId)));
        return { status: 200, body: list };
      },
    },
    {
      method: 'DELETE',
      pattern: '/devices/{deviceId}',
      right: 'RegistryWrite',
      async handle(req) {
        const id = req.params.deviceId!;
        precondition(ifMatchOf(req.headers), device(id).version, `device ${id}`);
        state.removeDevice(id);
        await saved();
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      pattern: '/devices/{deviceId}/modules/{moduleId}',
      right: 'RegistryWrite',
      body: true,
      async handle(req) {
        const id = req.params.deviceId!;
        const mid = req.params.moduleId!;
        const spec = identitySpecOf(req.body, { deviceId: id, moduleId: mid }, 'module');
        const ifMatch = ifMatchOf(req.headers);
        let m: Readonly<ModuleIdentity>;
        if (ifMatch === undefined) {
          if (device(id).modules.has(mid))
            throw new RestError(
              'ModuleAlreadyExistsOnDevice',
              `A module with ID '${mid}' is already registered on device '${id}'`,
            );
          m = registryCall(() => registry.addModule(id, mid, spec));
        } else {
          precondition(ifMatch, module(id, mid).version, `module ${id}/${mid}`);
          m = registryCall(() => registry.updateModule(id, mid, spec));
        }
        await saved();
        return moduleReply(m);
      },
    },
    {
      method: 'GET',
      pattern: '/devices/{deviceId}/modules/{moduleId}',
      right: 'RegistryRead',
      handle: (req) => moduleReply(module(req.params.deviceId!, req.params.moduleId!)),
    },
    {
      method: 'GET',
      pattern: '/devices/{deviceId}/modules',
      right: 'RegistryRead',
      handle: (req) => ({
        status: 200,
        body: [...device(req.params.deviceId!).modules.values()].map(moduleJson),
      }),
    },
    {
      method: 'DELETE',
      pattern: '/devices/{deviceId}/modules/{moduleId}',
      right: 'RegistryWrite',
      async handle(req) {
        const id = req.params.deviceId!;
        const mid = req.params.moduleId!;
        precondition(ifMatchOf(req.headers), module(id, mid).version, `module ${id}/${mid}`);
        state.removeModule(id, mid);
        await saved();
        return { status: 204 };
      },
    },
  ];
}
