/**
 * Device and module twins over REST (docs/iothub-rest.md), in the JSON shape azure-iothub 1.16's
 * Twin reads (`etag`, `tags`, `properties.desired` and `.reported` each with `$metadata` and
 * `$version`) and the body its `Twin.update` sends (`{tags?, properties: {desired?}}`):
 *
 *   GET   /twins/{id}[/modules/{mid}]   the twin (ServiceConnect or RegistryRead)
 *   PATCH /twins/{id}[/modules/{mid}]   merge tags and desired (ServiceConnect or RegistryWrite)
 *   PUT   /twins/{id}[/modules/{mid}]   replace them (ServiceConnect or RegistryWrite)
 *
 * ServiceConnect reads and writes twins, as IoT Hub's permissions say (docs/iothub-rest.md names
 * the sources); the registry rights keep the access they had.
 *
 * If-Match `*` or absent writes whatever the version; an etag must be the twin's current one
 * (412 otherwise). Reported properties are the device's: a body that writes them is refused. A
 * desired change reaches the subscribed device (hub/twin.ts) before the answer, and the answer
 * waits for twins.json, so what a client was told is stored survives a crash.
 */
import type { HubState } from '../hub/hub.js';
import type { AccessRight, DeviceIdentity, ModuleIdentity } from '../hub/registry.js';
import type { TwinDocument } from '../hub/twin.js';
import { RestError, restErrorOfHub } from './rest-errors.js';
import { etagOf, ifMatchOf } from './rest-registry.js';
import type { RestReply, RestRequest, RestRoute } from './rest-router.js';

/** The rights that read a twin, and those that write its tags and desired properties. */
const TWIN_READ: readonly AccessRight[] = ['ServiceConnect', 'RegistryRead'];
const TWIN_WRITE: readonly AccessRight[] = ['ServiceConnect', 'RegistryWrite'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A twin in the service's JSON shape: the identity's fields, then the twin's own. */
export function twinJson(
  doc: TwinDocument,
  device: Readonly<DeviceIdentity>,
  module?: Readonly<ModuleIdentity>,
): object {
  const identity = module ?? device;
  return {
    deviceId: device.deviceId,
    ...(module === undefined ? {} : { moduleId: module.moduleId }),
    etag: doc.etag,
    deviceEtag: etagOf(identity.version),
    // What the device or module announced with com.microsoft:model-id; '' when none, as the hub.
    modelId: identity.modelId ?? '',
    status: device.status,
    connectionState: identity.connectionState,
    authenticationType: identity.authType,
    version: doc.version,
    tags: doc.tags,
    properties: doc.properties,
    ...(module === undefined ? { capabilities: { iotEdge: device.iotEdge ?? false } } : {}),
  };
}

/**
 * The change a PATCH or PUT body asks for. Read-only fields azure-iothub may echo (deviceId, etag,
 * version) are ignored, as the service ignores them.
 */
export function twinChangeOf(body: unknown, replace: boolean): { tags?: unknown; desired?: unknown } {
  if (!isObject(body)) throw new RestError('ArgumentNull', 'the request needs a twin as a JSON object');
  const props = body.properties;
  if (props !== undefined && props !== null && !isObject(props))
    throw new RestError('ArgumentInvalid', 'properties must be an object');
  if (props?.reported !== undefined)
    throw new RestError('ArgumentInvalid', 'reported properties are written by the device, not the service');
  const change: { tags?: unknown; desired?: unknown } = {};
  // A replace sets both: what the body leaves out is emptied.
  if (body.tags !== undefined || replace) change.tags = body.tags ?? {};
  if (props?.desired !== undefined || replace) change.desired = props?.desired ?? {};
  return change;
}

/** The twin routes on a hub state. */
export function twinRoutes(state: HubState): RestRoute[] {
  const identity = (
    req: RestRequest,
  ): { device: Readonly<DeviceIdentity>; module?: Readonly<ModuleIdentity> } => {
    const id = req.params.deviceId!;
    const mid = req.params.moduleId;
    const device = state.registry.getDevice(id);
    if (!device) throw new RestError('DeviceNotFound', `Device ${id} not registered`);
    if (mid === undefined) return { device };
    const module = device.modules.get(mid);
    if (!module) throw new RestError('ModuleNotFound', `Module ${mid} not registered on device ${id}`);
    return { device, module };
  };
  const reply = (doc: TwinDocument, req: RestRequest): RestReply => {
    const { device, module } = identity(req);
    return { status: 200, body: twinJson(doc, device, module), etag: doc.etag };
  };
  const read = (req: RestRequest): RestReply => {
    identity(req);
    try {
      return reply(state.getTwin(req.params.deviceId!, req.params.moduleId), req);
    } catch (e) {
      throw restErrorOfHub(e);
    }
  };
  const write =
    (replace: boolean) =>
    async (req: RestRequest): Promise<RestReply> => {
      identity(req);
      const change = twinChangeOf(req.body, replace);
      const etag = ifMatchOf(req.headers);
      let doc: TwinDocument;
      try {
        doc = await state.updateTwin(req.params.deviceId!, req.params.moduleId, change, {
          replace,
          ...(etag === undefined ? {} : { etag }),
        });
      } catch (e) {
        throw restErrorOfHub(e);
      }
      if (state.storeError) throw new RestError('ServerError', 'the twin could not be stored');
      return reply(doc, req);
    };

  const routes: RestRoute[] = [];
  for (const pattern of ['/twins/{deviceId}', '/twins/{deviceId}/modules/{moduleId}'])
    routes.push(
      { method: 'GET', pattern, right: TWIN_READ, handle: read },
      { method: 'PATCH', pattern, right: TWIN_WRITE, body: true, handle: write(false) },
      { method: 'PUT', pattern, right: TWIN_WRITE, body: true, handle: write(true) },
    );
  return routes;
}
