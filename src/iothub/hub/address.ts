/**
 * Link addresses of contract section 4, parsed once for the AMQP layer. Addresses may arrive as
 * full URIs (`amqps://host:5671/devices/d1/messages/events`, as uAMQP sends them) or as paths,
 * with or without the leading slash, in any case; ids are URL-decoded and keep their case.
 * Routing never looks at link properties (Node leaks them across links).
 */

export type HubAddress =
  /** `/devices/{d}/messages/events` or `/devices/{d}/modules/{m}/messages/events` (telemetry / module output, or module input for a receiver). */
  | { kind: 'deviceEvents'; deviceId: string; moduleId?: string }
  /** `/devices/{d}/messages/devicebound`: the device's C2D receiver. */
  | { kind: 'deviceBound'; deviceId: string; moduleId?: string }
  /** `/devices/{d}[/modules/{m}]/methods/devicebound`. */
  | { kind: 'methods'; deviceId: string; moduleId?: string }
  /** `/devices/{d}[/modules/{m}]/twin`. */
  | { kind: 'twin'; deviceId: string; moduleId?: string }
  /** `/messages/devicebound`: the service's C2D sender. */
  | { kind: 'serviceDeviceBound' }
  /** `/messages/serviceBound/feedback`. */
  | { kind: 'feedback' }
  /** `/messages/serviceBound/filenotifications`. */
  | { kind: 'fileNotifications' }
  /** `/messages/events[/...]` on the hub: answered with a redirect; `suffix` is the rest of the path. */
  | { kind: 'eventsRedirect'; suffix: string }
  /** `$cbs`. */
  | { kind: 'cbs' }
  /** `<eventHub>/ConsumerGroups/<cg>/Partitions/<p>` on the Event Hubs-compatible endpoint. */
  | { kind: 'eventHubPartition'; eventHub: string; consumerGroup: string; partition: string }
  /** `<eventHub>/$management` or `$management`. */
  | { kind: 'eventHubManagement'; eventHub?: string };

/** The path segments of an address: scheme, host and query removed, empty segments dropped. */
export function addressPath(address: string): string[] {
  let s = address.trim();
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(s);
  if (m) s = s.slice(m[0].length);
  const q = s.search(/[?#]/);
  if (q >= 0) s = s.slice(0, q);
  return s.split('/').filter((p) => p.length > 0);
}

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Parses a link address; undefined for an address the hub does not serve. */
export function parseHubAddress(address: string | undefined | null): HubAddress | undefined {
  if (typeof address !== 'string') return undefined;
  const raw = addressPath(address);
  const seg = raw.map((s) => s.toLowerCase());
  const n = seg.length;
  if (n === 1 && seg[0] === '$cbs') return { kind: 'cbs' };
  if (n === 1 && seg[0] === '$management') return { kind: 'eventHubManagement' };
  if (seg[0] === 'devices' && n >= 3) {
    const deviceId = decode(raw[1]!);
    let rest = seg.slice(2);
    let moduleId: string | undefined;
    if (rest[0] === 'modules' && rest.length >= 2) {
      moduleId = decode(raw[3]!);
      rest = rest.slice(2);
    }
    const ids = moduleId === undefined ? { deviceId } : { deviceId, moduleId };
    const tail = rest.join('/');
    if (tail === 'messages/events') return { kind: 'deviceEvents', ...ids };
    if (tail === 'messages/devicebound') return { kind: 'deviceBound', ...ids };
    if (tail === 'methods/devicebound') return { kind: 'methods', ...ids };
    if (tail === 'twin') return { kind: 'twin', ...ids };
    return undefined;
  }
  if (seg[0] === 'messages') {
    const tail = seg.slice(1).join('/');
    if (tail === 'devicebound') return { kind: 'serviceDeviceBound' };
    if (tail === 'servicebound/feedback') return { kind: 'feedback' };
    if (tail === 'servicebound/filenotifications') return { kind: 'fileNotifications' };
    if (seg[1] === 'events') return { kind: 'eventsRedirect', suffix: raw.slice(2).join('/') };
    return undefined;
  }
  if (n === 5 && seg[1] === 'consumergroups' && seg[3] === 'partitions')
    return {
      kind: 'eventHubPartition',
      eventHub: decode(raw[0]!),
      consumerGroup: decode(raw[2]!),
      partition: decode(raw[4]!),
    };
  if (n === 2 && seg[1] === '$management') return { kind: 'eventHubManagement', eventHub: decode(raw[0]!) };
  return undefined;
}

/**
 * The target device of a C2D message from its `to` (`/devices/{id}/messages/devicebound`), or
 * undefined when `to` is not such an address.
 */
export function deviceOfC2dAddress(to: unknown): string | undefined {
  if (typeof to !== 'string') return undefined;
  const a = parseHubAddress(to);
  return a?.kind === 'deviceBound' && a.moduleId === undefined ? a.deviceId : undefined;
}
