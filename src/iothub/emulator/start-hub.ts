/**
 * `startHub(options)`: the local IoT Hub emulator (README.md), the hub state (../hub) behind
 * amqp-one's AMQP server, on a plain port and (with `tlsPort`) a TLS port. Both listeners serve
 * everything: the IoT Hub endpoints and the Event Hubs-compatible endpoint, with every handshake
 * (bare AMQP header, SASL EXTERNAL / MSSBCBS / ANONYMOUS / PLAIN).
 *
 * Time: with the system clock, one timer drives the hub's deadlines (C2D locks and TTLs, feedback
 * batches, retention) and token expiries. With an injected `clock`, nothing runs by itself: call
 * `hub.tick(now)` after moving the clock.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../util/logger.js';
import { listen, type AmqpServer, type ServerOptions } from '../../server/server.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS } from '../../server/limits.js';
import { realTimers } from '../../util/timers.js';
import { listenHttps, type HttpsPort } from './https-port.js';
import { registryRoutes } from './rest-registry.js';
import { methodRoutes } from './rest-methods.js';
import { twinRoutes } from './rest-twin.js';
import { RouteTable } from './rest-router.js';
import { restHandler } from './rest-server.js';
import type { ServerConnection } from '../../server/server-connection.js';
import { systemClock, type Clock } from '../../util/timers.js';
import { createHubState, type HubState, type HubStateOptions } from '../hub/hub.js';
import { deviceConnectionString, serviceConnectionString } from '../hub/registry.js';
import type { AuthConfig } from './auth.js';
import { prepareTls, type TlsMaterial } from './certificates.js';
import { ConnectionState } from './connection-state.js';
import type { EmulatorContext } from './context.js';
import { EpochRegistry } from './epochs.js';
import { routeLink } from './router.js';
import { checkScheduledFaults, FaultInjector, type ScheduledFault } from './faults.js';
import { hubSaslMechanisms } from './sasl.js';
import { clientTrustStore, peerCertificateOf } from './x509.js';
import { checkOptions, opt, type OptionRule, type OptionSchema } from '../../protocol/options.js';
import { C2D_DEFAULTS } from '../hub/c2d.js';
import { MODULE_INPUT_DEFAULTS } from '../hub/module-inputs.js';
import { FEEDBACK_DEFAULTS } from '../hub/feedback.js';

/** The hub state's options that startHub hands on as given (see HubStateOptions). */
const STATE_OPTIONS = [
  'stateDir',
  'fsync',
  'partitions',
  'devices',
  'registry',
  'eventHubName',
  'consumerGroups',
  'retentionMs',
  'maxEventsPerPartition',
  'maxPartitionBytes',
  'maxTelemetryBytes',
  'eventCacheBytes',
  'c2d',
  'moduleInputs',
] as const;

/**
 * startHub's own options, and those it hands to the hub state:
 * durability (`stateDir`: everything is in memory without it), the registry, partitions, retention
 * and the telemetry limits, the C2D and module input limits; and `feedback`, whose `batchDelayMs` defaults to
 * `feedbackBatchDelayMs`.
 */
export interface StartHubOptions extends Pick<HubStateOptions, (typeof STATE_OPTIONS)[number] | 'feedback'> {
  /** Listening address (default 127.0.0.1). */
  host?: string;
  /** Plain AMQP port; 0 = a free one (the default). */
  port?: number;
  /** TLS port; 0 = a free one; omitted = no TLS listener. */
  tlsPort?: number;
  /**
   * HTTPS port for AMQP over WebSockets, where the official SDKs connect with their WebSocket
   * transports (`wss://HOST:443/$iothub/websocket`), and for IoT Hub's REST API (the registry);
   * 0 = a free one; omitted = none. With 443 here and 5671 as `tlsPort`, connection strings say
   * `HostName=localhost`, with no port, since the SDKs add those two ports themselves.
   */
  httpsPort?: number;
  /** Default 'amqp-one-hub'. */
  hubName?: string;
  /** PEM server certificate and key; without them a CA and a certificate for localhost are made. */
  cert?: string;
  key?: string;
  /**
   * With cert/key: the CA to report as `caPem` (optional). It is not trusted for client
   * certificates: name it in `x509Ca` too for that.
   */
  ca?: string;
  /**
   * CA certificates (PEM, each may hold several) that `certificateAuthority` devices and modules
   * may chain to, besides the hub's own CA (`amqp-one hub --x509-ca FILE`).
   */
  x509Ca?: string[];
  /**
   * Ask every TLS client for a certificate, for X.509 devices (default true). A browser's
   * WebSocket cannot answer that request (Chromium fails the handshake): a hub that serves pages
   * over wss:// sets false, and then has no X.509 devices (`amqp-one hub --no-x509`).
   */
  x509?: boolean;
  /** Injected clock for TTL, locks, batching and token expiry; then drive time with tick(). */
  clock?: Clock;
  /** Where the hub logs (default nowhere). */
  log?: (line: string) => void;
  /** Structured diagnostics of the hub's AMQP server and its client connections (see `setLogger`). */
  logger?: Logger;
  /** Feedback batching delay (default 1000 ms here; the real hub waits up to 15 s). */
  feedbackBatchDelayMs?: number;
  /** The host name used in connection strings and redirects (default 'localhost'). */
  publicHost?: string;
  /** Pause between a redirect's attach reply and its detach (default 10 ms; 0 = in the same write). */
  redirectDelayMs?: number;
  /**
   * How long a connection that authenticated nothing at the handshake (bare AMQP header, ANONYMOUS,
   * MSSBCBS) may go without a CBS grant before it is closed with `amqp:unauthorized-access`
   * (default {@link DEFAULT_GRANT_TIMEOUT_MS}).
   */
  grantTimeoutMs?: number;
  /**
   * Client connections at once on each listener (plain, TLS, HTTPS/WSS), default
   * DEFAULT_MAX_CONNECTIONS (1000); one more is refused at once. Raise it to hold more devices, each
   * on its own connection as the SDKs connect (bench/iothub-capacity.js measures the cost of each).
   */
  maxConnections?: number;
  /**
   * Faults done on a schedule to the connected devices, for soak tests (faults.ts; the CLI's
   * `--fault`). Fault messages from devices work without it.
   */
  faults?: ScheduledFault[];
}

/** Every key of `defaults` holds a count or a duration (the hub's C2D and feedback limits). */
function numbers<K extends string>(defaults: Record<K, number>): Record<K, OptionRule> {
  return Object.fromEntries(Object.keys(defaults).map((k) => [k, opt.count])) as Record<K, OptionRule>;
}

// The run-time check of the options above (protocol/options.ts): a key missing here fails to compile.
const START_HUB_OPTIONS = {
  host: opt.string,
  port: opt.number,
  tlsPort: opt.number,
  httpsPort: opt.number,
  hubName: opt.string,
  cert: opt.pem,
  key: opt.pem,
  ca: opt.pem,
  x509Ca: opt.listOf(opt.pem),
  x509: opt.boolean,
  clock: opt.object,
  log: opt.function,
  feedbackBatchDelayMs: opt.count,
  publicHost: opt.string,
  redirectDelayMs: opt.count,
  grantTimeoutMs: opt.count,
  maxConnections: opt.count,
  faults: opt.listOf(opt.object),
  stateDir: opt.string,
  fsync: opt.boolean,
  partitions: opt.count,
  devices: opt.listOf(opt.string),
  registry: opt.any,
  eventHubName: opt.string,
  consumerGroups: opt.listOf(opt.string),
  retentionMs: opt.count,
  maxEventsPerPartition: opt.count,
  maxPartitionBytes: opt.count,
  maxTelemetryBytes: opt.count,
  eventCacheBytes: opt.count,
  c2d: opt.nested(numbers(C2D_DEFAULTS), 'C2D limits'),
  moduleInputs: opt.nested(numbers(MODULE_INPUT_DEFAULTS), 'module input limits'),
  feedback: opt.nested(numbers(FEEDBACK_DEFAULTS), 'feedback limits'),
  logger: opt.either(opt.function, opt.object),
} satisfies OptionSchema<StartHubOptions>;

/**
 * The WebSocket endpoints every port serves: IoT Hub's, and its Event Hubs-compatible endpoint's
 * (where the events redirect leads a WebSocket client). A trailing slash does not matter.
 */
export const HUB_WEBSOCKET_PATHS = ['/$iothub/websocket', '/$servicebus/websocket'] as const;

/** The hub name when `hubName` is not given. */
export const DEFAULT_HUB_NAME = 'amqp-one-hub';

/**
 * The hub's own idle timeout: 480 s, a connection with no frame for that long is closed. Our
 * engine announces half of it in its open (peers keep a margin), so clients see idle-time-out
 * 240000, what the real hub announces.
 */
export const HUB_IDLE_TIMEOUT_MS = 480_000;

/** The options among `keys` that are set (exactOptionalPropertyTypes: no `key: undefined`). */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
/** How long feedback records wait to be batched, by default (1 s; the real hub waits up to 15 s). */
export const DEFAULT_FEEDBACK_BATCH_DELAY_MS = 1000;
/**
 * 60 s: SDKs send their put-token right after the open, so a minute is ample even on a slow link
 * (it is also the Azure SDKs' default operation timeout), while an idle unauthenticated connection
 * cannot hold a slot for longer.
 */
export const DEFAULT_GRANT_TIMEOUT_MS = 60_000;

/**
 * A running emulator: its ports and CA, connection strings for its policies and devices, device
 * registration, and close().
 */
export class IotHubEmulator {
  /** The TLS port, when there is a TLS listener. */
  readonly tlsPort: number | undefined;
  /** The HTTPS (WebSocket) port, when there is one. */
  readonly httpsPort: number | undefined;
  /**
   * The REST API's routes on the HTTPS port (rest-router.ts): the registry's, and whatever is
   * added with `restRoutes.add(route)`.
   */
  readonly restRoutes: RouteTable;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** IoT Hub's fault injection (faults.ts): fault messages and scheduled faults. */
  faults: FaultInjector | undefined;

  /** Use startHub(). */
  constructor(
    readonly state: HubState,
    readonly clock: Clock,
    private readonly plain: AmqpServer,
    private readonly secure: AmqpServer | undefined,
    private readonly tls: TlsMaterial | undefined,
    private readonly live: Set<ConnectionState>,
    readonly publicHost: string,
    private readonly manualClock: boolean,
    private readonly https?: HttpsPort,
    restRoutes: RouteTable = new RouteTable(),
  ) {
    this.tlsPort = secure?.port;
    this.httpsPort = https?.port;
    this.restRoutes = restRoutes;
  }

  /** The plain AMQP port. */
  get port(): number {
    return this.plain.port;
  }

  /** The hub name in connection strings. */
  get hubName(): string {
    return this.state.hubName;
  }

  /** The Event Hubs-compatible name (the entity path of events). */
  get eventHubName(): string {
    return this.state.eventHubName;
  }

  /**
   * `localhost:<tlsPort>` (`localhost:<port>` without TLS): the HostName of connection strings.
   * On the official ports (HTTPS 443, AMQPS 5671) just `localhost`: the official SDKs build
   * `wss://HOST:443/$iothub/websocket` and `amqps://HOST:5671` from a HostName without a port.
   */
  get hostName(): string {
    if (this.officialPorts) return this.publicHost;
    return `${this.publicHost}:${this.tlsPort ?? this.port}`;
  }

  /** Whether the hub runs on IoT Hub's own ports: HTTPS/WSS on 443 and AMQPS on 5671. */
  get officialPorts(): boolean {
    return this.httpsPort === 443 && this.tlsPort === 5671;
  }

  /** The base URL of the REST API on the HTTPS port (`https://localhost:443`). */
  get restUrl(): string | undefined {
    if (this.httpsPort === undefined) return undefined;
    return `https://${this.publicHost}:${this.httpsPort}`;
  }

  /** The WebSocket URL of IoT Hub's endpoint on the HTTPS port (`wss://localhost:443/$iothub/websocket`). */
  get webSocketUrl(): string | undefined {
    if (this.httpsPort === undefined) return undefined;
    return `wss://${this.publicHost}:${this.httpsPort}${HUB_WEBSOCKET_PATHS[0]}`;
  }

  /** The CA file to trust (NODE_EXTRA_CA_CERTS, the device `ca` option, uAMQP `verify`). */
  get caFile(): string | undefined {
    return this.tls?.caFile;
  }

  /** The CA certificate to trust, as PEM. */
  get caPem(): string | undefined {
    return this.tls?.caPem;
  }

  /** Whether accepted state survives a restart. */
  get durable(): boolean {
    return this.state.durable;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.live.size;
  }

  /** A service connection string for a shared access policy (default `iothubowner`). */
  serviceConnectionString(policy = 'iothubowner'): string {
    const p = this.state.registry.getPolicy(policy);
    if (!p) throw new TypeError(`no shared access policy ${policy}`);
    return serviceConnectionString(this.hostName, p);
  }

  /** The device's connection string; registers the device if needed. */
  deviceConnectionString(deviceId: string): string {
    const d = this.state.registry.ensureDevice(deviceId);
    return deviceConnectionString(this.hostName, d);
  }

  /** `Endpoint=sb://localhost:<port>/;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=<name>`. */
  eventHubsConnectionString(policy = 'service'): string {
    const p = this.state.registry.getPolicy(policy);
    if (!p) throw new TypeError(`no shared access policy ${policy}`);
    const emulator = this.tlsPort === undefined ? ';UseDevelopmentEmulator=true' : '';
    return (
      `Endpoint=sb://${this.hostName}/;SharedAccessKeyName=${p.keyName};SharedAccessKey=${p.primaryKey};` +
      `EntityPath=${this.eventHubName}${emulator}`
    );
  }

  /** Registers a device (or returns the existing one's key). */
  addDevice(deviceId: string): { deviceId: string; primaryKey: string } {
    const d = this.state.registry.ensureDevice(deviceId);
    return { deviceId: d.deviceId, primaryKey: d.primaryKey };
  }

  /**
   * Runs everything due at `now`: C2D locks and TTLs, feedback batches, retention, token expiry,
   * injected faults.
   */
  tick(now: number = this.clock.now()): void {
    this.state.tick(now);
    for (const cs of this.live) cs.expire(now);
    this.faults?.tick(now);
    this.arm();
  }

  /** The earliest deadline of the hub state and of the connections' tokens. */
  nextDeadline(): number | undefined {
    // Called on every re-arm: a plain loop over the connections, nothing allocated.
    let min = this.state.nextDeadline();
    for (const cs of this.live) {
      const t = cs.nextExpiry();
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    const f = this.faults?.nextDeadline();
    if (f !== undefined && (min === undefined || f < min)) min = f;
    return min;
  }

  /** Re-arms the single timer (system clock only). */
  arm(): void {
    if (this.manualClock || this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.nextDeadline();
    if (at === undefined) return;
    // setTimeout cannot wait longer than 2^31-1 ms: wake up and look again.
    const delay = Math.min(Math.max(0, at - this.clock.now()), 0x7fffffff);
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  /** What the CLI prints at start. */
  describe(): string[] {
    const lines = [
      `IoT hub ${this.hubName} (Event Hubs-compatible name ${this.eventHubName})`,
      `  AMQP     ${this.plain.host}:${this.port}`,
    ];
    if (this.tlsPort !== undefined) lines.push(`  AMQPS    ${this.secure!.host}:${this.tlsPort}`);
    if (this.https !== undefined)
      lines.push(
        `  WSS      ${this.https.host}:${this.https.port}   ${this.webSocketUrl} (and /$servicebus/websocket)`,
        `  REST     ${this.restUrl}/devices?api-version=2021-04-12   (the registry, same port)`,
      );
    lines.push(`  WS paths ${HUB_WEBSOCKET_PATHS.join(' and ')} on every port above (ws:// and wss://)`);
    if (this.officialPorts)
      lines.push('  official ports: HostName=localhost, so the SDKs connect unchanged (AMQPS 5671, WSS 443)');
    if (this.caFile) lines.push(`  CA file  ${this.caFile}   (NODE_EXTRA_CA_CERTS, device option ca)`);
    lines.push(
      this.durable
        ? `  state    ${this.state.stateDir}`
        : '  state    IN MEMORY: everything is lost when the emulator stops (use --state DIR)',
    );
    lines.push('', 'Service connection strings:');
    for (const p of ['iothubowner', 'service'])
      if (this.state.registry.getPolicy(p)) lines.push(`  ${p}: ${this.serviceConnectionString(p)}`);
    lines.push(`  Event Hubs-compatible: ${this.eventHubsConnectionString()}`);
    const devices = this.state.registry.listDevices();
    if (devices.length > 0) {
      lines.push('', 'Device connection strings:');
      for (const d of devices) lines.push(`  ${d.deviceId}: ${this.deviceConnectionString(d.deviceId)}`);
    }
    return lines;
  }

  /** Stops listening, closes every connection and the state. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([this.plain.close(), this.secure?.close()]);
    await this.https?.close();
    await this.state.close();
    await this.tls?.cleanup();
  }

  /** Closes the emulator: `await using hub = await startHub()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a local IoT hub: plain AMQP (and TLS with `tlsPort`), in memory or durable in `stateDir`.
 * `await startHub({ port: 0, tlsPort: 0 })`, then `deviceConnectionString(id)`, `close()`.
 */
export async function startHub(options: StartHubOptions = {}): Promise<IotHubEmulator> {
  checkOptions(options, START_HUB_OPTIONS, 'startHub');
  checkScheduledFaults(options.faults ?? []);
  const log = options.log ?? (() => {});
  const clock = options.clock ?? systemClock;
  const hubName = options.hubName ?? DEFAULT_HUB_NAME;
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? 'localhost';
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const state = await createHubState({
    ...pick(options, STATE_OPTIONS),
    hubName,
    clock,
    feedback: {
      batchDelayMs: options.feedbackBatchDelayMs ?? DEFAULT_FEEDBACK_BATCH_DELAY_MS,
      ...options.feedback,
    },
  });
  let tls: TlsMaterial | undefined;
  const servers: AmqpServer[] = [];
  const closers: HttpsPort[] = [];
  try {
    const ports: number[] = [];
    const auth: AuthConfig = {
      registry: state.registry,
      hubName,
      eventHubName: state.eventHubName,
      hosts: new Set(
        ['localhost', '127.0.0.1', '::1', '[::1]', `${hubName}.azure-devices.net`, host, publicHost].map(
          (h) => h.toLowerCase(),
        ),
      ),
      ports: () => ports,
    };
    const live = new Set<ConnectionState>();
    // A registry change (a thumbprint rotated, an identity removed or switched to SAS) is judged
    // against the certificates already holding grants: a grant it no longer earns ends now.
    state.registry.onChange(() => {
      const now = clock.now();
      for (const cs of live) cs.recheckCertificate(state.registry, now);
    });
    const states = new WeakMap<ServerConnection, ConnectionState>();
    let emulator: IotHubEmulator | undefined;
    const faults = new FaultInjector(
      clock,
      log,
      () => live,
      () => emulator?.arm(),
      options.faults,
    );
    const ctx: EmulatorContext = {
      state,
      auth,
      clock,
      log,
      publicHost,
      redirectDelayMs: options.redirectDelayMs ?? 10,
      epochs: new EpochRegistry(),
      faults,
      connection(c) {
        let cs = states.get(c);
        if (!cs) {
          cs = new ConnectionState(c, clock.now() + (options.grantTimeoutMs ?? DEFAULT_GRANT_TIMEOUT_MS));
          states.set(c, cs);
          live.add(cs);
        }
        return cs;
      },
      grantsChanged: () => emulator?.arm(),
    };
    const { mechanisms, tickets } = hubSaslMechanisms(auth, () => clock.now(), log);
    const onConnection = (c: ServerConnection): void => {
      const cs = ctx.connection(c);
      const g = tickets.take(c.identity);
      if (g) cs.setGrant('sasl', g);
      // An X.509 client (no SASL, or EXTERNAL) is judged when a link names its device (x509.ts).
      ctx.grantsChanged();
    };
    const common: ServerOptions = {
      host,
      // required: false on purpose: the Azure Node SDKs send the bare AMQP header and authenticate
      // with a CBS put-token after the open. Such a connection gets nothing but $cbs and reply
      // nodes until a grant exists (router.ts), and is closed when none comes in time.
      sasl: { mechanisms, required: false },
      // EXTERNAL takes any client certificate: x509.ts judges it against the identity a link names.
      externalIdentity: (s) => peerCertificateOf(s)?.sha256,
      containerId: `DeviceGateway_${randomBytes(16).toString('hex')}`,
      maxFrameSize: 65536,
      idleTimeoutMs: HUB_IDLE_TIMEOUT_MS,
      onConnection,
      onLink: (l) => {
        // Device links meet their fault window in routeLink, once authorized.
        if (!faults.refuseCbsDuringFault(ctx.connection(l.connection), l)) routeLink(ctx, l);
      },
      logger: options.logger,
      websocket: { path: [...HUB_WEBSOCKET_PATHS] },
      limits: { maxConnections },
    };
    const track = (s: AmqpServer): AmqpServer => {
      s.on('disconnect', (c: ServerConnection) => {
        const cs = states.get(c);
        if (cs) live.delete(cs);
        if (cs) faults.forget(cs);
      });
      servers.push(s);
      return s;
    };
    const plain = track(await listen({ ...common, port: options.port ?? 0 }));
    ports.push(plain.port);
    let secure: AmqpServer | undefined;
    let trusted: string[] = [];
    const x509 = options.x509 ?? true;
    if (options.tlsPort !== undefined || options.httpsPort !== undefined) {
      tls = await prepareTls({
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
        dnsNames: publicHost === 'localhost' ? [] : [publicHost],
      });
      // The CAs X.509 devices' certificates may chain to: the hub's own (only one it made: a `ca`
      // given with `cert` may be a public or corporate CA, which would make any certificate it
      // issued with a device id as CN that device), and those it is told to trust.
      const ownCa = options.cert === undefined ? tls.caPem : undefined;
      trusted = clientTrustStore([...(ownCa === undefined ? [] : [ownCa]), ...(options.x509Ca ?? [])]);
      secure = track(
        await listen({
          ...common,
          port: options.tlsPort,
          tls: {
            cert: tls.cert,
            key: tls.key,
            // Every client is asked for a certificate (X.509 devices); none is refused in TLS.
            ca: trusted.join('\n'),
            requestCert: x509,
          },
        }),
      );
      ports.push(secure.port);
    }
    let httpsPort: HttpsPort | undefined;
    const restRoutes = new RouteTable();
    for (const r of [...registryRoutes(state), ...twinRoutes(state), ...methodRoutes(state)])
      restRoutes.add(r);
    if (tls && options.httpsPort !== undefined) {
      httpsPort = await listenHttps({
        host,
        port: options.httpsPort,
        tls: {
          cert: tls.cert,
          key: tls.key,
          ca: trusted,
          requestCert: x509,
        },
        paths: HUB_WEBSOCKET_PATHS,
        server: secure ?? plain,
        maxConnections,
        deadlineMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
        timers: realTimers,
        onRefused: (reason) => log(`https port: refused: ${reason}`),
        rest: restHandler({
          routes: restRoutes,
          auth,
          clock,
          timers: realTimers,
          onRefused: (reason) => log(`REST: ${reason}`),
        }),
      });
      closers.push(httpsPort);
      ports.push(httpsPort.port);
    }
    emulator = new IotHubEmulator(
      state,
      clock,
      plain,
      secure,
      tls,
      live,
      publicHost,
      options.clock !== undefined,
      httpsPort,
      restRoutes,
    );
    emulator.faults = faults;
    state.onDeadlineChange(() => emulator?.arm());
    emulator.arm();
    if (!state.durable) log('no state directory: the hub keeps everything in memory');
    return emulator;
  } catch (e) {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    await Promise.all(closers.map((s) => s.close().catch(() => undefined)));
    await state.close().catch(() => undefined);
    await tls?.cleanup().catch(() => undefined);
    throw e;
  }
}
