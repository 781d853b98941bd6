/**
 * Routes every attach by its address (contract section 4), never by link properties (the Node SDK
 * leaks them across links). Addresses may be full URIs and in any case (hub/address.ts).
 *
 * | address | client role | what happens |
 * |---|---|---|
 * | `$cbs` | sender / receiver | put-token requests / responses |
 * | `/devices/{d}[/modules/{m}]/messages/events` | sender | telemetry (DeviceConnect for d[/m]) |
 * | `/devices/{d}/modules/{m}/messages/events` | receiver | module input: what routes queued for m (DeviceConnect for d/m) |
 * | `/devices/{d}/messages/devicebound` | receiver | C2D deliveries (DeviceConnect for d) |
 * | `/messages/devicebound` | sender | service C2D (ServiceConnect) |
 * | `/messages/serviceBound/feedback` | receiver | feedback (ServiceConnect) |
 * | `/messages/serviceBound/filenotifications` | receiver | accepted, never delivers (no file upload) |
 * | `/messages/events[/...]` | receiver | redirect to the Event Hubs-compatible endpoint (ServiceConnect) |
 * | `<eh>/ConsumerGroups/<cg>/Partitions/<p>` | receiver | events (ServiceConnect on the entity) |
 * | `[<eh>/]$management` | sender / receiver | READ requests / responses |
 * | one path segment (`cbs`, `mgmt-<uuid>`, ...) | receiver | a reply node for CBS / management responses |
 * | `/devices/{d}[/modules/{m}]/methods/devicebound` | receiver / sender | method requests / responses (DeviceConnect for d[/m]) |
 * | `/devices/{d}[/modules/{m}]/twin` | sender / receiver | twin requests / responses and desired pushes (DeviceConnect for d[/m]) |
 *
 * Refusals (attach without terminus, then detach with the error): no grant covering the link (nor
 * a client certificate good for its device: x509.ts) `amqp:unauthorized-access` with one description whatever the device (unknown, disabled or not
 * the caller's: nothing to enumerate); then, for a caller whose grant covers the device, an unknown
 * device or module `amqp:not-found` and a disabled one `amqp:unauthorized-access`; an unknown
 * address `amqp:not-found` with IoT Hub's error JSON (404006) as description and
 * `com.microsoft:is-filtered: true` in the info (contract section 12). Every accepted attach echoes
 * the client's source and target.
 * A connection without a grant (bare header, ANONYMOUS, MSSBCBS) gets only `$cbs` and reply nodes.
 * An authorized link of a device or module may carry `com.microsoft:model-id` (the C# and Java SDKs
 * put it on their sending links): the identity's twin shows it as `modelId`; one that is not a
 * string of 1 to 4096 characters is refused with `amqp:invalid-field`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingLink } from '../../server/server-connection.js';
import { Condition } from '../../protocol/conditions.js';
import type { AmqpError } from '../../protocol/errors.js';
import { addressPath, parseHubAddress } from '../hub/address.js';
import { entry } from '../message-values.js';
import type { Resource } from './auth.js';
import { serveCbs } from './cbs.js';
import { serveDeviceBound, serveFeedback, serveModuleInput, serveServiceC2d } from './c2d.js';
import type { ConnectionState } from './connection-state.js';
import { refuse, type EmulatorContext } from './context.js';
import { redirectEvents, servePartition } from './events.js';
import { serveManagement } from './management.js';
import { serveMethodRequests, serveMethodResponses } from './methods.js';
import { serveTwinRequests, serveTwinResponses } from './twin.js';
import { serveTelemetry } from './telemetry.js';
import { authorizeByCertificate } from './x509.js';

function devicePath(deviceId: string, moduleId: string | undefined, tail: string): string {
  return `devices/${deviceId}${moduleId === undefined ? '' : `/modules/${moduleId}`}/${tail}`;
}

/**
 * Checks the link's resource against the connection's grants (refusing it when none covers it) and
 * registers it to be detached when they expire. Returns whether the link may go on.
 */
function authorize(ctx: EmulatorContext, cs: ConnectionState, l: IncomingLink, r: Resource): boolean {
  // Grants first, with one answer for every refusal: an unknown, a disabled and someone else's
  // device look the same to a client that holds no credential for them.
  if (!cs.allows(r, ctx.clock.now())) {
    // An X.509 client names its device only here, with the link: its certificate is judged now.
    const refusal = authorizeByCertificate(
      ctx.state.registry,
      cs.certificate,
      r,
      ctx.clock.now(),
      cs,
      ctx.log,
    );
    if (refusal !== undefined) {
      refuse(l, Condition.UnauthorizedAccess, refusal);
      return false;
    }
    ctx.grantsChanged();
  }
  if (r.deviceId !== undefined) {
    // Only a credential for this device (or a policy with DeviceConnect) gets this far.
    const d = ctx.state.registry.getDevice(r.deviceId);
    if (!d || (r.moduleId !== undefined && !d.modules.has(r.moduleId))) {
      refuse(
        l,
        Condition.NotFound,
        r.moduleId === undefined
          ? `Device ${r.deviceId} not found.`
          : `Module ${r.deviceId}/${r.moduleId} not found.`,
      );
      return false;
    }
    if (d.status !== 'enabled') {
      refuse(l, Condition.UnauthorizedAccess, `Device ${r.deviceId} is disabled.`);
      return false;
    }
  }
  // A faulted device's re-attach is refused only now, so that nobody else learns of the fault.
  if (ctx.faults?.refuseDuringFault(cs, l)) return false;
  const link = l.engineLink;
  cs.guard({
    name: l.name,
    resource: r,
    gone: () => link.local === 'detached',
    detach: (error: AmqpError) => {
      link.detach({ error });
      l.connection.schedule();
    },
  });
  return true;
}

/** The attach property of an IoT Plug and Play model id, and DTDL's bound on its length. */
const MODEL_ID_PROPERTY = 'com.microsoft:model-id';
const MAX_MODEL_ID_LENGTH = 4096;

/** Records the model id an authorized device or module link announces; false when it refused the link. */
function announceModelId(ctx: EmulatorContext, l: IncomingLink, r: Resource): boolean {
  const v = entry(l.remoteAttach.properties, MODEL_ID_PROPERTY);
  if (v === undefined || v === null) return true;
  if (typeof v !== 'string' || v === '' || v.length > MAX_MODEL_ID_LENGTH) {
    refuse(
      l,
      Condition.InvalidField,
      `${MODEL_ID_PROPERTY} must be a string of 1 to ${MAX_MODEL_ID_LENGTH} characters (a DTMI).`,
    );
    return false;
  }
  ctx.state.registry.setModelId(r.deviceId!, v, r.moduleId);
  return true;
}

export function routeLink(ctx: EmulatorContext, l: IncomingLink): void {
  const cs = ctx.connection(l.connection);
  const address = l.address;
  const a = parseHubAddress(address);
  const clientReceives = l.role === 'sender';
  const notHere = (what: string): void =>
    refuse(l, Condition.NotImplemented, `${what} is not emulated by the amqp-one IoT hub emulator.`);
  const wrongRole = (): void =>
    refuse(
      l,
      Condition.NotAllowed,
      `A ${clientReceives ? 'receiver' : 'sender'} cannot attach to ${String(address)}.`,
    );

  switch (a?.kind) {
    case 'cbs':
      if (clientReceives) return cs.addReplyLink(replyLinkOf(l), ctx.log);
      return serveCbs(ctx, cs, l);
    case 'eventHubManagement':
      if (clientReceives) return cs.addReplyLink(replyLinkOf(l), ctx.log);
      return serveManagement(ctx, cs, l);
    case 'deviceEvents': {
      // A receiver here is a module's input; a device has none.
      if (clientReceives && a.moduleId === undefined) return wrongRole();
      const r: Resource = {
        path: devicePath(a.deviceId, a.moduleId, 'messages/events'),
        right: 'DeviceConnect',
        deviceId: a.deviceId,
      };
      if (a.moduleId !== undefined) r.moduleId = a.moduleId;
      if (!authorize(ctx, cs, l, r) || !announceModelId(ctx, l, r)) return;
      if (clientReceives) return serveModuleInput(ctx, l, a.deviceId, a.moduleId!);
      return serveTelemetry(ctx, l, a.deviceId, a.moduleId, () => cs.grantFor(r, ctx.clock.now()));
    }
    case 'deviceBound': {
      if (!clientReceives) return wrongRole();
      if (a.moduleId !== undefined) return notHere('Cloud-to-module messaging');
      const r: Resource = {
        path: devicePath(a.deviceId, undefined, 'messages/devicebound'),
        right: 'DeviceConnect',
        deviceId: a.deviceId,
      };
      if (!authorize(ctx, cs, l, r) || !announceModelId(ctx, l, r)) return;
      return serveDeviceBound(ctx, l, a.deviceId);
    }
    case 'methods':
    case 'twin': {
      const r: Resource = {
        path: devicePath(a.deviceId, a.moduleId, a.kind === 'twin' ? 'twin' : 'methods/devicebound'),
        right: 'DeviceConnect',
        deviceId: a.deviceId,
      };
      if (a.moduleId !== undefined) r.moduleId = a.moduleId;
      if (!authorize(ctx, cs, l, r) || !announceModelId(ctx, l, r)) return;
      if (a.kind === 'methods')
        return clientReceives
          ? serveMethodRequests(ctx, l, a.deviceId, a.moduleId)
          : serveMethodResponses(ctx, l, a.deviceId, a.moduleId);
      return clientReceives
        ? serveTwinResponses(l, a.deviceId, a.moduleId)
        : serveTwinRequests(ctx, l, a.deviceId, a.moduleId);
    }
    case 'serviceDeviceBound':
      if (clientReceives) return wrongRole();
      if (!authorize(ctx, cs, l, { path: 'messages/devicebound', right: 'ServiceConnect' })) return;
      return serveServiceC2d(ctx, l);
    case 'feedback':
      if (!clientReceives) return wrongRole();
      if (!authorize(ctx, cs, l, { path: 'messages/servicebound/feedback', right: 'ServiceConnect' })) return;
      return serveFeedback(ctx, l);
    case 'fileNotifications':
      if (!clientReceives) return wrongRole();
      if (
        !authorize(ctx, cs, l, { path: 'messages/servicebound/filenotifications', right: 'ServiceConnect' })
      )
        return;
      l.acceptSender();
      return;
    case 'eventsRedirect':
      if (!clientReceives) return wrongRole();
      if (!authorize(ctx, cs, l, { path: 'messages/events', right: 'ServiceConnect' })) return;
      return redirectEvents(ctx, cs, l, a.suffix);
    case 'eventHubPartition': {
      if (!clientReceives) return wrongRole();
      const r: Resource = {
        path: `${a.eventHub}/consumergroups/${a.consumerGroup}/partitions/${a.partition}`,
        right: 'ServiceConnect',
        eventHubs: true,
      };
      if (a.eventHub.toLowerCase() === ctx.state.eventHubName.toLowerCase() && !authorize(ctx, cs, l, r))
        return;
      return servePartition(ctx, l, a);
    }
    case undefined:
      // A reply node of a request/response pair: `cbs` (the IoT SDKs' reply-to), `mgmt-<uuid>`, ...
      if (clientReceives && address !== undefined && addressPath(address).length === 1)
        return cs.addReplyLink(replyLinkOf(l), ctx.log);
      return refuseUnknown(ctx, l, address);
  }
}

/**
 * The real hub's answer to an address it does not serve: amqp:not-found, its error JSON (404006)
 * as the description, and the info that says the link was filtered.
 */
function refuseUnknown(ctx: EmulatorContext, l: IncomingLink, address: string | undefined): void {
  const trackingId = randomUUID();
  const description = JSON.stringify({
    errorCode: 404006,
    trackingId,
    message: `The IoT hub has no node ${JSON.stringify(address ?? null)}.`,
    timestampUtc: new Date(ctx.clock.now()).toISOString(),
  });
  refuse(l, Condition.NotFound, description, {
    'com.microsoft:is-filtered': true,
    'com.microsoft:tracking-id': trackingId,
  });
}

function replyLinkOf(l: IncomingLink): Parameters<ConnectionState['addReplyLink']>[0] {
  const src = l.source?.address;
  const tgt = l.target?.address;
  return {
    name: l.name,
    source: typeof src === 'string' ? src : undefined,
    target: typeof tgt === 'string' ? tgt : undefined,
    sender: l.acceptSender(),
  };
}
