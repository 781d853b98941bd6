/**
 * The REST API's routing, as pure functions over a parsed request (no sockets: rest-server.ts
 * reads the request, this decides): a route table of `METHOD /pattern/{param}` entries, each with
 * the shared-access right it needs and its handler; the api-version check; and authorization by
 * the `Authorization: SharedAccessSignature ...` header. Registry routes live in
 * rest-registry.ts, twin routes in rest-twin.ts, direct methods in rest-methods.ts; more are added
 * the same way, with `routes.add(...)`.
 *
 * Order of the checks, cheapest first and none of them reading a body: the route (404, 405), the
 * api-version (400), the token and its right (401). Only then is the body read (rest-server.ts),
 * so a request without a valid token costs at most its head.
 */
import type { AccessRight } from '../hub/registry.js';
import { grantAllows, verifyToken, type AuthConfig, type Grant, type Resource } from './auth.js';
import { RestError } from './rest-errors.js';

/** The HTTP methods the REST API's routes use. */
export type RestMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';

/** A request as a handler sees it: authorized, its JSON body parsed. */
export interface RestRequest {
  method: RestMethod;
  /** The path without the query, as sent. */
  path: string;
  /** The `{name}` segments of the route's pattern, URI-decoded. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Header names lower case. */
  headers: ReadonlyMap<string, string>;
  /** The parsed JSON body (undefined when there is none). */
  body: unknown;
  grant: Grant;
  /** The hub's clock (epoch ms). */
  now: number;
}

/** What a handler answers: a status, a JSON body, an etag (quoted in the ETag header). */
export interface RestReply {
  status: number;
  body?: unknown;
  etag?: string;
}

/** One entry of the route table. */
export interface RestRoute {
  method: RestMethod;
  /** `/devices/{deviceId}/modules/{moduleId}`: literal segments match case-insensitively. */
  pattern: string;
  /**
   * The shared-access right a token needs (a policy's; DeviceConnect also takes the device's own),
   * or the rights any one of which will do.
   */
  right: AccessRight | readonly AccessRight[];
  /** Whether the route takes a JSON body (others must come without one). */
  body?: boolean;
  /**
   * The route's own deadline from authorization to answer (ms), in place of the server's
   * `requestTimeoutMs`: a direct method waits up to its connect and response timeouts. Applied
   * only once the token is accepted, so an unauthenticated request never holds one.
   */
  deadlineMs?: number;
  /** The answer; a RestError thrown here is answered as IoT Hub's error, anything else as a 500. */
  handle(req: RestRequest): RestReply | Promise<RestReply>;
}

/** The API versions azure-iothub 1.16 sends: 2021-04-12 (registry, twin, methods), 2020-09-30 (its generated client). */
export const REST_API_VERSIONS: readonly string[] = ['2021-04-12', '2020-09-30'];

interface Compiled {
  route: RestRoute;
  segments: { literal?: string; param?: string }[];
}

/** The segments of a path: empty ones (a trailing or doubled slash) dropped. */
function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** A route table; {@link RouteTable.match} finds the route of a method and path. */
export class RouteTable {
  private readonly routes: Compiled[] = [];

  /** Adds a route; a second route for the same method and pattern is a programming error. */
  add(route: RestRoute): this {
    const segments: Compiled['segments'] = segmentsOf(route.pattern).map((s) => {
      const m = /^\{(\w+)\}$/.exec(s);
      return m ? { param: m[1]! } : { literal: s.toLowerCase() };
    });
    const shape = (c: Pick<Compiled, 'segments'>): string =>
      c.segments.map((s) => s.literal ?? '{}').join('/');
    if (this.routes.some((c) => c.route.method === route.method && shape(c) === shape({ segments })))
      throw new TypeError(`route ${route.method} ${route.pattern} is already in the table`);
    this.routes.push({ route, segments });
    return this;
  }

  /**
   * The route for `method` and `path` (no query) with its params; RestError NotFound when no
   * pattern matches, MethodNotAllowed when one does for other methods, ArgumentInvalid for a
   * segment that is not valid percent-encoding.
   */
  match(method: string, path: string): { route: RestRoute; params: Record<string, string> } {
    const parts = segmentsOf(path);
    let otherMethod = false;
    for (const c of this.routes) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const s = c.segments[i]!;
        if (s.literal !== undefined) ok = parts[i]!.toLowerCase() === s.literal;
        else params[s.param!] = decodeSegment(parts[i]!);
      }
      if (!ok) continue;
      if (c.route.method === method) return { route: c.route, params };
      otherMethod = true;
    }
    if (otherMethod) throw new RestError('MethodNotAllowed', `${method} is not allowed on ${path}`);
    throw new RestError('NotFound', `${path} is not a resource of this IoT hub`);
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RestError(
      'ArgumentInvalid',
      `the path segment ${JSON.stringify(s)} is not valid percent-encoding`,
    );
  }
}

/** Throws InvalidProtocolVersion unless `api-version` is one of {@link REST_API_VERSIONS}. */
export function checkApiVersion(query: URLSearchParams): string {
  const v = query.get('api-version');
  if (v === null || v === '')
    throw new RestError('InvalidProtocolVersion', 'Protocol version is required. But, it was not provided');
  if (!REST_API_VERSIONS.includes(v))
    throw new RestError(
      'InvalidProtocolVersion',
      `Invalid protocol version: ${v.slice(0, 32)}. Supported: ${REST_API_VERSIONS.join(', ')}`,
    );
  return v;
}

/** IoT Hub's rights imply others: RegistryWrite includes RegistryRead (as the service's AccessRights enum has it). */
function rightsOf(grant: Grant): readonly AccessRight[] {
  return grant.rights.includes('RegistryWrite') && !grant.rights.includes('RegistryRead')
    ? [...grant.rights, 'RegistryRead']
    : grant.rights;
}

/**
 * The grant of a request's `Authorization` header if it allows `right` (or one of the rights) on
 * `path` (a policy token whose scope covers the path, or for DeviceConnect the device's own token),
 * else RestError IotHubUnauthorizedAccess: the same answer for a missing, malformed, expired or
 * weaker token.
 */
export function authorize(
  auth: AuthConfig,
  header: string | undefined,
  right: AccessRight | readonly AccessRight[],
  path: string,
  params: Readonly<Record<string, string>>,
  now: number,
): Grant {
  const unauthorized = (): RestError => new RestError('IotHubUnauthorizedAccess', 'Unauthorized');
  if (header === undefined || !/^\s*SharedAccessSignature\s/i.test(header)) throw unauthorized();
  const v = verifyToken(auth, header.trim(), now);
  if (!v.ok) throw unauthorized();
  const grant = { ...v.grant, rights: rightsOf(v.grant) };
  const resourcePath = segmentsOf(path).map(decodeSegment).join('/');
  const allows = (one: AccessRight): boolean => {
    const r: Resource = { path: resourcePath, right: one };
    if (params.deviceId !== undefined) r.deviceId = params.deviceId;
    if (params.moduleId !== undefined) r.moduleId = params.moduleId;
    return grantAllows(grant, r, now);
  };
  if (!(typeof right === 'string' ? [right] : right).some(allows)) throw unauthorized();
  return v.grant;
}
