/**
 * Test support: start and drive REAL AMQP 1.0 peers (Qpid Proton Python and C, RabbitMQ with
 * rabbitmq_amqp1_0, uAMQP) on loopback, for interop tests. No amqp-one code in here.
 *
 * Rules this module keeps:
 * - ports: free ones picked at run time (or port 0 where the peer reports the port it got);
 * - readiness: polled with bounded timeouts (TCP connect, a "listening on" line, a real AMQP open);
 * - cleanup: every child runs detached in its own process group and is killed with its group on
 *   stop(); each child's environment carries a tag, so that descendants that left the group (Erlang
 *   puts some helpers in their own sessions) are found in /proc and killed too; process 'exit' and
 *   SIGINT/SIGTERM/SIGHUP hooks kill whatever is left; and on load, peers whose owning test process
 *   died without cleaning up (e.g. SIGKILL) are reaped.
 *
 * Install the peers with scripts/install-peers.sh (Debian packages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';

// ---------------------------------------------------------------------------------------------
// Locations

/** Debian's python: the python3 first on PATH may be another build that cannot import proton/uamqp. */
export const PYTHON = '/usr/bin/python3';
export const PROTON_PYTHON_EXAMPLES = '/usr/share/proton/examples/python';
export const PROTON_C_EXAMPLES = '/usr/share/proton/examples/c';
export const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
export const EPMD = '/usr/bin/epmd';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCRIPTS_DIR = path.join(REPO_ROOT, 'scripts');
/** Our own Proton Python client: never reconnects, can force SASL PLAIN, exits non-zero on errors. */
export const PROTON_CLIENT_SCRIPT = path.join(SCRIPTS_DIR, 'proton_client.py');
/** Compiled Proton C examples are cached here across runs (keyed by a hash of source + flags). */
export const CACHE_DIR = path.join(os.tmpdir(), 'amqp-one-peers');

const LOOPBACK = '127.0.0.1';
const TAG_VAR = 'AMQP_ONE_PEER_TAG';
const OWNER_VAR = 'AMQP_ONE_PEER_OWNER';
const LOG_LIMIT = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Public types

/** What every started peer returns. */
export interface Peer {
  /** Short name, e.g. 'proton-python-broker'. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** amqp://127.0.0.1:PORT (no address). */
  readonly url: string;
  /** Pid of the main process (also its process group id). */
  readonly pid: number;
  /** Milliseconds from spawn until ready. */
  readonly startMs: number;
  /** Stop the peer and everything it started; idempotent, never throws. */
  stop(): Promise<void>;
  /** Everything the peer printed so far (stdout and stderr interleaved; plus log files for RabbitMQ). */
  logs(): string;
  /** True while the main process has not exited. */
  running(): boolean;
}

export interface RunResult {
  command: string;
  /** Pid (and process group id) it ran as; -1 if it could not be spawned. */
  pid: number;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  output: string;
  /** True when the hard timeout fired and the process group was killed. */
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Hard timeout: the process group gets SIGTERM, then SIGKILL 1 s later. Default 30 s. */
  timeoutMs?: number;
  cwd?: string;
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input?: string;
}

export interface TestCertificates {
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  /** CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1; signed by the CA. */
  serverCertFile: string;
  serverKeyFile: string;
  /** CN=test-client, extendedKeyUsage clientAuth; signed by the CA. */
  clientCertFile: string;
  clientKeyFile: string;
  /** PEM contents of the files above. */
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

// ---------------------------------------------------------------------------------------------
// Process registry and cleanup hooks (one per process/worker thread, shared by copies of this module)

interface Registry {
  live: Set<ManagedProcess>;
  tempDirs: Set<string>;
  /** pid:starttime of this process (put in every child's environment as the owner). */
  ownerId: string;
  /** ownerId:threadId: prefix of every tag this module instance hands out. */
  instanceId: string;
  counter: number;
  handedPorts: Set<number>;
  reaped: boolean;
}

const REGISTRY_KEY = Symbol.for('amqp-one.test.peers.registry');

function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 2 (comm) may hold spaces and parentheses: split after the last ')'. starttime is field 22.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

const registry: Registry = (() => {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (r) return r;
  const ownerId = `${process.pid}:${procStartTime(process.pid) ?? '0'}`;
  r = {
    live: new Set(),
    tempDirs: new Set(),
    ownerId,
    instanceId: `${ownerId}:${threadId}`,
    counter: 0,
    handedPorts: new Set(),
    reaped: false,
  };
  g[REGISTRY_KEY] = r;
  installExitHooks(r);
  return r;
})();

function installExitHooks(r: Registry): void {
  process.on('exit', () => killAllPeersSync(r));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllPeersSync(r);
      // If nobody else handles the signal, die of it as the default action would have.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
}

function killAllPeersSync(r: Registry): void {
  for (const m of r.live) {
    m.killGroup('SIGKILL');
    killTaggedSync(m.tag);
  }
  r.live.clear();
  for (const dir of r.tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  r.tempDirs.clear();
}

/** Kill (SIGKILL) every peer this process started, synchronously. Also runs on process exit. */
export function killAllPeers(): void {
  killAllPeersSync(registry);
}

/** pids (not ours) whose environment has one of the given NAME=VALUE entries or a NAME= prefix. */
function scanProcEnv(test: (entries: string[]) => boolean): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env: string;
    try {
      env = fs.readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (env.includes(TAG_VAR) && test(env.split('\0'))) found.push(pid);
  }
  return found;
}

function killTaggedSync(tag: string): number {
  const entry = `${TAG_VAR}=${tag}`;
  const pids = scanProcEnv((entries) => entries.includes(entry));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return pids.length;
}

/** Pids of live processes that this process (thread) started through the harness: should be [] after stops. */
export function leftoverPeerPids(): number[] {
  const prefix = `${TAG_VAR}=${registry.instanceId}:`;
  return scanProcEnv((entries) => entries.some((e) => e.startsWith(prefix))).filter((pid) => {
    const state = procState(pid);
    return state !== undefined && state !== 'Z';
  });
}

function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Kill peers left behind by test processes that died without cleaning up (their owner pid is gone
 * or was reused), and remove their temp dirs. Runs once per process when this module loads;
 * returns how many processes it killed.
 */
export function reapOrphanedPeers(): number {
  const ownerPrefix = `${OWNER_VAR}=`;
  const pids = scanProcEnv((entries) => {
    const owner = entries.find((e) => e.startsWith(ownerPrefix));
    if (!owner) return false;
    const [pidText, start] = owner.slice(ownerPrefix.length).split(':');
    const ownerPid = Number(pidText);
    if (!Number.isInteger(ownerPid) || ownerPid <= 0) return false;
    return procStartTime(ownerPid) !== start;
  });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  reapStaleTempDirs();
  return pids.length;
}

/** Temp dirs are named amqp-one-KIND-OWNERPID-XXXXXX so that the reaper can find stale ones. */
const TEMP_DIR_RE = /^amqp-one-[a-z]+-(\d+)-[A-Za-z0-9]{6}$/;

function reapStaleTempDirs(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_DIR_RE.exec(name);
    if (!m || procStartTime(Number(m[1])) !== undefined) continue;
    try {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

async function makeTempDir(kind: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `amqp-one-${kind}-${process.pid}-`));
  registry.tempDirs.add(dir);
  return dir;
}

async function removeTempDir(dir: string): Promise<void> {
  registry.tempDirs.delete(dir);
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Managed child processes

export interface SpawnOptions {
  cwd?: string;
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Short name put in the cleanup tag. */
  name?: string;
}

/**
 * A long-running child in its own process group, registered for cleanup (stop with terminate()).
 * Exported so that tests can run their own servers/clients (e.g. a node script) under the same rules.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly tag: string;
  readonly command: string;
  readonly startedAt = Date.now();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly closed: Promise<void>;
  private chunks: string[] = [];
  private outChunks: string[] = [];
  private errChunks: string[] = [];
  private size = 0;
  private listeners = new Set<() => void>();

  constructor(cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.tag = `${registry.instanceId}:${++registry.counter}:${opts.name ?? path.basename(cmd)}`;
    this.command = [cmd, ...args].join(' ');
    this.child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, [TAG_VAR]: this.tag, [OWNER_VAR]: registry.ownerId },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (e.g. ENOENT): 'error' follows; keep a dummy pid.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
      registry.live.add(this);
    }
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.append(d, this.outChunks));
    this.child.stderr!.on('data', (d: string) => this.append(d, this.errChunks));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.notify();
        resolve(this.exitInfo);
      });
      this.child.once('error', (err) => {
        this.append(`spawn error: ${err.message}\n`, this.errChunks);
        if (!this.exitInfo) {
          this.exitInfo = { code: 127, signal: null };
          registry.live.delete(this);
          this.notify();
          resolve(this.exitInfo);
        }
      });
    });
    this.closed = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.once('error', () => resolve());
    });
  }

  private append(d: string, into: string[]): void {
    this.chunks.push(d);
    into.push(d);
    this.size += d.length;
    while (this.size > LOG_LIMIT && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  output(): string {
    return this.chunks.join('');
  }
  stdout(): string {
    return this.outChunks.join('');
  }
  stderr(): string {
    return this.errChunks.join('');
  }
  running(): boolean {
    return this.exitInfo === undefined;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // group gone
    }
  }

  /** Resolve with the first match of re in the output; reject on exit or timeout. */
  waitForOutput(re: RegExp, timeoutMs: number, what = `output ${re}`): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.output().match(re);
        if (m) {
          done();
          resolve(m);
        } else if (!this.running()) {
          done();
          reject(this.failure(`exited before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  failure(what: string): Error {
    const exit = this.exitInfo ? ` (exit code ${this.exitInfo.code}, signal ${this.exitInfo.signal})` : '';
    return new Error(`${this.command}: ${what}${exit}\n--- output ---\n${this.output().slice(-8000)}`);
  }

  /** SIGTERM the group, wait up to graceMs, SIGKILL the group, then kill tagged leftovers. */
  async terminate(graceMs = 3000): Promise<void> {
    if (this.pid > 0) {
      if (this.running()) {
        this.killGroup('SIGTERM');
        await withTimeout(this.exited, graceMs);
      }
      this.killGroup('SIGKILL');
      await withTimeout(this.exited, 2000);
      killTaggedSync(this.tag);
      await withTimeout(this.closed, 1000);
    }
    registry.live.delete(this);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run a command to completion in its own process group, with a hard timeout (SIGTERM to the group,
 * SIGKILL 1 s later). Never rejects: look at code / timedOut. Leftovers in the group are killed.
 */
export async function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const m = new ManagedProcess(cmd, args, { cwd: opts.cwd, env: opts.env });
  if (opts.input !== undefined) m.child.stdin!.end(opts.input);
  else m.child.stdin!.end();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    m.killGroup('SIGTERM');
    setTimeout(() => m.killGroup('SIGKILL'), 1000).unref();
  }, timeoutMs);
  const exit = await m.exited;
  clearTimeout(timer);
  // Wait briefly for the pipes to drain, then make sure nothing of the group stays behind.
  await withTimeout(m.closed, 500);
  await m.terminate(0);
  return {
    command: m.command,
    pid: m.pid,
    code: exit.code,
    signal: exit.signal,
    stdout: m.stdout(),
    stderr: m.stderr(),
    output: m.output(),
    timedOut,
    durationMs: Date.now() - m.startedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Ports and readiness

/** A TCP port free on 127.0.0.1 right now (never the same one twice in this process). */
export async function freePort(host = LOOPBACK): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen({ port: 0, host, exclusive: true }, () => {
        const addr = srv.address() as net.AddressInfo;
        srv.close(() => resolve(addr.port));
      });
    });
    if (!registry.handedPorts.has(port)) {
      registry.handedPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new free port after 20 tries');
}

/** One TCP connect attempt; true if accepted within timeoutMs. */
export function canConnect(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

/**
 * Poll until host:port accepts a TCP connection (every 50 ms, bounded by timeoutMs). Fails at once
 * when `proc` (if given) exits first.
 */
export async function waitForPort(
  port: number,
  opts: { host?: string; timeoutMs?: number; proc?: ManagedProcess } = {},
): Promise<void> {
  const host = opts.host ?? LOOPBACK;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (opts.proc && !opts.proc.running()) throw opts.proc.failure(`exited before port ${port} opened`);
    if (await canConnect(port, host, 500)) return;
    if (Date.now() >= deadline) {
      const msg = `port ${host}:${port} not accepting connections after ${opts.timeoutMs ?? 10_000} ms`;
      throw opts.proc ? opts.proc.failure(msg) : new Error(msg);
    }
    await delay(50);
  }
}

function makePeer(
  name: string,
  m: ManagedProcess,
  port: number,
  extra: { stop?: () => Promise<void>; logs?: () => string; host?: string } = {},
): Peer {
  const host = extra.host ?? LOOPBACK;
  let stopping: Promise<void> | undefined;
  return {
    name,
    host,
    port,
    url: `amqp://${host}:${port}`,
    pid: m.pid,
    startMs: Date.now() - m.startedAt,
    stop: () => (stopping ??= (extra.stop ?? (() => m.terminate()))().catch(() => undefined)),
    logs: extra.logs ?? (() => m.output()),
    running: () => m.running(),
  };
}

/** Retry a start when the process died early (typically: the free port was taken meanwhile). */
async function startWithRetries<T>(attempts: number, start: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await start();
    } catch (err) {
      last = err;
      if (!(err instanceof EarlyExit)) throw err;
    }
  }
  throw last;
}

class EarlyExit extends Error {}

// ---------------------------------------------------------------------------------------------
// Qpid Proton, Python

/**
 * Proton's example broker: /usr/bin/python3 .../broker.py -a 127.0.0.1:PORT. Queues are created on
 * first use; SASL ANONYMOUS only; no TLS. Ready when the port accepts TCP. `env` is added to its
 * environment.
 */
export async function startProtonPythonBroker(
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Peer> {
  return startWithRetries(3, async () => {
    const port = await freePort();
    const m = new ManagedProcess(
      PYTHON,
      [path.join(PROTON_PYTHON_EXAMPLES, 'broker.py'), '-a', `${LOOPBACK}:${port}`],
      {
        name: 'proton-python-broker',
        // e.g. PNPY_LOGGER_CONFIG (see protonLoggingConfig), to see the errors peers close with
        env: opts.env,
      },
    );
    try {
      await waitForPort(port, { proc: m, timeoutMs: opts.timeoutMs ?? 15_000 });
    } catch (err) {
      const died = !m.running();
      await m.terminate(0);
      throw died ? new EarlyExit((err as Error).message) : err;
    }
    return makePeer('proton-python-broker', m, port);
  });
}

/**
 * A logging config file for Proton Python (use as env PNPY_LOGGER_CONFIG): Proton logs through a
 * NullHandler by default, so a peer's error condition (e.g. a close with an error) is never shown;
 * with this, records of level INFO and up go to stderr as 'LEVEL logger: message'.
 */
export async function protonLoggingConfig(): Promise<string> {
  const dir = await makeTempDir('pnlog');
  const file = path.join(dir, 'logging.ini');
  await fsp.writeFile(
    file,
    [
      '[loggers]',
      'keys=root',
      '[handlers]',
      'keys=stderr',
      '[formatters]',
      'keys=plain',
      '[logger_root]',
      'level=INFO',
      'handlers=stderr',
      '[handler_stderr]',
      'class=StreamHandler',
      'args=(sys.stderr,)',
      'formatter=plain',
      '[formatter_plain]',
      'format=%(levelname)s %(name)s: %(message)s',
      '',
    ].join('\n'),
  );
  return file;
}

/** Run one of Proton's Python examples (file name in /usr/share/proton/examples/python). */
export function runProtonPython(script: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCommand(PYTHON, [path.join(PROTON_PYTHON_EXAMPLES, script), ...args], {
    timeoutMs: 20_000,
    ...opts,
  });
}

/**
 * simple_send.py -a ADDRESS -m COUNT. ADDRESS is host:port/queue (or amqp://host:port/queue).
 * Prints "all messages confirmed". Beware: it reconnects forever when it cannot connect (hence the
 * timeout) and picks SASL ANONYMOUS whenever offered, even with user:password@ in the address.
 */
export function runProtonSimpleSend(
  address: string,
  count: number,
  opts: RunOptions = {},
): Promise<RunResult> {
  return runProtonPython('simple_send.py', ['-a', address, '-m', String(count)], opts);
}

/** simple_recv.py -a ADDRESS -m COUNT: prints each body (a dict {'sequence': n} from simple_send). */
export function runProtonSimpleRecv(
  address: string,
  count: number,
  opts: RunOptions = {},
): Promise<RunResult> {
  return runProtonPython('simple_recv.py', ['-a', address, '-m', String(count)], opts);
}

export interface ProtonClientOptions {
  /** amqp://host:port or amqps://host:port (no address). */
  url: string;
  address?: string;
  count?: number;
  user?: string;
  password?: string;
  /** SASL mechanisms to allow, e.g. 'PLAIN' (the default when user is given). */
  mechs?: string;
  /** Skip SASL: send the bare AMQP header (sasl_enabled=False). */
  noSasl?: boolean;
  /** CA file to trust for amqps (host name is checked). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Body of each sent message; '{n}' becomes the sequence number. Default 'message-{n}'. */
  body?: string;
  /** The client's own timeout in ms (exit code 2); the process hard timeout is this + 5 s. */
  timeoutMs?: number;
}

/**
 * scripts/proton_client.py: a Proton Python client that never reconnects and exits 0 (done),
 * 1 (error) or 2 (timed out). probe: opens a sender link and prints 'link opened'; send: prints
 * 'sent N accepted N'; recv: prints each body then 'received N'.
 */
export function runProtonClient(
  mode: 'probe' | 'send' | 'recv',
  o: ProtonClientOptions,
  run: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const args = [PROTON_CLIENT_SCRIPT, mode, '--url', o.url, '--timeout', String(timeoutMs / 1000)];
  const add = (flag: string, v: string | number | undefined): void => {
    if (v !== undefined) args.push(flag, String(v));
  };
  add('--address', o.address);
  add('--count', o.count);
  add('--user', o.user);
  add('--password', o.password);
  add('--mechs', o.mechs);
  add('--ca', o.ca);
  add('--cert', o.cert);
  add('--key', o.key);
  add('--body', o.body);
  if (o.noSasl) args.push('--no-sasl');
  return runCommand(PYTHON, args, { timeoutMs: timeoutMs + 5000, ...run });
}

// ---------------------------------------------------------------------------------------------
// Qpid Proton, C (compiled from Debian's examples)

export interface ProtonCBinaries {
  broker: string;
  send: string;
  receive: string;
  direct: string;
}

let cBuild: Promise<ProtonCBinaries> | undefined;

async function protonCFlags(): Promise<string[]> {
  // Upstream names the split libraries; Debian's libqpid-proton11-dev ships only libqpid-proton.pc
  // (one library holding core + proactor), so fall back to it.
  for (const pkgs of [['libqpid-proton-proactor', 'libqpid-proton-core'], ['libqpid-proton']]) {
    const r = await runCommand('pkg-config', ['--cflags', '--libs', ...pkgs], { timeoutMs: 10_000 });
    if (r.code === 0) return r.stdout.trim().split(/\s+/).filter(Boolean);
  }
  throw new Error('pkg-config finds no Qpid Proton C library: run scripts/install-peers.sh');
}

/**
 * Compile broker.c, send.c, receive.c and direct.c from /usr/share/proton/examples/c with
 * gcc -O2 (once per process; binaries cached in CACHE_DIR/c keyed by source + flags).
 */
export function buildProtonCExamples(): Promise<ProtonCBinaries> {
  cBuild ??= (async () => {
    const flags = await protonCFlags();
    const outDir = path.join(CACHE_DIR, 'c');
    await fsp.mkdir(outDir, { recursive: true });
    const build = async (name: keyof ProtonCBinaries): Promise<string> => {
      const src = path.join(PROTON_C_EXAMPLES, `${name}.c`);
      const text = await fsp.readFile(src);
      const header = await fsp
        .readFile(path.join(PROTON_C_EXAMPLES, 'thread.h'))
        .catch(() => Buffer.alloc(0));
      const hash = createHash('sha256').update(text).update(header).update(flags.join(' ')).digest('hex');
      const out = path.join(outDir, `${name}-${hash.slice(0, 16)}`);
      if (await isExecutable(out)) return out;
      const tmp = `${out}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const r = await runCommand('gcc', ['-O2', '-o', tmp, src, ...flags, '-lpthread'], {
        timeoutMs: 120_000,
        cwd: PROTON_C_EXAMPLES,
      });
      if (r.code !== 0) {
        await fsp.rm(tmp, { force: true });
        throw new Error(`gcc ${name}.c failed (${r.code}):\n${r.output}`);
      }
      await fsp.rename(tmp, out); // atomic: parallel workers may build the same file
      return out;
    };
    const [broker, send, receive, direct] = await Promise.all(
      (['broker', 'send', 'receive', 'direct'] as const).map(build),
    );
    return { broker: broker!, send: send!, receive: receive!, direct: direct! };
  })();
  cBuild.catch(() => (cBuild = undefined));
  return cBuild;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fsp.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ProtonCBrokerPeer extends Peer {
  /** amqps://localhost:PORT when started with tls (TLS and plain AMQP share the one port). */
  tlsUrl?: string;
  certs?: TestCertificates;
}

/**
 * Proton's C example broker (4 threads, queues created on first use, SASL ANONYMOUS only).
 * Usage is `broker [host [port]]`; we pass 127.0.0.1 and port 0, run it under `stdbuf -oL` and read
 * the port from its "listening on PORT" line. broker.c loads ssl-certs/tserver-certificate.pem and
 * ssl-certs/tserver-private-key.pem from its working directory: with `tls` we put the test server
 * certificate there, and the same port then accepts both TLS and plain connections.
 */
export async function startProtonCBroker(
  opts: { tls?: boolean | TestCertificates; timeoutMs?: number } = {},
): Promise<ProtonCBrokerPeer> {
  const bins = await buildProtonCExamples();
  const certs = opts.tls === true ? await makeTestCertificates() : opts.tls || undefined;
  const cwd = await makeTempDir('cbroker');
  if (certs) {
    await fsp.mkdir(path.join(cwd, 'ssl-certs'));
    await fsp.copyFile(certs.serverCertFile, path.join(cwd, 'ssl-certs', 'tserver-certificate.pem'));
    await fsp.copyFile(certs.serverKeyFile, path.join(cwd, 'ssl-certs', 'tserver-private-key.pem'));
  }
  const m = new ManagedProcess('stdbuf', ['-oL', '-eL', bins.broker, LOOPBACK, '0'], {
    cwd,
    name: 'proton-c-broker',
  });
  let port: number;
  try {
    const match = await m.waitForOutput(
      /listening on (\d+)/,
      opts.timeoutMs ?? 10_000,
      '"listening on PORT"',
    );
    port = Number(match[1]);
  } catch (err) {
    await m.terminate(0);
    await removeTempDir(cwd);
    throw err;
  }
  const peer = makePeer('proton-c-broker', m, port, {
    stop: async () => {
      await m.terminate();
      await removeTempDir(cwd);
    },
  });
  return certs ? { ...peer, tlsUrl: `amqps://localhost:${port}`, certs } : peer;
}

/** Split amqp://host:port/address (or host:port/address) for the C examples' positional args. */
function cTarget(url: string): { host: string; port: string; address: string } {
  const u = new URL(url.includes('://') ? url : `amqp://${url}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || LOOPBACK,
    port: u.port || '5672',
    address: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'examples',
  };
}

/**
 * Proton C send: `send HOST PORT ADDRESS COUNT`. url is amqp://host:port/address. On success it
 * prints "COUNT messages sent and acknowledged" and exits 0 (1 on an AMQP error condition).
 */
export async function runProtonCSend(url: string, count: number, opts: RunOptions = {}): Promise<RunResult> {
  const bins = await buildProtonCExamples();
  const t = cTarget(url);
  return runCommand(bins.send, [t.host, t.port, t.address, String(count)], { timeoutMs: 30_000, ...opts });
}

/**
 * Proton C receive: `receive HOST PORT ADDRESS COUNT`. Prints each body (e.g. {"sequence"=1}) then
 * "COUNT messages received"; exits 0 (1 on an AMQP error condition).
 */
export async function runProtonCReceive(
  url: string,
  count: number,
  opts: RunOptions = {},
): Promise<RunResult> {
  const bins = await buildProtonCExamples();
  const t = cTarget(url);
  return runCommand(bins.receive, [t.host, t.port, t.address, String(count)], { timeoutMs: 30_000, ...opts });
}

export interface ProtonCDirectPeer extends Peer {
  /** Wait for direct to finish (it exits after COUNT messages, or on error); kills it on timeout. */
  result(timeoutMs?: number): Promise<RunResult>;
}

/**
 * Proton C direct: `direct HOST PORT ADDRESS COUNT` listens (port 0 here, read from its output) and
 * serves ONE peer directly: if the peer attaches a sender it receives COUNT messages, if a receiver
 * it sends COUNT messages ({"sequence"=n}), then exits. Do not probe it with a bare TCP connect:
 * an aborted connection makes it exit with code 1.
 */
export async function startProtonCDirect(
  opts: { address?: string; count?: number; timeoutMs?: number } = {},
): Promise<ProtonCDirectPeer> {
  const bins = await buildProtonCExamples();
  const count = opts.count ?? 10;
  const m = new ManagedProcess(bins.direct, [LOOPBACK, '0', opts.address ?? 'examples', String(count)], {
    name: 'proton-c-direct',
  });
  let port: number;
  try {
    port = Number((await m.waitForOutput(/listening on (\d+)/, opts.timeoutMs ?? 10_000))[1]);
  } catch (err) {
    await m.terminate(0);
    throw err;
  }
  const peer = makePeer('proton-c-direct', m, port);
  return {
    ...peer,
    result: async (timeoutMs = 30_000) => {
      const exit = await withTimeout(m.exited, timeoutMs);
      await m.terminate(0);
      const info = exit ?? m.exitInfo ?? { code: null, signal: null };
      return {
        command: m.command,
        pid: m.pid,
        code: info.code,
        signal: info.signal,
        stdout: m.stdout(),
        stderr: m.stderr(),
        output: m.output(),
        timedOut: exit === undefined,
        durationMs: Date.now() - m.startedAt,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ + rabbitmq_amqp1_0

export interface RabbitMQOptions {
  /** Let clients in with SASL ANONYMOUS as guest (RabbitMQ's default). Default false: PLAIN only. */
  anonymous?: boolean;
  /** Also listen with TLS (amqps) on tlsPort, with the test server certificate. */
  tls?: boolean | TestCertificates;
  /** Extra rabbitmq.conf lines. */
  config?: string[];
  /** Bound on the whole start (default 60 s). */
  startTimeoutMs?: number;
}

export interface RabbitMQPeer extends Peer {
  user: 'guest';
  password: 'guest';
  nodeName: string;
  dir: string;
  /** Environment that rabbitmqctl needs to reach this node. */
  env: NodeJS.ProcessEnv;
  tlsPort?: number;
  /** amqps://localhost:TLSPORT */
  tlsUrl?: string;
  certs?: TestCertificates;
  /** rabbitmqctl -n NODE ARGS... with this node's environment. */
  ctl(args: string[], opts?: RunOptions): Promise<RunResult>;
}

let rabbitCounter = 0;

/**
 * A private RabbitMQ node: its own dirs under a temp folder, its own epmd on 127.0.0.1 (private
 * port), free ports for AMQP, distribution and CLI, rabbitmq_amqp1_0 enabled. Ready when the AMQP
 * port accepts TCP AND a real AMQP 1.0 open + attach with SASL PLAIN guest/guest succeeds.
 * stop(): rabbitmqctl stop, then the process groups are killed and the folder removed.
 */
export async function startRabbitMQ(opts: RabbitMQOptions = {}): Promise<RabbitMQPeer> {
  const certs = opts.tls === true ? await makeTestCertificates() : opts.tls || undefined;
  return startWithRetries(2, () => startRabbitOnce(opts, certs));
}

async function startRabbitOnce(
  opts: RabbitMQOptions,
  certs: TestCertificates | undefined,
): Promise<RabbitMQPeer> {
  const started = Date.now();
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = started + timeoutMs;
  const dir = await makeTempDir('rabbitmq');
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const tlsPort = certs ? await freePort() : undefined;
  const nodeName = `amqpone${process.pid}t${threadId}n${++rabbitCounter}@localhost`;
  const home = path.join(dir, 'home');
  await Promise.all([fsp.mkdir(home), fsp.mkdir(path.join(dir, 'mnesia')), fsp.mkdir(path.join(dir, 'log'))]);
  const conf = [
    `listeners.tcp.default = ${LOOPBACK}:${port}`,
    'disk_free_limit.absolute = 1MB',
    'log.file.level = info',
    ...(opts.anonymous ? [] : ['amqp1_0.default_user = none']),
  ];
  if (certs && tlsPort) {
    conf.push(
      `listeners.ssl.default = ${LOOPBACK}:${tlsPort}`,
      `ssl_options.cacertfile = ${certs.caCertFile}`,
      `ssl_options.certfile = ${certs.serverCertFile}`,
      `ssl_options.keyfile = ${certs.serverKeyFile}`,
      'ssl_options.verify = verify_none',
      'ssl_options.fail_if_no_peer_cert = false',
    );
  }
  conf.push(...(opts.config ?? []));
  await fsp.writeFile(path.join(dir, 'rabbitmq.conf'), conf.join('\n') + '\n');
  await fsp.writeFile(path.join(dir, 'enabled_plugins'), '[rabbitmq_amqp1_0].\n');
  await fsp.writeFile(path.join(dir, 'rabbitmq-env.conf'), '');
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_ADDRESS: LOOPBACK,
    ERL_EPMD_PORT: String(epmdPort),
  };
  const logFile = path.join(dir, 'log', `${nodeName}.log`);
  let savedLog = '';
  const readLog = (): string => {
    try {
      savedLog = fs.readFileSync(logFile, 'utf8');
    } catch {
      // not there (yet, or removed after stop)
    }
    return savedLog;
  };

  const epmd = new ManagedProcess(EPMD, ['-address', LOOPBACK, '-port', String(epmdPort)], {
    env,
    name: 'epmd',
  });
  try {
    await waitForPort(epmdPort, { proc: epmd, timeoutMs: 10_000 });
  } catch (err) {
    const died = !epmd.running();
    await epmd.terminate(0);
    await removeTempDir(dir);
    throw died ? new EarlyExit((err as Error).message) : err;
  }
  const server = new ManagedProcess(path.join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
    env,
    cwd: dir,
    name: 'rabbitmq-server',
  });
  const logs = (): string =>
    `--- epmd ---\n${epmd.output()}--- rabbitmq-server ---\n${server.output()}--- ${logFile} ---\n${readLog()}`;

  const ctl = async (args: string[], run: RunOptions = {}): Promise<RunResult> => {
    const cliPort = String(await freePort());
    return runCommand(path.join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', nodeName, ...args], {
      timeoutMs: 30_000,
      ...run,
      cwd: dir,
      env: { ...env, RABBITMQ_CTL_DIST_PORT_MIN: cliPort, RABBITMQ_CTL_DIST_PORT_MAX: cliPort, ...run.env },
    });
  };
  const kill = async (): Promise<void> => {
    await server.terminate(5000);
    await epmd.terminate(1000);
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (server.running()) {
        await ctl(['stop'], { timeoutMs: 20_000 });
        await withTimeout(server.exited, 10_000);
      }
      readLog();
      await kill();
      await removeTempDir(dir);
    })().catch(() => undefined));

  try {
    // The port opens only once RabbitMQ and its plugins have booted.
    await waitForPort(port, { proc: server, timeoutMs: Math.max(1000, deadline - Date.now()) });
    // Then a real AMQP 1.0 open + attach with SASL PLAIN, retried until the deadline.
    for (;;) {
      const probe = await runProtonClient('probe', {
        url: `amqp://${LOOPBACK}:${port}`,
        address: 'q1',
        user: 'guest',
        password: 'guest',
        timeoutMs: 5000,
      });
      if (probe.code === 0) break;
      if (!server.running()) throw server.failure('exited during the AMQP probe');
      if (Date.now() >= deadline) {
        throw new Error(
          `RabbitMQ: no AMQP 1.0 open within ${timeoutMs} ms; last probe:\n${probe.output}\n${logs()}`,
        );
      }
      await delay(200);
    }
    if (tlsPort)
      await waitForPort(tlsPort, { proc: server, timeoutMs: Math.max(1000, deadline - Date.now()) });
  } catch (err) {
    const died = !server.running();
    const text = `${(err as Error).message}\n${logs().slice(-8000)}`;
    await kill();
    await removeTempDir(dir);
    throw died ? new EarlyExit(text) : new Error(text);
  }

  const peer = makePeer('rabbitmq', server, port, { stop, logs });
  return {
    ...peer,
    startMs: Date.now() - started,
    user: 'guest',
    password: 'guest',
    nodeName,
    dir,
    env,
    ctl,
    ...(tlsPort && certs ? { tlsPort, tlsUrl: `amqps://localhost:${tlsPort}`, certs } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// uAMQP (Azure's C library, Python binding)

/**
 * Run a Python snippet with /usr/bin/python3 (uamqp importable) under a hard timeout: uAMQP hangs,
 * rather than failing, on a plain port, an untrusted certificate or a wrong host name. The snippet
 * is written to a temp file and removed afterwards. Default timeout 30 s.
 */
export async function runUamqp(
  pythonSource: string,
  opts: RunOptions & { args?: string[] } = {},
): Promise<RunResult> {
  const dir = await makeTempDir('uamqp');
  const file = path.join(dir, 'snippet.py');
  await fsp.writeFile(file, pythonSource);
  try {
    return await runCommand(PYTHON, ['-u', file, ...(opts.args ?? [])], {
      timeoutMs: 30_000,
      ...opts,
      env: { PYTHONDONTWRITEBYTECODE: '1', ...opts.env },
    });
  } finally {
    await removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// Test certificates

let certsPromise: Promise<TestCertificates> | undefined;

/**
 * A throw-away CA, a server certificate for localhost / 127.0.0.1 and a client certificate
 * (CN=test-client), all made with openssl in a temp dir (removed at process exit). Cached per
 * process.
 */
export function makeTestCertificates(): Promise<TestCertificates> {
  certsPromise ??= createCertificates();
  certsPromise.catch(() => (certsPromise = undefined));
  return certsPromise;
}

async function createCertificates(): Promise<TestCertificates> {
  const dir = await makeTempDir('certs');
  const f = (name: string): string => path.join(dir, name);
  const openssl = async (args: string[]): Promise<void> => {
    const r = await runCommand('openssl', args, { cwd: dir, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}):\n${r.output}`);
  };
  await fsp.writeFile(
    f('server.ext'),
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  await fsp.writeFile(
    f('client.ext'),
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  // CA (self-signed).
  // prettier-ignore
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
    '-keyout', f('ca-key.pem'), '-out', f('ca.pem'),
    '-subj', '/O=amqp-one tests/CN=amqp-one test CA',
    '-addext', 'basicConstraints = critical, CA:TRUE',
    '-addext', 'keyUsage = critical, keyCertSign, cRLSign',
  ]);
  // Server and client: key + CSR, then signed by the CA.
  const issue = async (name: string, subj: string): Promise<void> => {
    // prettier-ignore
    await openssl([
      'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256',
      '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`), '-subj', subj,
    ]);
    // prettier-ignore
    await openssl([
      'x509', '-req', '-in', f(`${name}.csr`), '-sha256', '-days', '30',
      '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-set_serial', `0x7${randomBytes(8).toString('hex')}`,
      '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`),
    ]);
  };
  await Promise.all([
    issue('server', '/O=amqp-one tests/CN=localhost'),
    issue('client', '/O=amqp-one tests/CN=test-client'),
  ]);
  const read = (name: string): Promise<string> => fsp.readFile(f(name), 'utf8');
  const [ca, caKey, serverCert, serverKey, clientCert, clientKey] = await Promise.all(
    ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem', 'client.pem', 'client-key.pem'].map(read),
  );
  return {
    dir,
    caCertFile: f('ca.pem'),
    caKeyFile: f('ca-key.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server-key.pem'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client-key.pem'),
    ca: ca!,
    caKey: caKey!,
    serverCert: serverCert!,
    serverKey: serverKey!,
    clientCert: clientCert!,
    clientKey: clientKey!,
  };
}

/** Spawn a long-running process under the harness's cleanup rules (own process group, tagged). */
export function spawnManaged(cmd: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(cmd, args, opts);
}

if (!registry.reaped) {
  registry.reaped = true;
  reapOrphanedPeers();
}
