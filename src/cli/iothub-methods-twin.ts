/**
 * `amqp-one iothub invoke-method` and `amqp-one iothub twin get|update`: the service side of direct
 * methods and twins, over IoT Hub's REST API (RegistryClient), for a device or a module
 * (`<deviceId>/<moduleId>`). An error of the hub is its typed error (IOTHUB_DEVICE_NOT_FOUND,
 * IOTHUB_DEVICE_NOT_ONLINE, IOTHUB_TIMEOUT, IOTHUB_PRECONDITION_FAILED...), exit 1; what the
 * device answered, whatever its status, is printed, exit 0.
 */
import type { TwinPatch } from '../iothub/client/index.js';
import { int, noPositionals, out, parse, positiveInt, UsageError } from './args.js';
import { common, identityArg, jsonArg, jsonObjectArg, registryOf } from './iothub-common.js';

export const INVOKE_METHOD_HELP = `amqp-one iothub invoke-method <deviceId>[/<moduleId>] <method> [--payload JSON] [--response-timeout S] [--connect-timeout S] [--port HTTPS_PORT]
  Calls a direct method (a policy with ServiceConnect) and prints the status and JSON payload the
  device answered (exit 0 whatever that status). --payload: the request's JSON (default null);
  --response-timeout: seconds the device has to answer (5 to 300, default 30: then IOTHUB_TIMEOUT,
  IoT Hub's 504101); --connect-timeout: seconds to wait for a device that is not connected
  (default 0: IOTHUB_DEVICE_NOT_ONLINE at once, IoT Hub's 404103).`;

export const TWIN_HELP = `amqp-one iothub twin <get|update> <deviceId>[/<moduleId>] [--port HTTPS_PORT]
  The device or module twin, over IoT Hub's REST API (RegistryRead to get, RegistryWrite to update).
  get: prints the twin (tags, desired and reported properties with their $version, etag, modelId).
  update --desired JSON [--tags JSON] | --patch JSON [--etag E] [--replace]: merges the JSON objects
    into the desired properties and tags (null removes a key), or --patch a whole
    {"tags":{...},"properties":{"desired":{...}}} document; --replace replaces them instead (what
    the patch leaves out is emptied). --etag: only if the twin is still at that etag (else
    IOTHUB_PRECONDITION_FAILED), default whatever it is now. Prints the updated twin.`;

const methodOptions = {
  ...common,
  payload: { type: 'string' },
  'response-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  port: { type: 'string' },
} as const;

export async function invokeMethodCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, methodOptions);
  const [target, methodName, ...extra] = positionals;
  noPositionals(extra);
  const { deviceId, moduleId } = identityArg(target, 'invoke-method');
  if (methodName === undefined || methodName === '')
    throw new UsageError('invoke-method needs a method name');
  const payload = v.payload === undefined ? null : jsonArg(v.payload, 'payload');
  const responseTimeoutInSeconds =
    v['response-timeout'] === undefined
      ? undefined
      : positiveInt(v['response-timeout'], 'response-timeout', 30);
  if (
    responseTimeoutInSeconds !== undefined &&
    (responseTimeoutInSeconds < 5 || responseTimeoutInSeconds > 300)
  )
    throw new UsageError(`--response-timeout must be 5 to 300 seconds, got ${responseTimeoutInSeconds}`);
  const connectTimeoutInSeconds =
    v['connect-timeout'] === undefined ? undefined : int(v['connect-timeout'], 'connect-timeout', 0);
  if (connectTimeoutInSeconds !== undefined && connectTimeoutInSeconds > 300)
    throw new UsageError(`--connect-timeout must be 0 to 300 seconds, got ${connectTimeoutInSeconds}`);
  const params = {
    methodName,
    payload,
    ...(responseTimeoutInSeconds === undefined ? {} : { responseTimeoutInSeconds }),
    ...(connectTimeoutInSeconds === undefined ? {} : { connectTimeoutInSeconds }),
  };
  const registry = registryOf(v);
  try {
    const r =
      moduleId === undefined
        ? await registry.invokeDeviceMethod(deviceId, params)
        : await registry.invokeModuleMethod(deviceId, moduleId, params);
    out(v.json ?? false, `status ${r.status}\n${JSON.stringify(r.payload, null, 2)}`, r);
  } finally {
    registry.close();
  }
  return 0;
}

const twinOptions = {
  ...common,
  port: { type: 'string' },
  desired: { type: 'string' },
  tags: { type: 'string' },
  patch: { type: 'string' },
  etag: { type: 'string' },
  replace: { type: 'boolean' },
} as const;

/** The patch `twin update` sends: --patch alone, or --desired and --tags. */
function twinPatchOf(v: { desired?: string; tags?: string; patch?: string }): TwinPatch {
  if (v.patch !== undefined) {
    if (v.desired !== undefined || v.tags !== undefined)
      throw new UsageError('--patch is the whole patch: give it alone, or --desired and --tags');
    const p = jsonObjectArg(v.patch, 'patch');
    const unknown = Object.keys(p).filter((k) => k !== 'tags' && k !== 'properties');
    if (unknown.length > 0)
      throw new UsageError(`--patch holds tags and properties.desired only, not ${unknown.join(', ')}`);
    return p as TwinPatch;
  }
  if (v.desired === undefined && v.tags === undefined)
    throw new UsageError('twin update needs --desired JSON, --tags JSON or --patch JSON');
  return {
    ...(v.tags === undefined ? {} : { tags: jsonObjectArg(v.tags, 'tags') }),
    ...(v.desired === undefined ? {} : { properties: { desired: jsonObjectArg(v.desired, 'desired') } }),
  };
}

export async function twinCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'get' && action !== 'update')
    throw new UsageError(
      action === undefined ? 'twin needs get or update' : `unknown twin command ${action}`,
    );
  const { values: v, positionals } = parse(rest, twinOptions);
  const [target, ...extra] = positionals;
  noPositionals(extra);
  const { deviceId, moduleId } = identityArg(target, `twin ${action}`);
  const options = moduleId === undefined ? {} : { moduleId };
  let patch: TwinPatch | undefined;
  if (action === 'update') patch = twinPatchOf(v);
  else if (['desired', 'tags', 'patch', 'etag', 'replace'].some((k) => k in v))
    throw new UsageError('twin get takes no --desired, --tags, --patch, --etag or --replace');
  const registry = registryOf(v);
  try {
    const twin =
      patch === undefined
        ? await registry.getTwin(deviceId, options)
        : await registry.updateTwin(deviceId, patch, v.etag ?? '*', {
            ...options,
            ...(v.replace ? { replace: true } : {}),
          });
    out(v.json ?? false, JSON.stringify(twin, null, 2), twin);
  } finally {
    registry.close();
  }
  return 0;
}
