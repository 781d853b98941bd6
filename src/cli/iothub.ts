/**
 * `amqp-one iothub <command>`: the service side (monitor-events, send-c2d, feedback, and the
 * registry with `device create|list|delete`, over REST) and the device side (simulate-device,
 * receive-c2d), for a real hub or the emulator. The connection string comes
 * from --connection-string or the IOTHUB_CONNECTION_STRING environment variable; --ca adds a CA to
 * trust (the emulator's). Each subcommand has its own help, printed with its usage errors.
 */
import { readFileSync } from 'node:fs';
import { TimeoutError } from '../api/errors.js';
import {
  DeviceClient,
  RegistryClient,
  ServiceClient,
  eventText,
  jsonMessage,
  type EventPosition,
  type IdentityAuthSpec,
  type RegistryDevice,
  type RegistryModule,
} from '../iothub/client/index.js';
import { int, noPositionals, out, parse, port, positiveInt, UsageError } from './args.js';
import { toCliError } from './errors.js';

const COMMON_HELP = `Common: --connection-string CS (or IOTHUB_CONNECTION_STRING: a service string, or a device
string for simulate-device and receive-c2d), --ca FILE (a CA to trust, e.g. the emulator's), --json
(one JSON object per line on stdout).`;

const SUB_HELP: Record<string, string> = {
  'monitor-events': `amqp-one iothub monitor-events [--from earliest|latest|SEQUENCE] [--consumer-group G] [--device ID] [--count N]
  Live telemetry with its properties (like az iot hub monitor-events), until --count events or an
  interrupt.`,
  'send-c2d': `amqp-one iothub send-c2d --device ID [--body TEXT] [--ack none|positive|negative|full] [--expiry-ms N]
  Sends one cloud-to-device message and prints its message id; --ack asks for feedback.`,
  feedback: `amqp-one iothub feedback [--count N]
  Delivery feedback records (status, original message id, device) as they arrive, until --count
  records or an interrupt.`,
  'simulate-device': `amqp-one iothub simulate-device [--count N] [--rate PER_SECOND] [--body-size B]
  A device sending N telemetry messages (default 10) at a rate (default 10/s; 0 = as fast as the hub
  accepts), each a JSON reading with a seq property.`,
  device: `amqp-one iothub device <create|list|delete> [--device ID] [--module ID] [--port HTTPS_PORT]
  The registry, over IoT Hub's REST API (a policy with RegistryWrite, or RegistryRead to list).
  create --device ID [--module ID] [--auth sas|self-signed|ca] [--primary-key K] [--secondary-key K]
    [--thumbprint HEX] [--secondary-thumbprint HEX] [--disabled]: registers a device (or a module
    on it) and prints its connection string (SAS) or its authentication.
  list [--device ID] [--top N]: the devices, or the modules of --device.
  delete --device ID [--module ID] [--etag E]: deletes it (only at that etag, with --etag).
  --port: the HTTPS port when the HostName's is the AMQPS one (the emulator's --https-port).`,
  'receive-c2d': `amqp-one iothub receive-c2d [--count N] [--action complete|reject|abandon] [--timeout MS]
  The device side of C2D: receives messages, settles each with --action (default complete, which
  gives Success feedback; reject gives Rejected; abandon puts it back for redelivery) and prints it.
  Runs until --count messages (default: until interrupted). --timeout MS also bounds connecting and
  ends the wait: with --count, too few messages by then exits 1 with AMQP_TIMEOUT.`,
};

export const IOTHUB_HELP = `amqp-one iothub <monitor-events|send-c2d|feedback|device|simulate-device|receive-c2d> [options]
${Object.values(SUB_HELP)
  .map((h) => `  ${h.split('\n')[0]!.replace('amqp-one iothub ', '')}`)
  .join('\n')}
Run "amqp-one iothub <command> --help" for each command's details.
${COMMON_HELP}`;

const common = {
  'connection-string': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
  count: { type: 'string', short: 'c' },
} as const;

function setup(v: { 'connection-string'?: string; ca?: string }): { cs: string; tls: { ca?: Buffer } } {
  const cs = v['connection-string'] ?? process.env.IOTHUB_CONNECTION_STRING;
  if (!cs) throw new UsageError('give --connection-string or set IOTHUB_CONNECTION_STRING');
  return { cs, tls: { ca: v.ca ? readFileSync(v.ca) : undefined } };
}

function position(from: string | undefined): EventPosition {
  if (from === undefined || from === 'latest') return 'latest';
  if (from === 'earliest') return 'earliest';
  if (/^\d+$/.test(from)) return { sequenceNumber: BigInt(from), inclusive: true };
  throw new UsageError(`--from must be earliest, latest or a sequence number, got ${from}`);
}

/** Stops on SIGINT/SIGTERM: an AbortSignal for the streams. */
function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}

async function monitorEvents(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    from: { type: 'string' },
    'consumer-group': { type: 'string' },
    device: { type: 'string' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const count = v.count === undefined ? Infinity : positiveInt(v.count, 'count', 1);
  const service = ServiceClient.fromConnectionString(cs, { tls });
  let n = 0;
  try {
    const events = service.events({
      from: position(v.from),
      consumerGroup: v['consumer-group'],
      signal: interruptSignal(),
    });
    for await (const e of events) {
      const sp = e.systemProperties;
      if (v.device !== undefined && sp.deviceId !== v.device) continue;
      out(
        v.json ?? false,
        `[${sp.enqueuedTime.toISOString()}] ${sp.deviceId ?? '?'} partition ${e.partitionId} seq ${sp.sequenceNumber}: ${eventText(e)}` +
          (Object.keys(e.properties).length ? `  ${JSON.stringify(e.properties)}` : ''),
        {
          event: {
            origin: sp.deviceId,
            partition: e.partitionId,
            sequenceNumber: sp.sequenceNumber,
            offset: sp.offset,
            enqueuedTime: sp.enqueuedTime,
            properties: e.properties,
            contentType: e.message.properties?.contentType,
            payload: eventText(e),
          },
        },
      );
      if (++n >= count) break;
    }
  } finally {
    await service.close();
  }
  return 0;
}

async function sendC2d(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    device: { type: 'string' },
    body: { type: 'string' },
    ack: { type: 'string' },
    'expiry-ms': { type: 'string' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  if (!v.device) throw new UsageError('send-c2d needs --device');
  const ack = (v.ack ?? 'none') as 'none' | 'positive' | 'negative' | 'full';
  if (!['none', 'positive', 'negative', 'full'].includes(ack))
    throw new UsageError(`--ack must be none, positive, negative or full, got ${v.ack}`);
  const expiry = v['expiry-ms'] === undefined ? undefined : int(v['expiry-ms'], 'expiry-ms', 0);
  const service = ServiceClient.fromConnectionString(cs, { tls });
  try {
    const { messageId } = await service.send(v.device, { body: v.body ?? '' }, { ack, expiryMs: expiry });
    out(v.json ?? false, `sent to ${v.device}: message id ${messageId} (ack ${ack})`, {
      messageId,
      device: v.device,
      ack,
    });
  } finally {
    await service.close();
  }
  return 0;
}

async function feedback(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, common);
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const count = v.count === undefined ? Infinity : positiveInt(v.count, 'count', 1);
  const service = ServiceClient.fromConnectionString(cs, { tls });
  let n = 0;
  try {
    // One attempt first: an unreachable hub or a bad key fails now; later losses are reconnected.
    await service.open();
    for await (const batch of service.feedback({ signal: interruptSignal() })) {
      for (const r of batch.records) {
        out(
          v.json ?? false,
          `${r.enqueuedTimeUtc.toISOString()} ${r.statusCode} ${r.originalMessageId} (device ${r.deviceId})`,
          r,
        );
        n++;
      }
      if (n >= count) break;
    }
  } finally {
    await service.close();
  }
  return 0;
}

async function simulateDevice(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    rate: { type: 'string' },
    'body-size': { type: 'string' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const count = int(v.count, 'count', 10);
  const rate = int(v.rate, 'rate', 10);
  const pad = v['body-size'] === undefined ? 0 : int(v['body-size'], 'body-size', 0);
  const device = DeviceClient.fromConnectionString(cs, { tls });
  const started = Date.now();
  let sent = 0;
  try {
    await device.open();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      // Pace to --rate messages per second (0: as fast as the hub accepts).
      const due = rate > 0 ? started + (i * 1000) / rate : 0;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = {
        device: device.deviceId,
        seq: i,
        temperature: 20 + Math.round(Math.random() * 50) / 10,
        pad: 'x'.repeat(pad),
      };
      pending.push(
        device.sendEvent(jsonMessage(body, { properties: { seq: String(i) } })).then(() => {
          sent++;
          if (!v.json && (sent % Math.max(1, Math.floor(count / 20)) === 0 || sent === count)) {
            const secs = (Date.now() - started) / 1000;
            process.stderr.write(
              `\r${sent}/${count} accepted, ${(sent / Math.max(secs, 0.001)).toFixed(1)} msg/s`,
            );
          }
        }),
      );
    }
    await Promise.all(pending);
    if (!v.json) process.stderr.write('\n');
    const secs = (Date.now() - started) / 1000;
    out(v.json ?? false, `${sent} messages accepted in ${secs.toFixed(2)} s`, { sent, seconds: secs });
  } finally {
    await device.close();
  }
  return 0;
}

/** The authentication `device create` asks for. */
function authOf(v: {
  auth?: string;
  'primary-key'?: string;
  'secondary-key'?: string;
  thumbprint?: string;
  'secondary-thumbprint'?: string;
}): IdentityAuthSpec {
  const auth = v.auth ?? (v.thumbprint === undefined ? 'sas' : 'self-signed');
  const keys = v['primary-key'] !== undefined || v['secondary-key'] !== undefined;
  const prints = v.thumbprint !== undefined || v['secondary-thumbprint'] !== undefined;
  if (auth === 'sas') {
    if (prints) throw new UsageError('--thumbprint goes with --auth self-signed');
    return {
      type: 'sas',
      ...(v['primary-key'] === undefined ? {} : { primaryKey: v['primary-key'] }),
      ...(v['secondary-key'] === undefined ? {} : { secondaryKey: v['secondary-key'] }),
    };
  }
  if (keys) throw new UsageError('--primary-key and --secondary-key go with --auth sas');
  if (auth === 'self-signed') {
    if (v.thumbprint === undefined) throw new UsageError('--auth self-signed needs --thumbprint');
    return {
      type: 'selfSigned',
      primaryThumbprint: v.thumbprint,
      ...(v['secondary-thumbprint'] === undefined ? {} : { secondaryThumbprint: v['secondary-thumbprint'] }),
    };
  }
  if (auth === 'ca') {
    if (prints) throw new UsageError('--thumbprint goes with --auth self-signed');
    return { type: 'certificateAuthority' };
  }
  throw new UsageError(`--auth must be sas, self-signed or ca, got ${auth}`);
}

function identityLine(i: RegistryDevice | RegistryModule): string {
  const id = 'moduleId' in i ? `${i.deviceId}/${i.moduleId}` : i.deviceId;
  const status = 'status' in i ? ` ${i.status}` : '';
  return `${id}${status} ${i.authentication.type} ${i.connectionState} etag ${i.etag}`;
}

async function device(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'create' && action !== 'list' && action !== 'delete')
    throw new UsageError(
      action === undefined ? 'device needs create, list or delete' : `unknown device command ${action}`,
    );
  const { values: v, positionals } = parse(rest, {
    ...common,
    device: { type: 'string' },
    module: { type: 'string' },
    port: { type: 'string' },
    top: { type: 'string' },
    etag: { type: 'string' },
    auth: { type: 'string' },
    'primary-key': { type: 'string' },
    'secondary-key': { type: 'string' },
    thumbprint: { type: 'string' },
    'secondary-thumbprint': { type: 'string' },
    disabled: { type: 'boolean' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const httpsPort = v.port === undefined ? undefined : port(v.port, 'port', 443);
  if (v.top !== undefined) positiveInt(v.top, 'top', 1000);
  if (action !== 'list' && v.device === undefined) throw new UsageError(`device ${action} needs --device`);
  authOf(v); // a bad --auth is a usage error before anything is sent
  const registry = RegistryClient.fromConnectionString(cs, {
    tls,
    ...(httpsPort === undefined ? {} : { port: httpsPort }),
  });
  try {
    return await deviceAction(registry, action, v);
  } finally {
    registry.close();
  }
}

async function deviceAction(
  registry: RegistryClient,
  action: 'create' | 'list' | 'delete',
  v: {
    device?: string;
    module?: string;
    top?: string;
    etag?: string;
    json?: boolean;
    disabled?: boolean;
    auth?: string;
    'primary-key'?: string;
    'secondary-key'?: string;
    thumbprint?: string;
    'secondary-thumbprint'?: string;
  },
): Promise<number> {
  const json = v.json ?? false;
  const top = v.top === undefined ? undefined : positiveInt(v.top, 'top', 1000);
  if (action === 'create') {
    const authentication = authOf(v);
    const id = v.device!;
    const made =
      v.module === undefined
        ? await registry.createDevice(id, { authentication, status: v.disabled ? 'disabled' : 'enabled' })
        : await registry.createModule(id, v.module, { authentication });
    const connectionString =
      made.authentication.type === 'sas' ? registry.connectionStringOf(made) : undefined;
    out(
      json,
      `created ${identityLine(made)}
${connectionString ?? JSON.stringify(made.authentication)}`,
      { ...made, connectionString },
    );
  } else if (action === 'list') {
    const list: (RegistryDevice | RegistryModule)[] =
      v.device === undefined
        ? await registry.listDevices(top === undefined ? {} : { top })
        : await registry.listModules(v.device);
    if (json) for (const i of list) out(true, '', i);
    else for (const i of list) out(false, identityLine(i), i);
  } else {
    const opts = v.etag === undefined ? {} : { etag: v.etag };
    if (v.module === undefined) await registry.deleteDevice(v.device!, opts);
    else await registry.deleteModule(v.device!, v.module, opts);
    const id = v.module === undefined ? v.device! : `${v.device!}/${v.module}`;
    out(json, `deleted ${id}`, { deleted: id });
  }
  return 0;
}

const ACTIONS = { complete: 'completed', reject: 'rejected', abandon: 'abandoned' } as const;

async function receiveC2d(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    action: { type: 'string' },
    timeout: { type: 'string' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const action = v.action ?? 'complete';
  if (!Object.hasOwn(ACTIONS, action))
    throw new UsageError(`--action must be complete, reject or abandon, got ${action}`);
  const settle = action as keyof typeof ACTIONS;
  const count = v.count === undefined ? Infinity : positiveInt(v.count, 'count', 1);
  const timeoutMs = v.timeout === undefined ? undefined : positiveInt(v.timeout, 'timeout', 1);
  const device = DeviceClient.fromConnectionString(cs, {
    tls,
    ...(timeoutMs === undefined ? {} : { connectTimeoutMs: timeoutMs }),
  });
  const stop = new AbortController();
  interruptSignal().addEventListener('abort', () => stop.abort(), { once: true });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop.abort();
        }, timeoutMs);
  let n = 0;
  try {
    await device.open(); // a refused connection or a bad key fails here, not after a silent wait
    if (!v.json) process.stderr.write(`receiving C2D messages for ${device.deviceId}\n`);
    for await (const m of device.messages({ signal: stop.signal })) {
      await m[settle]();
      const body = m.text();
      out(v.json ?? false, `${ACTIONS[settle]} ${m.messageIdText ?? '?'}: ${body}`, {
        messageId: m.messageIdText,
        action: settle,
        body,
        ack: m.ack,
        correlationId: m.correlationId,
        contentType: m.contentType,
        properties: m.properties,
        deliveryCount: m.deliveryCount,
        enqueuedTime: m.enqueuedTime,
      });
      if (++n >= count) break;
    }
  } finally {
    clearTimeout(timer);
    await device.close();
  }
  if (timedOut && n < count && count !== Infinity)
    throw new TimeoutError(`${n} of ${count} C2D message(s) within ${timeoutMs} ms`);
  return 0;
}

const SUB: Record<string, (argv: string[]) => Promise<number>> = {
  'monitor-events': monitorEvents,
  'send-c2d': sendC2d,
  feedback,
  device,
  'simulate-device': simulateDevice,
  'receive-c2d': receiveC2d,
};

export async function iothubCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') return (console.log(IOTHUB_HELP), 0);
  if (!sub) throw new UsageError('iothub needs a command');
  const run = SUB[sub];
  if (!run) throw new UsageError(`unknown iothub command ${sub}`);
  const help = `${SUB_HELP[sub]!}\n${COMMON_HELP}`;
  if (rest.includes('--help') || rest.includes('-h')) return (console.log(help), 0);
  try {
    return await run(rest);
  } catch (e) {
    const err = toCliError(e);
    throw err instanceof UsageError ? new UsageError(err.message, help) : err;
  }
}
