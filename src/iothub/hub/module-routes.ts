/**
 * Routes from a module's output to a module's input, as IoT Edge's edge hub has them
 * (`FROM /messages/modules/A/outputs/o INTO BrokeredEndpoint("/modules/B/inputs/i")`), written in
 * the registry file:
 *
 *   "routes": [{ "from": { "deviceId": "edge1", "moduleId": "sensor", "output": "temperature" },
 *                "to":   { "deviceId": "edge1", "moduleId": "filter", "input": "readings" } }]
 *
 * Matching is exact (case-sensitive, no wildcards); one output may feed several inputs. Both
 * modules must exist when the routes are loaded; a route whose module was removed later matches
 * nothing. At most MAX_MODULE_ROUTES routes.
 */
import { HubError } from './errors.js';
import { ID_RE } from './identity-id.js';

export interface ModuleRouteJson {
  from: { deviceId: string; moduleId: string; output: string };
  to: { deviceId: string; moduleId: string; input: string };
}
export type ModuleRoute = Readonly<ModuleRouteJson>;

/** How many routes a registry holds. */
export const MAX_MODULE_ROUTES = 1000;

/** Output and input names: 1 to 128 visible ASCII characters, no '/' (they end an address). */
const NAME_RE = /^[\x21-\x2e\x30-\x7e]{1,128}$/;

function bad(msg: string): never {
  throw new HubError('HUB_BAD_REGISTRY', `registry: ${msg}`);
}

/** Validates the `routes` of a registry document (HUB_BAD_REGISTRY); returns fresh copies. */
export function parseModuleRoutes(input: unknown): ModuleRoute[] {
  if (!Array.isArray(input)) bad('routes must be an array');
  if (input.length > MAX_MODULE_ROUTES) bad(`at most ${MAX_MODULE_ROUTES} routes`);
  const seen = new Set<string>();
  return input.map((r: unknown, i): ModuleRoute => {
    const where = `routes[${i}]`;
    if (typeof r !== 'object' || r === null) bad(`${where} must be an object with from and to`);
    const { from, to } = r as Partial<ModuleRouteJson>;
    const f = endpoint(from, `${where}.from`, 'output');
    const t = endpoint(to, `${where}.to`, 'input');
    const route: ModuleRoute = {
      from: { deviceId: f.deviceId, moduleId: f.moduleId, output: f.name },
      to: { deviceId: t.deviceId, moduleId: t.moduleId, input: t.name },
    };
    const key = JSON.stringify(route);
    if (seen.has(key)) bad(`${where} repeats an earlier route`);
    seen.add(key);
    return route;
  });
}

function endpoint(
  e: unknown,
  where: string,
  nameKey: 'output' | 'input',
): { deviceId: string; moduleId: string; name: string } {
  if (typeof e !== 'object' || e === null) bad(`${where} must be an object`);
  const o = e as Record<string, unknown>;
  for (const k of ['deviceId', 'moduleId'] as const)
    if (typeof o[k] !== 'string' || !ID_RE.test(o[k])) bad(`${where}.${k} is invalid`);
  const name = o[nameKey];
  if (typeof name !== 'string' || !NAME_RE.test(name))
    bad(`${where}.${nameKey} must be 1 to 128 visible ASCII characters without '/'`);
  return { deviceId: o.deviceId as string, moduleId: o.moduleId as string, name };
}

/** The `{deviceId}/{moduleId}` of each end that `exists` does not know, for the first route that has one. */
export function missingModule(
  routes: readonly ModuleRoute[],
  exists: (deviceId: string, moduleId: string) => boolean,
): string | undefined {
  for (const r of routes)
    for (const e of [r.from, r.to]) if (!exists(e.deviceId, e.moduleId)) return `${e.deviceId}/${e.moduleId}`;
  return undefined;
}
