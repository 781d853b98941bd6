/**
 * Server mode: listens, lets clients connect (one connection per scenario), observes each with a
 * strict scripted server and judges what the clients did, case by case.
 */
import net from 'node:net';
import {
  ObservedConnection,
  type ClientScenario,
  type Observation,
  type ObserverOptions,
} from './client-observer.js';
import type { WireFrame } from './raw-peer.js';
import { describePeer } from './server-suite.js';
import { TraceLog } from './trace.js';
import {
  fail,
  IDLE_SLACK,
  notApplicable,
  pass,
  summarize,
  type CaseResult,
  type ConformanceResults,
  type Verdict,
} from './types.js';
import { VERSION } from './version.js';
import { listenOn } from '../transport/listen-on.js';

export interface ClientCase {
  id: string;
  section: string;
  title: string;
  /** The verdict for one connection. */
  judge(o: Observation, options: ObserverOptions): Verdict;
}

function clientFrames(o: Observation): WireFrame[] {
  return o.peer.received.filter((i): i is WireFrame => i.kind === 'frame' && i.type === 0);
}

function violations(o: Observation, id: string): string[] {
  return o.violations.get(id) ?? [];
}

const hex = (b: Buffer): string => b.toString('hex');

export const CLIENT_CASES: readonly ClientCase[] = [
  {
    id: 'client.header',
    section: '2.2',
    title: 'The client starts with an AMQP 1.0.0 protocol header (AMQP or SASL)',
    judge(o) {
      const h = o.headers[0];
      if (!h) return fail('the client sent no protocol header');
      if (
        h.length !== 8 ||
        h.subarray(0, 4).toString('latin1') !== 'AMQP' ||
        h[5] !== 1 ||
        h[6] !== 0 ||
        h[7] !== 0
      ) {
        return fail(`the first bytes ${hex(h)} are not an AMQP 1.0.0 header`);
      }
      if (h[4] !== 0 && h[4] !== 3) return fail(`protocol id ${h[4]} (expected 0 for AMQP or 3 for SASL)`);
      return pass(`header ${hex(h)} (${h[4] === 3 ? 'SASL' : 'AMQP'})`);
    },
  },
  {
    id: 'client.sasl',
    section: '5.3.2',
    title: 'SASL: the client picks an offered mechanism, then sends the AMQP header',
    judge(o) {
      if (!o.sasl) return notApplicable('the client did not use SASL');
      const m = o.sasl.mechanism;
      if (m === undefined) return fail('no sasl-init after our sasl-mechanisms');
      if (!o.sasl.offered.includes(m))
        return fail(`sasl-init names ${m}, which we did not offer (${o.sasl.offered.join(', ')})`);
      const h = o.headers[1];
      if (!h) return fail('no AMQP header after a successful sasl-outcome');
      if (h[4] !== 0) return fail(`after SASL the client sent the header ${hex(h)}, not the AMQP header`);
      return pass(`${m} chosen from ${o.sasl.offered.join(', ')}; AMQP header followed`);
    },
  },
  {
    id: 'client.open',
    section: '2.4.1',
    title: 'The first frame is open, with a container-id and max-frame-size of at least 512',
    judge(o) {
      if (!o.open)
        return fail(
          o.firstFrame ? `the first frame is ${o.firstFrame}, not open` : 'the client sent no open',
        );
      if (o.firstFrame !== 'open') return fail(`the first frame is ${o.firstFrame}, not open`);
      const op = o.open;
      if (op.maxFrameSize !== undefined && op.maxFrameSize < 512) {
        return fail(`max-frame-size ${op.maxFrameSize} is below 512`);
      }
      return pass(
        `container-id ${op.containerId || '(empty)'}, max-frame-size ${op.maxFrameSize ?? 'unlimited'}, ` +
          `channel-max ${op.channelMax ?? 65535}, idle-time-out ${op.idleTimeOut ?? 'none'}`,
      );
    },
  },
  {
    id: 'client.max-frame-size',
    section: '2.7.1',
    title: 'The client never sends a frame over our max-frame-size (512)',
    judge(o, opts) {
      const v = violations(o, 'client.max-frame-size');
      if (v.length > 0) return fail(v.slice(0, 3).join('; '));
      const frames = clientFrames(o);
      const largest = Math.max(0, ...frames.map((f) => f.size));
      const transfers = frames.filter((f) => f.rec?.type === 'transfer').length;
      return pass(
        `${frames.length} frames (${transfers} transfers), largest ${largest} bytes ≤ ${opts.maxFrameSize}`,
      );
    },
  },
  {
    id: 'client.channel-max',
    section: '2.7.1',
    title: 'The client uses no channel over our channel-max (0)',
    judge(o) {
      const v = violations(o, 'client.channel-max');
      if (v.length > 0) return fail(v.slice(0, 3).join('; '));
      if (!o.open) return notApplicable('no open');
      return pass('every frame on channel 0');
    },
  },
  {
    id: 'client.idle-time-out',
    section: '2.4.5',
    title: 'The client sends a frame at least once per our idle-time-out (1000 ms)',
    judge(o, opts) {
      if (o.openAt === undefined) return notApplicable('no open');
      const end = o.clientCloseAt ?? o.ourCloseAt ?? o.endedAt ?? performance.now();
      const span = end - o.openAt;
      if (span < opts.idleTimeOutMs * 1.5) {
        return notApplicable(`the connection lasted ${Math.round(span)} ms after open: too short to tell`);
      }
      const times = clientFrames(o)
        .map((f) => f.at)
        .filter((t) => t >= o.openAt! && t <= end);
      let gap = 0;
      let prev = o.openAt;
      for (const t of [...times, end]) {
        gap = Math.max(gap, t - prev);
        prev = t;
      }
      if (gap > opts.idleTimeOutMs * IDLE_SLACK) {
        return fail(`no frame for ${Math.round(gap)} ms (our idle-time-out is ${opts.idleTimeOutMs} ms)`);
      }
      return pass(`longest silence ${Math.round(gap)} ms over ${Math.round(span)} ms`);
    },
  },
  {
    id: 'client.session-window',
    section: '2.5.6',
    title: 'The client never sends transfers beyond our session incoming-window (1)',
    judge(o, opts) {
      const v = violations(o, 'client.session-window');
      if (v.length > 0) return fail(v.slice(0, 3).join('; '));
      if (o.transfersIn === 0) return notApplicable('the client sent no transfer');
      return pass(`${o.transfersIn} transfer frame(s), each within our window of ${opts.incomingWindow}`);
    },
  },
  {
    id: 'client.link-credit',
    section: '2.6.7',
    title: 'The client sends a message only with credit (granted one at a time)',
    judge(o) {
      const v = violations(o, 'client.link-credit');
      if (v.length > 0) return fail(v.slice(0, 3).join('; '));
      if (o.deliveriesIn === 0) return notApplicable('the client sent no message');
      return pass(`${o.deliveriesIn} message(s), each with credit`);
    },
  },
  {
    id: 'client.settlement',
    section: '2.6.12',
    title: 'The client settles the unsettled messages we send it (in several frames) with an outcome',
    judge(o) {
      const unsettled = o.sent.filter((d) => !d.settled);
      if (o.sent.length === 0) return notApplicable('the client received no message');
      if (unsettled.length === 0) return notApplicable('the client asked for presettled messages');
      const bad = unsettled.filter(
        (d) =>
          !d.disposition ||
          !d.disposition.settled ||
          !['accepted', 'rejected', 'released', 'modified'].includes(d.disposition.state?.type ?? ''),
      );
      if (bad.length > 0) {
        const d = bad[0];
        return fail(
          `delivery ${d.id}: ${d.disposition ? `disposition settled=${d.disposition.settled === true}, state ${d.disposition.state?.type ?? 'none'}` : 'no disposition'} ` +
            '(2.8.3 first: the receiver settles as it sends its outcome)',
        );
      }
      return pass(
        `${unsettled.length} message(s) settled with ${[...new Set(unsettled.map((d) => d.disposition!.state!.type))].join(', ')}`,
      );
    },
  },
  {
    id: 'client.close',
    section: '2.4.3',
    title: 'The client ends the connection with a close frame',
    judge(o) {
      if (o.scenario !== 'observe') return notApplicable('we closed this connection');
      if (o.end === 'timeout') return notApplicable('the client was still connected at the time-out');
      if (o.clientClose)
        return pass(o.clientClose.error ? `close with ${o.clientClose.error.condition}` : 'close');
      // Blame only a close the client made: a socket we closed first says nothing about the client.
      if (o.socketClosedBy === 'us')
        return notApplicable(
          `we closed the socket first (${o.socketCloseHow}), before any close from the client`,
        );
      return fail(`the client closed the socket (${o.socketCloseHow ?? 'closed'}) without a close frame`);
    },
  },
  {
    id: 'client.close-answer',
    section: '2.4.3',
    title: 'The client answers our close (with an error) with close',
    judge(o) {
      if (o.scenario !== 'close-error') return notApplicable('we did not close this connection');
      if (o.ourCloseAt === undefined) return notApplicable('the client went away before our close');
      if (!o.clientClose) {
        return fail(
          o.socketClosedBy === 'client'
            ? `the client closed the socket (${o.socketCloseHow}) without answering our close with close`
            : `the client did not answer our close with close; we closed the socket (${o.socketCloseHow ?? 'at the end'})`,
        );
      }
      return pass(`answered with close after ${Math.round(o.clientCloseAt! - o.ourCloseAt)} ms`);
    },
  },
];

/** One verdict from several connections: a failure anywhere fails; else a pass anywhere passes. */
function merge(
  c: ClientCase,
  observations: Observation[],
  options: ObserverOptions,
): { verdict: Verdict; trace: Observation | undefined } {
  const judged = observations.map((o) => ({ o, v: c.judge(o, options) }));
  const label = (o: Observation, v: Verdict): string =>
    observations.length > 1 ? `connection ${o.index} (${o.scenario}): ${v.reason}` : v.reason;
  for (const status of ['fail', 'pass'] as const) {
    const hits = judged.filter((j) => j.v.status === status);
    if (hits.length > 0) {
      return { verdict: { status, reason: hits.map((j) => label(j.o, j.v)).join('; ') }, trace: hits[0].o };
    }
  }
  if (judged.length === 0) return { verdict: notApplicable('no client connected'), trace: undefined };
  return {
    verdict: notApplicable(judged.map((j) => label(j.o, j.v)).join('; ')),
    trace: judged[0].o,
  };
}

export interface ClientSuiteOptions extends Partial<ObserverOptions> {
  host?: string;
  /** 0 picks a free port (default 5672). */
  port?: number;
  /** One per connection, in order (default: observe, observe, close-error). */
  scenarios?: ClientScenario[];
  /** Judge what arrived after this long even if connections are missing (ms, default 120000). */
  waitMs?: number;
  /** Run only these cases. */
  cases?: string[];
  onConnection?: (index: number, scenario: ClientScenario) => void;
  onResult?: (r: CaseResult) => void;
}

export const DEFAULT_OBSERVER_OPTIONS: ObserverOptions = {
  maxFrameSize: 512,
  idleTimeOutMs: 1000,
  incomingWindow: 1,
  holdMs: 2500,
  messages: 3,
  messageSize: 1500,
  connectionTimeoutMs: 30_000,
};

/** A listening conformance server: `start()`, let clients connect, then `results()`. */
export class ConformanceServer {
  readonly scenarios: ClientScenario[];
  readonly observer: ObserverOptions;
  private listener!: net.Server;
  private readonly connections: ObservedConnection[] = [];
  private readonly finished: Promise<Observation>[] = [];
  private allConnected!: () => void;
  private readonly connected = new Promise<void>((r) => (this.allConnected = r));
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();

  constructor(readonly options: ClientSuiteOptions = {}) {
    this.scenarios = options.scenarios ?? ['observe', 'observe', 'close-error'];
    this.observer = { ...DEFAULT_OBSERVER_OPTIONS };
    for (const k of Object.keys(DEFAULT_OBSERVER_OPTIONS) as (keyof ObserverOptions)[]) {
      if (options[k] !== undefined) this.observer[k] = options[k]!;
    }
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  async start(): Promise<this> {
    this.listener = net.createServer((socket) => this.onSocket(socket));
    await listenOn(this.listener, this.options.port ?? 5672, this.options.host ?? '127.0.0.1');
    return this;
  }

  private onSocket(socket: net.Socket): void {
    const index = this.connections.length + 1;
    const scenario = this.scenarios[index - 1];
    if (!scenario) return void socket.destroy(); // every scenario has had its connection
    socket.setNoDelay(true);
    const c = new ObservedConnection(socket, index, scenario, new TraceLog(), this.observer);
    this.connections.push(c);
    this.finished.push(c.done);
    this.options.onConnection?.(index, scenario);
    if (this.connections.length === this.scenarios.length) this.allConnected();
  }

  /** Waits for every scenario's connection to end (or `waitMs`), then judges them. */
  async results(): Promise<ConformanceResults> {
    const waitMs = this.options.waitMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, waitMs)));
    await Promise.race([this.connected.then(() => Promise.all(this.finished)), timeout]);
    clearTimeout(timer);
    for (const c of this.connections) c.abort();
    const observations = await Promise.all(this.finished);
    const selected = this.options.cases?.length
      ? CLIENT_CASES.filter((c) =>
          this.options.cases!.some((f) => c.id === f || c.id.startsWith(f.replace(/\*$/, ''))),
        )
      : CLIENT_CASES;
    const results: CaseResult[] = selected.map((c) => {
      const { verdict, trace } = merge(c, observations, this.observer);
      const log = trace?.log;
      const r: CaseResult = {
        id: c.id,
        section: c.section,
        title: c.title,
        status: verdict.status,
        reason: verdict.reason,
        durationMs: trace ? Math.round((trace.endedAt ?? performance.now()) - trace.startedAt) : 0,
        trace: log ? log.entries : [],
      };
      this.options.onResult?.(r);
      return r;
    });
    const open = observations.find((o) => o.open)?.open;
    return {
      tool: 'amqp-one conformance',
      version: VERSION,
      mode: 'client',
      target: `listening on ${this.options.host ?? '127.0.0.1'}:${this.port} (${observations.length} of ${this.scenarios.length} connection(s): ${this.scenarios.join(', ')})`,
      peer: open ? describePeer(open) : undefined,
      startedAt: this.startedAt.toISOString(),
      durationMs: Math.round(performance.now() - this.t0),
      summary: summarize(results),
      results,
    };
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.abort();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}

/** Listens, observes one client connection per scenario, and returns the results. */
export async function runClientSuite(options: ClientSuiteOptions = {}): Promise<ConformanceResults> {
  const server = await new ConformanceServer(options).start();
  try {
    return await server.results();
  } finally {
    await server.close();
  }
}
