/**
 * `amqp-one iothub <command>`: the service side (monitor-events, send-c2d, feedback, and over REST
 * the registry with `device create|list|delete`, `invoke-method` and `twin get|update`:
 * iothub-methods-twin.ts) and the device side (simulate-device: device-simulator.ts, receive-c2d),
 * for a real hub or the emulator. The connection string comes
 * from --connection-string or the IOTHUB_CONNECTION_STRING environment variable; --ca adds a CA to
 * trust (the emulator's). Each subcommand has its own help, printed with its usage errors.
 */
import { TimeoutError } from '../api/errors.js';
import {
  DeviceClient,
  RegistryClient,
  ServiceClient,
  eventText,
  type EventPosition,
  type IdentityAuthSpec,
  type RegistryDevice,
  type RegistryModule,
} from '../iothub/client/index.js';
import { int, noPositionals, out, parse, positiveInt, UsageError } from './args.js';
import { toCliError } from './errors.js';
import {
  REPORT_EVERY,
  runDeviceSimulator,
  SIMULATOR_METHODS,
  type SimulatorEvent,
} from './device-simulator.js';
import { INVOKE_METHOD_HELP, invokeMethodCommand, TWIN_HELP, twinCommand } from './iothub-methods-twin.js';
import { COMMON_HELP, common, interruptSignal, registryOf, setup } from './iothub-common.js';

const SUB_HELP: Record<string, string> = {
  'monitor-events': `amqp-one iothub monitor-events [--from earliest|latest|SEQUENCE] [--consumer-group G] [--device ID] [--count N]
  Live telemetry with its properties (like az iot hub monitor-events), until --count events or an
  interrupt.`,
  'send-c2d': `amqp-one iothub send-c2d --device ID [--body TEXT] [--ack none|positive|negative|full] [--expiry-ms N]
  Sends one cloud-to-device message and prints its message id; --ack asks for feedback.`,
  feedback: `amqp-one iothub feedback [--count N]
  Delivery feedback records (status, original message id, device) as they arrive, until --count
  records or an interrupt.`,
  device: `amqp-one iothub device <create|list|delete> [--device ID] [--module ID] [--port HTTPS_PORT]
  The registry, over IoT Hub's REST API (a policy with RegistryWrite, or RegistryRead to list).
  create --device ID [--module ID] [--auth sas|self-signed|ca] [--primary-key K] [--secondary-key K]
    [--thumbprint HEX] [--secondary-thumbprint HEX] [--disabled]: registers a device (or a module
    on it) and prints its connection string (SAS) or its authentication.
  list [--device ID] [--top N]: the devices, or the modules of --device.
  delete --device ID [--module ID] [--etag E]: deletes it (only at that etag, with --etag).
  --port: the HTTPS port when the HostName's is the AMQPS one (the emulator's --https-port).`,
  'invoke-method': INVOKE_METHOD_HELP,
  twin: TWIN_HELP,
  'simulate-device': `amqp-one iothub simulate-device [--count N] [--interval MS | --rate PER_SECOND] [--body-size B] [--model-id DTMI]
  A device (a device connection string) that sends a JSON reading with a seq property every
  --interval (default 1000 ms; 0 = as fast as the hub accepts; --rate N is --interval 1000/N) for --count messages or until
  interrupted (SIGINT, SIGTERM: it ends cleanly). It answers the direct methods
${Object.entries(SIMULATOR_METHODS)
  .map(([name, what]) => `    ${name}: ${what}`)
  .join('\n')}
  (any other gets 501); acknowledges desired properties as IoT Plug and Play writable properties
  (reported {"<name>":{"value":...,"ac":200,"av":<desired $version>,"ad":"applied"}}), at start and
  on each update; and reports sent and uptimeSeconds every ${REPORT_EVERY} messages and at the end.
  --model-id announces an IoT Plug and Play model (the twin's modelId). Prints each method call
  and desired update, then a summary.`,
  'receive-c2d': `amqp-one iothub receive-c2d [--count N] [--action complete|reject|abandon] [--timeout MS]
  The device side of C2D: receives messages, settles each with --action (default complete, which
  gives Success feedback; reject gives Rejected; abandon puts it back for redelivery) and prints it.
  Runs until --count messages (default: until interrupted). --timeout MS also bounds connecting and
  ends the wait: with --count, too few messages by then exits 1 with AMQP_TIMEOUT.`,
};

export const IOTHUB_HELP = `amqp-one iothub <monitor-events|send-c2d|feedback|device|invoke-method|twin|simulate-device|receive-c2d> [options]
${Object.values(SUB_HELP)
  .map((h) => `  ${h.split('\n')[0]!.replace('amqp-one iothub ', '')}`)
  .join('\n')}
Run "amqp-one iothub <command> --help" for each command's details.
${COMMON_HELP}`;

function position(from: string | undefined): EventPosition {
  if (from === undefined || from === 'latest') return 'latest';
  if (from === 'earliest') return 'earliest';
  if (/^\d+$/.test(from)) return { sequenceNumber: BigInt(from), inclusive: true };
  throw new UsageError(`--from must be earliest, latest or a sequence number, got ${from}`);
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

/**
 * --interval MS, or the older --rate PER_SECOND (0: as fast as the hub accepts), kept so that
 * scripts written for it still run; both at once would be ambiguous.
 */
function simulatorInterval(interval: string | undefined, rate: string | undefined): number {
  if (rate === undefined) return int(interval, 'interval', 1000);
  if (interval !== undefined) throw new UsageError('give --interval or --rate, not both');
  const perSecond = int(rate, 'rate', 1);
  return perSecond === 0 ? 0 : Math.max(1, Math.round(1000 / perSecond));
}

async function simulateDevice(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    interval: { type: 'string' },
    rate: { type: 'string' },
    'body-size': { type: 'string' },
    'model-id': { type: 'string' },
  });
  noPositionals(positionals);
  const { cs, tls } = setup(v);
  const count = v.count === undefined ? undefined : positiveInt(v.count, 'count', 1);
  const intervalMs = simulatorInterval(v.interval, v.rate);
  const bodySize = int(v['body-size'], 'body-size', 0);
  const json = v.json ?? false;
  const device = DeviceClient.fromConnectionString(cs, {
    tls,
    ...(v['model-id'] === undefined ? {} : { modelId: v['model-id'] }),
  });
  try {
    await device.open(); // a refused connection or a bad key fails here
    const summary = await runDeviceSimulator(device, {
      ...(count === undefined ? {} : { count }),
      intervalMs,
      bodySize,
      signal: interruptSignal(),
      onEvent: (e) => {
        if (e.event === 'sent') {
          if (!json) process.stderr.write(`\r${e.seq + 1}${count === undefined ? '' : `/${count}`} sent`);
          return;
        }
        out(json, simulatorLine(e), e);
      },
    });
    if (!json && summary.sent > 0) process.stderr.write('\n');
    out(
      json,
      `${summary.sent} messages accepted in ${summary.seconds.toFixed(2)} s, ${summary.methods} method call(s), ${summary.desiredUpdates} desired update(s)`,
      summary,
    );
  } finally {
    await device.close();
  }
  return 0;
}

function simulatorLine(e: Exclude<SimulatorEvent, { event: 'sent' }>): string {
  switch (e.event) {
    case 'ready':
      return `${e.deviceId} ready: methods ${e.methods.join(', ')}; desired $version ${e.desiredVersion} acknowledged`;
    case 'method':
      return `method ${e.name}: ${e.status}`;
    case 'desired':
      return `desired $version ${e.version}${e.full ? ' (full)' : ''}: acknowledged ${e.acknowledged.join(', ') || 'nothing'}`;
  }
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
  if (v.top !== undefined) positiveInt(v.top, 'top', 1000);
  if (action !== 'list' && v.device === undefined) throw new UsageError(`device ${action} needs --device`);
  authOf(v); // a bad --auth is a usage error before anything is sent
  const registry = registryOf(v);
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
  'invoke-method': invokeMethodCommand,
  twin: twinCommand,
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
