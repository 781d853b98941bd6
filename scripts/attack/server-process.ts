/**
 * The servers under attack: `amqp-one broker` and `amqp-one hub`, each a child process of
 * `node dist/cli/main.js` on loopback and a free port, so that their memory (VmRSS, VmHWM) is
 * their own and an attack cannot stall the attacker's event loop and the server's at once.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with the amqp-one package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'amqp-one')
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('the amqp-one repository root was not found above ' + import.meta.url);
    dir = up;
  }
}

export const CLI_MAIN = join(repoRoot(), 'dist', 'cli', 'main.js');

export type ServerKind = 'broker' | 'hub';

/** The broker always runs with this user: attacks other than auth ones log in as it. */
export const BROKER_USER = { name: 'alice', password: 's3cret' } as const;
/** BROKER_USER as SASL PLAIN credentials. */
export const BROKER_AUTH = { username: BROKER_USER.name, password: BROKER_USER.password };
/** Hub devices: the attacker uses the first, the honest probe the second. */
export const HUB_DEVICES = ['dev1', 'probe1'] as const;

export interface Memory {
  /** VmRSS in MiB. */
  rssMiB: number;
  /** VmHWM (peak RSS since start) in MiB. */
  hwmMiB: number;
}

/** /proc/<pid>/status memory figures; undefined when the process is gone. */
export function readMemory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

const helpCache = new Map<string, string>();

/** `amqp-one <command> --help`: which flags this build has (the attacks adapt to fixed servers). */
export function cliHelp(command: string): string {
  let h = helpCache.get(command);
  if (h === undefined) {
    try {
      h = execFileSync(process.execPath, [CLI_MAIN, command, '--help'], {
        encoding: 'utf8',
        timeout: 15_000,
      });
    } catch (e) {
      h = String((e as { stdout?: string }).stdout ?? '');
    }
    helpCache.set(command, h);
  }
  return h;
}

/**
 * The flags of `amqp-one <command>` whose names match `pattern`, each with the unit its name or
 * help line gives ('ms' or 's'); empty when this build has none.
 */
export function findFlags(command: string, pattern: RegExp): { flag: string; unit: 'ms' | 's' }[] {
  const found = new Map<string, { flag: string; unit: 'ms' | 's' }>();
  for (const line of cliHelp(command).split('\n')) {
    for (const m of line.matchAll(/--([a-z0-9-]+)/g)) {
      const name = m[1]!;
      if (!pattern.test(name) || found.has(name)) continue;
      const unit = /-ms$/.test(name) || /\bms\b|millisecond/i.test(line) ? 'ms' : 's';
      found.set(name, { flag: `--${name}`, unit });
    }
  }
  return [...found.values()];
}

export const findFlag = (command: string, pattern: RegExp): { flag: string; unit: 'ms' | 's' } | undefined =>
  findFlags(command, pattern)[0];

/** `seconds` in the unit a flag wants. */
export function flagValue(f: { unit: 'ms' | 's' }, seconds: number): string {
  return String(f.unit === 'ms' ? Math.round(seconds * 1000) : Math.max(1, Math.round(seconds)));
}

export interface ServerInfo {
  kind: ServerKind;
  host: string;
  port: number;
  /** Hub: connection strings by device id and by policy name. */
  devices: Record<string, string>;
  policies: Record<string, string>;
  /** Hub: the Event Hubs-compatible entity (partition receivers attach under it). */
  eventHubName?: string;
}

export class ServerProcess {
  /** The last lines the server wrote on stderr (its log). */
  readonly log: string[] = [];
  exit: { code: number | null; signal: string | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly args: string[],
    public info: ServerInfo,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      for (const l of s.split('\n')) if (l) this.log.push(l);
      if (this.log.length > 50) this.log.splice(0, this.log.length - 50);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  memory(): Memory | undefined {
    return this.exit ? undefined : readMemory(this.pid);
  }

  /** Starts `amqp-one <kind>` on 127.0.0.1 and a free port; resolves once it listens. */
  static async start(kind: ServerKind, extraArgs: string[] = [], umask?: string): Promise<ServerProcess> {
    const args =
      kind === 'broker'
        ? ['broker', '--port', '0', '--json', '--user', `${BROKER_USER.name}:${BROKER_USER.password}`]
        : ['hub', '--port', '0', '--no-tls', ...HUB_DEVICES.flatMap((d) => ['--device', d])];
    args.push(...extraArgs);
    const stdio = ['ignore', 'pipe', 'pipe'] as const;
    // A given umask goes through sh, which then becomes node (exec): the pid stays the server's.
    const child =
      umask === undefined
        ? spawn(process.execPath, [CLI_MAIN, ...args], { stdio: [...stdio] })
        : spawn('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, CLI_MAIN, ...args], {
            stdio: [...stdio],
          });
    const info: ServerInfo = { kind, host: '127.0.0.1', port: 0, devices: {}, policies: {} };
    const server = new ServerProcess(child, args, info);
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} did not start in 30 s:\n${out}`)), 30_000);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited with ${code} at start:\n${out}\n${server.log.join('\n')}`));
      });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (s: string) => {
        out += s;
        if (parseStartup(kind, out, info)) done();
      });
    });
    try {
      await ready;
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    return server;
  }

  /** SIGTERM, then SIGKILL if it has not exited within 3 s. */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Fills `info` from what the server printed; true once everything needed is there. */
function parseStartup(kind: ServerKind, out: string, info: ServerInfo): boolean {
  if (kind === 'broker') {
    const m = /"port":(\d+)/.exec(out) ?? /listening on amqps?:\/\/[^:]+:(\d+)/.exec(out);
    if (m) info.port = Number(m[1]);
    return info.port > 0;
  }
  const m = /AMQP\s+([\d.]+):(\d+)/.exec(out);
  if (m) info.port = Number(m[2]);
  const eh = /EntityPath=([^;\s]+)/.exec(out);
  if (eh) info.eventHubName = eh[1];
  for (const line of out.split('\n')) {
    const cs = /^\s+([\w.-]+): (HostName=\S+)/.exec(line);
    if (!cs) continue;
    if (/;DeviceId=/.test(cs[2]!)) info.devices[cs[1]!] = cs[2]!;
    else info.policies[cs[1]!] = cs[2]!;
  }
  return info.port > 0 && HUB_DEVICES.every((d) => info.devices[d] !== undefined);
}
