/**
 * Runs the server cases against a URL: one case at a time, each on fresh connections with queues of
 * its own, each with its own frame trace and verdict.
 */
import { randomBytes } from 'node:crypto';
import type { Begin, Open } from '../codec/spec/records.js';
import { openSocket, type TlsOptions } from '../transport/open-socket.js';
import { parseAmqpUrl } from '../transport/url.js';
import type { ByteStream } from '../transport/byte-stream.js';
import { openWebSocket } from '../transport/websocket/ws-client.js';
import { ClientScript, type ScriptSession } from './client-script.js';
import { isHeader, RawPeer } from './raw-peer.js';
import { TraceLog } from './trace.js';
import { CaseVerdict, summarize, type CaseResult, type ConformanceResults, type Verdict } from './types.js';
import { VERSION } from './version.js';

export interface ServerSuiteOptions {
  /** Put before every queue name (RabbitMQ 3.x: '/queue/'). Default ''. */
  addressPrefix?: string;
  /** How long to wait for each answer the server owes (ms, default 2000). */
  timeoutMs?: number;
  /** 'auto' (default): SASL when the server speaks it; 'none': never. */
  sasl?: 'auto' | 'none';
  /** Run only these cases (ids, or id prefixes ending in '.' or '*'). */
  cases?: string[];
  /** Longest silence a case may wait out (the server's own idle time-out), ms (default 10000). */
  maxWaitMs?: number;
  /** TLS options for amqps:// URLs. */
  tls?: TlsOptions;
  /** Called as each case ends. */
  onResult?: (r: CaseResult) => void;
}

/** What a server case gets: connections, addresses, and its trace. */
export interface ServerCaseContext {
  readonly timeoutMs: number;
  readonly maxWaitMs: number;
  readonly log: TraceLog;
  /** The server speaks SASL (and we use it). */
  readonly sasl: boolean;
  readonly username?: string;
  readonly password?: string;
  note(text: string): void;
  /** A queue name of this case's own (prefixed). */
  address(tag?: string): string;
  /** A new connection, nothing sent yet. */
  socket(): Promise<RawPeer>;
  /** A scripted client over `peer`. */
  script(peer: RawPeer): ClientScript;
  /** A new connection through SASL (if used), the AMQP header and open. */
  connect(open?: Partial<Open>): Promise<ClientScript>;
  /** `connect`, then a session on channel 0. */
  session(open?: Partial<Open>, begin?: Partial<Begin>): Promise<{ c: ClientScript; s: ScriptSession }>;
}

export interface ServerCase {
  id: string;
  /** Spec section, e.g. "2.6.7". */
  section: string;
  title: string;
  run(ctx: ServerCaseContext): Promise<Verdict>;
}

/** The case ids `filter` selects (exact ids, or prefixes given as 'link.' or 'link*'). */
export function selectCases<T extends { id: string }>(cases: readonly T[], filter?: string[]): T[] {
  if (!filter || filter.length === 0) return [...cases];
  return cases.filter((c) =>
    filter.some((f) =>
      f.endsWith('*') || f.endsWith('.') ? c.id.startsWith(f.replace(/\*$/, '')) : c.id === f,
    ),
  );
}

/** Runs `run` with a trace and turns what it returns or throws into a CaseResult. */
export async function runCase<C>(
  meta: { id: string; section: string; title: string },
  makeContext: (log: TraceLog) => { ctx: C; cleanup: () => Promise<void> | void },
  run: (ctx: C) => Promise<Verdict>,
  caseTimeoutMs: number,
): Promise<CaseResult> {
  const log = new TraceLog();
  const started = performance.now();
  const { ctx, cleanup } = makeContext(log);
  let verdict: Verdict;
  let timer: NodeJS.Timeout | undefined;
  try {
    verdict = await Promise.race([
      run(ctx),
      new Promise<Verdict>((resolve) => {
        timer = setTimeout(
          () => resolve({ status: 'fail', reason: `the case did not finish within ${caseTimeoutMs} ms` }),
          caseTimeoutMs,
        );
      }),
    ]);
  } catch (e) {
    verdict =
      e instanceof CaseVerdict
        ? { status: e.status, reason: e.reason }
        : { status: 'fail', reason: `error: ${(e as Error).message ?? String(e)}` };
  }
  clearTimeout(timer);
  log.note(`${verdict.status}: ${verdict.reason}`);
  try {
    await cleanup();
  } catch {
    // the verdict stands
  }
  return {
    id: meta.id,
    section: meta.section,
    title: meta.title,
    status: verdict.status,
    reason: verdict.reason,
    durationMs: Math.round(performance.now() - started),
    trace: log.entries,
  };
}

/** Tests the server at `url` with `cases` (by default, every server case). */
export async function runServerSuite(
  url: string,
  cases: readonly ServerCase[],
  options: ServerSuiteOptions = {},
): Promise<ConformanceResults> {
  const u = parseAmqpUrl(url);
  const startedAt = new Date();
  const t0 = performance.now();
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const tls = u.tls ? (options.tls ?? true) : undefined;
  const runId = randomBytes(3).toString('hex');
  // A ws:// or wss:// URL: the same frames, carried in WebSocket messages.
  const dial = (): Promise<ByteStream> =>
    u.websocket !== undefined
      ? openWebSocket({ host: u.host, port: u.port, tls, path: u.websocket, connectTimeoutMs: 10_000 })
      : openSocket({ host: u.host, port: u.port, tls, connectTimeoutMs: 10_000 });

  const sasl = options.sasl === 'none' ? false : await probeSasl(dial, timeoutMs);
  let peerInfo: ConformanceResults['peer'];

  const results: CaseResult[] = [];
  for (const c of cases) {
    const r = await runCase(
      c,
      (log) => {
        const sockets: RawPeer[] = [];
        const scripts: ClientScript[] = [];
        let serial = 0;
        const script = (peer: RawPeer): ClientScript => {
          const sc = new ClientScript(peer, {
            timeoutMs,
            username: u.username,
            password: u.password,
            hostname: u.host,
          });
          scripts.push(sc);
          return sc;
        };
        const socket = async (): Promise<RawPeer> => {
          const peer = new RawPeer(await dial(), log, { role: 'client', conn: log.nextConnection() });
          sockets.push(peer);
          return peer;
        };
        const connect = async (open: Partial<Open> = {}): Promise<ClientScript> => {
          const sc = script(await socket());
          if (sasl) await sc.sasl();
          await sc.amqpHeader();
          const o = await sc.open(open);
          peerInfo ??= describePeer(o);
          return sc;
        };
        const ctx: ServerCaseContext = {
          timeoutMs,
          maxWaitMs,
          log,
          sasl,
          username: u.username,
          password: u.password,
          note: (text) => log.note(text),
          address: (tag = 'q') =>
            `${options.addressPrefix ?? ''}amqp-one-conformance-${runId}-${c.id}-${tag}-${++serial}`,
          socket,
          script,
          connect,
          session: async (open, begin) => {
            const sc = await connect(open);
            sc.keepAlive();
            const s = await sc.begin(0, begin);
            return { c: sc, s };
          },
        };
        return {
          ctx,
          cleanup: async () => {
            // Leave politely where the connection is still open: close, and its close (briefly).
            await Promise.all(scripts.map((sc) => sc.closeQuietly(300)));
            for (const p of sockets) p.destroy();
          },
        };
      },
      (ctx) => c.run(ctx),
      Math.max(30_000, maxWaitMs * 2 + timeoutMs * 4),
    );
    results.push(r);
    options.onResult?.(r);
  }
  return {
    tool: 'amqp-one conformance',
    version: VERSION,
    mode: 'server',
    target: redact(url),
    peer: peerInfo,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    summary: summarize(results),
    results,
  };
}

/** Does the server speak SASL? Our SASL header is answered with its SASL header, or the AMQP one. */
async function probeSasl(dial: () => Promise<ByteStream>, timeoutMs: number): Promise<boolean> {
  const peer = new RawPeer(await dial(), new TraceLog(), { role: 'client', conn: 1 });
  try {
    peer.header(3);
    const h = await peer.take(isHeader, timeoutMs);
    return h?.protocolId === 3;
  } finally {
    peer.destroy();
  }
}

/** The peer's container-id and the product/version it names in its open's properties. */
export function describePeer(o: Open): NonNullable<ConformanceResults['peer']> {
  const p = (o.properties ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
  return {
    containerId: o.containerId,
    product: str(p.product),
    version: str(p.version),
    platform: str(p.platform),
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
