/**
 * `amqp-one hub`: the emulator from the command line. `runHubCli(argv)` parses the options, starts
 * the hub and prints the startup summary; `hubCommand(argv)` then runs it until SIGINT / SIGTERM.
 * src/cli/main.ts dispatches `amqp-one hub` here. Importing this module has no side effect (it
 * does not check whether it is the main module), so a bundle of the emulator entry never starts a hub.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AmqpOneError } from '../../codec/errors.js';
import { DEFAULT_MAX_CONNECTIONS } from '../../server/limits.js';
import {
  DEFAULT_FEEDBACK_BATCH_DELAY_MS,
  DEFAULT_GRANT_TIMEOUT_MS,
  DEFAULT_HUB_NAME,
  HUB_WEBSOCKET_PATHS,
  startHub,
  type IotHubEmulator,
} from './start-hub.js';
import {
  DEFAULT_MAX_EVENTS_PER_PARTITION,
  DEFAULT_MAX_PARTITION_BYTES,
  DEFAULT_MAX_TELEMETRY_BYTES,
} from '../hub/index.js';
import { parseFaultSchedule } from './faults.js';

/** The `amqp-one hub` usage text. */
export const HUB_HELP = `amqp-one hub [options]

A local Azure IoT Hub (AMQP 1.0): device and service links, CBS, C2D with feedback, and the
Event Hubs-compatible endpoint (served on the same ports; the events redirect points there).

  --host ADDR              listening address (default 127.0.0.1)
  --port N                 plain AMQP port (default 5672; 0 = any free port)
  --tls-port N             AMQPS port (default 5671; 0 = any free port)
  --no-tls                 no TLS listener
  --https-port N           HTTPS port for AMQP over WebSockets (wss://HOST:N/$iothub/websocket and
                           /$servicebus/websocket), where the official SDKs' WebSocket transports
                           connect; off by default. With --https-port 443 and the TLS port 5671,
                           connection strings say HostName=localhost (no port), as the SDKs then
                           build wss://localhost:443/... and amqps://localhost:5671 themselves.
                           (Every port also serves WebSockets at those two paths.)
                           The same port serves IoT Hub's REST API: the registry (devices and
                           modules), e.g. amqp-one iothub device create --port N.
  --hub-name NAME          hub name (default ${DEFAULT_HUB_NAME})
  --partitions N           event partitions (default 4)
  --state DIR              keep telemetry, C2D queues, feedback, devices and the CA in DIR
                           (without it everything is in memory)
  --cert FILE --key FILE   PEM server certificate and key (default: a CA and a certificate for
                           localhost / 127.0.0.1 are made at start; the CA file is printed)
  --device ID              register a device (repeatable); keys are generated and kept in --state
  --x509-ca FILE           trust this CA (PEM) for certificateAuthority devices and modules
                           (repeatable); the hub's own CA is trusted too. X.509 identities are
                           registered with --registry or the REST API (authentication.type
                           selfSigned with thumbprints, or certificateAuthority)
  --no-x509                do not ask TLS clients for a certificate (no X.509 devices): for
                           browsers, whose WebSockets cannot answer that request
  --registry FILE          a registry JSON file (devices, modules, policies)
  --consumer-group NAME    an extra consumer group besides $Default (repeatable)
  --retention-hours N      telemetry retention (default 24)
  --max-partition-events N events a partition holds (default ${DEFAULT_MAX_EVENTS_PER_PARTITION})
  --max-partition-bytes N  bytes of events a partition holds (default ${DEFAULT_MAX_PARTITION_BYTES})
  --max-telemetry-bytes N  bytes of events all partitions hold (default ${DEFAULT_MAX_TELEMETRY_BYTES})
                           Past a limit, sends are refused (com.microsoft:quota-exceeded) until
                           retention frees space: accepted events are never evicted. With --state
                           events live on disk and memory holds an index and a cache.
  --feedback-delay-ms N    feedback batching delay (default ${DEFAULT_FEEDBACK_BATCH_DELAY_MS} ms; the real hub
                           waits up to 15 s); a batch also goes out at 64 records
  --grant-timeout-ms N     close a connection that has no credentials (no SASL PLAIN/EXTERNAL, no
                           CBS token) after N ms (default ${DEFAULT_GRANT_TIMEOUT_MS})
  --max-connections N      client connections at once on each port (default ${DEFAULT_MAX_CONNECTIONS});
                           each SDK device holds one
  --fault SPEC             a fault on a schedule, for soak tests (repeatable):
                           OP:every=DUR[,device=ID][,duration=DUR][,reason=TEXT], DUR as 500ms,
                           30s, 2m or seconds (every is at least 1s; duration at most 300s).
                           OP: KillTcp, KillAmqpConnection, KillAmqpSession, ShutDownAmqp,
                           KillAmqpCBSLinkReq, KillAmqpCBSLinkResp, KillAmqpD2CLink,
                           KillAmqpC2DLink, KillAmqpMethodReqLink, KillAmqpMethodRespLink,
                           KillAmqpTwinLinkReq, KillAmqpTwinLinkResp.
                           E.g. --fault KillTcp:every=30s --fault KillAmqpC2DLink:every=1m,device=d1.
                           Devices can also ask for one fault themselves (IoT Hub's
                           AzIoTHub_FaultOperationType telemetry properties).
  --json                   print the startup summary as one JSON object (ports, CA file,
                           connection strings) instead of text
  --help                   this text

Trust the CA: NODE_EXTRA_CA_CERTS=<ca file> for azure-iothub and @azure/event-hubs, the device
client's setOptions({ ca }), uAMQP's verify=<ca file>. Connection strings use HostName=localhost:PORT
(the TLS port), or HostName=localhost on the official ports (--https-port 443, TLS port 5671).
`;

/** Where the hub command writes its lines. */
export interface CliIo {
  /** A line for stdout. */
  out(line: string): void;
  /** A line for stderr. */
  err(line: string): void;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** A bad command line; `amqp-one` prints it with the help and exits 2 (the code is the CLI's). */
export class HubUsageError extends AmqpOneError {
  constructor(message: string) {
    super('AMQP_CLI_USAGE', message);
  }
}

const MAX_RETENTION_HOURS = 100 * 365 * 24;

function int(name: string, v: string | undefined, dflt: number | undefined): number | undefined {
  if (v === undefined) return dflt;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new HubUsageError(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

function positive(name: string, v: string | undefined): number | undefined {
  const n = int(name, v, undefined);
  if (n === 0) throw new HubUsageError(`--${name} must be a positive integer, got 0`);
  return n;
}

function port(name: string, v: string | undefined, dflt: number): number {
  const n = int(name, v, dflt)!;
  if (n > 65535) throw new HubUsageError(`--${name} must be a port from 0 to 65535, got ${v}`);
  return n;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new SyntaxError(`${file}: ${(e as Error).message}`);
  }
}

/** Starts the hub from command-line arguments; resolves with it (null after --help). */
export async function runHubCli(argv: string[], io: CliIo = defaultIo): Promise<IotHubEmulator | null> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-port': { type: 'string' },
      'no-tls': { type: 'boolean' },
      'https-port': { type: 'string' },
      'hub-name': { type: 'string' },
      partitions: { type: 'string' },
      state: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      device: { type: 'string', multiple: true },
      'x509-ca': { type: 'string', multiple: true },
      'no-x509': { type: 'boolean' },
      registry: { type: 'string' },
      'consumer-group': { type: 'string', multiple: true },
      'retention-hours': { type: 'string' },
      'max-partition-events': { type: 'string' },
      'max-partition-bytes': { type: 'string' },
      'max-telemetry-bytes': { type: 'string' },
      'feedback-delay-ms': { type: 'string' },
      'grant-timeout-ms': { type: 'string' },
      'max-connections': { type: 'string' },
      fault: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(HUB_HELP);
    return null;
  }
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new HubUsageError('give --cert and --key together');
  const retention = int('retention-hours', values['retention-hours'], undefined);
  // In milliseconds it must stay a safe integer; a century is past any test's horizon.
  if (retention !== undefined && retention > MAX_RETENTION_HOURS)
    throw new HubUsageError(`--retention-hours must be at most ${MAX_RETENTION_HOURS}, got ${retention}`);
  const feedbackDelay = int('feedback-delay-ms', values['feedback-delay-ms'], undefined);
  const partitions = int('partitions', values.partitions, undefined);
  const grantTimeout = positive('grant-timeout-ms', values['grant-timeout-ms']);
  const limits = {
    maxEventsPerPartition: positive('max-partition-events', values['max-partition-events']),
    maxPartitionBytes: positive('max-partition-bytes', values['max-partition-bytes']),
    maxTelemetryBytes: positive('max-telemetry-bytes', values['max-telemetry-bytes']),
    maxConnections: positive('max-connections', values['max-connections']),
  };
  const faults = (values.fault ?? []).map((spec) => {
    try {
      return parseFaultSchedule(spec);
    } catch (e) {
      throw new HubUsageError(`--fault ${spec}: ${(e as Error).message}`);
    }
  });
  const hub = await startHub({
    ...(values.host === undefined ? {} : { host: values.host }),
    port: port('port', values.port, 5672),
    ...(values['no-tls'] ? {} : { tlsPort: port('tls-port', values['tls-port'], 5671) }),
    ...(values['https-port'] === undefined ? {} : { httpsPort: port('https-port', values['https-port'], 0) }),
    ...(values['hub-name'] === undefined ? {} : { hubName: values['hub-name'] }),
    ...(partitions === undefined ? {} : { partitions }),
    ...(values.state === undefined ? {} : { stateDir: values.state }),
    ...(values.cert === undefined ? {} : { cert: await readFile(values.cert, 'utf8') }),
    ...(values.key === undefined ? {} : { key: await readFile(values.key, 'utf8') }),
    ...(values.device === undefined ? {} : { devices: values.device }),
    ...(values['no-x509'] ? { x509: false } : {}),
    ...(values['x509-ca'] === undefined
      ? {}
      : { x509Ca: await Promise.all(values['x509-ca'].map((f) => readFile(f, 'utf8'))) }),
    ...(values.registry === undefined ? {} : { registry: await readJson(values.registry) }),
    ...(values['consumer-group'] === undefined ? {} : { consumerGroups: values['consumer-group'] }),
    ...(retention === undefined ? {} : { retentionMs: retention * 3600_000 }),
    ...limits, // startHub ignores the ones left undefined
    ...(feedbackDelay === undefined ? {} : { feedbackBatchDelayMs: feedbackDelay }),
    ...(grantTimeout === undefined ? {} : { grantTimeoutMs: grantTimeout }),
    ...(faults.length === 0 ? {} : { faults }),
    log: (l) => io.err(l),
  });
  if (values.json) io.out(JSON.stringify(summary(hub)));
  else for (const l of hub.describe()) io.out(l);
  return hub;
}

/** What describe() prints, as one object: what a script needs to connect. */
function summary(hub: IotHubEmulator): Record<string, unknown> {
  const policies: Record<string, string> = {};
  for (const p of ['iothubowner', 'service']) {
    if (hub.state.registry.getPolicy(p)) policies[p] = hub.serviceConnectionString(p);
  }
  const devices: Record<string, string> = {};
  for (const d of hub.state.registry.listDevices())
    devices[d.deviceId] = hub.deviceConnectionString(d.deviceId);
  return {
    event: 'listening',
    hubName: hub.hubName,
    hostName: hub.hostName,
    port: hub.port,
    tlsPort: hub.tlsPort ?? null,
    httpsPort: hub.httpsPort ?? null,
    webSocketUrl: hub.webSocketUrl ?? null,
    restUrl: hub.restUrl ?? null,
    webSocketPaths: [...HUB_WEBSOCKET_PATHS],
    caFile: hub.caFile ?? null,
    durable: hub.durable,
    serviceConnectionStrings: policies,
    eventHubsConnectionString: hub.eventHubsConnectionString(),
    deviceConnectionStrings: devices,
  };
}

/** `amqp-one hub`: starts the hub, runs it until SIGINT or SIGTERM, then closes it. */
export async function hubCommand(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const hub = await runHubCli(argv, io);
  if (!hub) return 0; // --help
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await hub.close();
  return 0;
}
