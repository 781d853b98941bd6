// Shared by the end-to-end throughput benchmark's processes (bench/throughput.js and its children
// bench/throughput-receiver.js, bench/throughput-sender.js): the telemetry message, built once for
// amqp-one and once for rhea with identical content, and the small measuring helpers.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import net from 'node:net';
import { performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export { rhea } from './fixtures.js';

export const ADDRESS = 'bench/telemetry';
// The telemetry message is the one the codec benchmark uses (bench/fixtures.js): one definition.
export {
  amqpOneMessage as amqpOneTelemetry,
  rheaMessage as rheaTelemetry,
  jsonBody as telemetryBody,
} from './fixtures.js';

/** amqp-one's public API: ../dist by default, or another build (BENCH_DIST=<dir>) to compare two. */
export function importAmqpOne() {
  const dir = process.env.BENCH_DIST;
  return import(dir ? pathToFileURL(join(resolve(dir), 'index.js')).href : '../dist/index.js');
}

/** Milliseconds on a clock shared by the processes of one machine. */
export function now() {
  return performance.timeOrigin + performance.now();
}

/** Socket writes and reads of this process (counted only with BENCH_IO_STATS=1: it costs a little). */
export const io = { writes: 0, writeBytes: 0, reads: 0, readBytes: 0 };
if (process.env.BENCH_IO_STATS === '1') {
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (chunk, ...rest) {
    io.writes++;
    io.writeBytes += chunk.length;
    return write.call(this, chunk, ...rest);
  };
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (event, arg, ...rest) {
    if (event === 'data') {
      io.reads++;
      io.readBytes += arg.length;
    }
    return emit.call(this, event, arg, ...rest);
  };
}

/** GC pauses of this process by kind (recorded only with BENCH_GC_STATS=1). */
export const gc = { minor: { n: 0, ms: 0 }, major: { n: 0, ms: 0 }, other: { n: 0, ms: 0 } };
if (process.env.BENCH_GC_STATS === '1') {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = e.detail?.kind ?? e.kind;
      const slot =
        k === perfConstants.NODE_PERFORMANCE_GC_MINOR
          ? gc.minor
          : k === perfConstants.NODE_PERFORMANCE_GC_MAJOR
            ? gc.major
            : gc.other;
      slot.n++;
      slot.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
}
const gcSnapshot = () => JSON.parse(JSON.stringify(gc));

/**
 * BENCH_ALLOC_PROFILE=<dir>: a sampling heap profile of everything allocated over the measured
 * interval, collected objects included (unlike --heap-prof, which keeps only live ones), written
 * as <dir>/<impl>-<mode>-<role>.heapprofile (Chrome DevTools can open it).
 */
class AllocProfile {
  constructor(file) {
    this.file = file;
    this.session = new Session();
    this.session.connect();
  }
  post(method, params) {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }
  start() {
    void this.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  async stop() {
    const { profile } = await this.post('HeapProfiler.stopSampling');
    writeFileSync(this.file, JSON.stringify(profile));
  }
}

/**
 * Records the instants the benchmark cares about in one process: when `warmup` items were done
 * (the measured interval starts), when `warmup + count` were (it ends), and an RSS sample every
 * `rssEvery` items. Call `tick(n)` with the running count; `onDone` gets the report.
 */
export class Marks {
  constructor({ warmup, count, rssEvery }, onDone) {
    this.warmup = warmup;
    this.total = warmup + count;
    this.rssEvery = rssEvery > 0 ? rssEvery : 0;
    this.nextRss = this.rssEvery || Infinity;
    this.onDone = onDone;
    const dir = process.env.BENCH_ALLOC_PROFILE;
    this.alloc = dir ? new AllocProfile(join(dir, `${marksLabel}.heapprofile`)) : undefined;
    this.t0 = undefined;
    this.cpu0 = undefined;
    this.rss = [];
    if (warmup === 0) this.start();
  }

  start() {
    this.alloc?.start();
    this.t0 = now();
    this.cpu0 = process.cpuUsage();
    this.rssStart = process.memoryUsage.rss();
    this.io0 = { ...io };
    this.gc0 = gcSnapshot();
  }

  tick(n) {
    if (n === this.warmup && this.t0 === undefined) this.start();
    if (n >= this.nextRss) {
      this.nextRss += this.rssEvery;
      const m = process.memoryUsage();
      this.rss.push({
        at: n,
        rss: m.rss,
        heapTotal: m.heapTotal,
        heapUsed: m.heapUsed,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      });
    }
    if (n === this.total) {
      const t1 = now();
      const cpu = process.cpuUsage(this.cpu0);
      const ms = t1 - this.t0;
      const report = {
        t0: this.t0,
        t1,
        ms,
        rate: ((this.total - this.warmup) * 1000) / ms,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        cpuPercent: (cpu.user + cpu.system) / 10 / ms,
        rssStart: this.rssStart,
        rssEnd: process.memoryUsage.rss(),
        rss: this.rss,
        gc: Object.fromEntries(
          Object.entries(gc).map(([k, v]) => [
            k,
            { n: v.n - this.gc0[k].n, ms: Math.round(v.ms - this.gc0[k].ms) },
          ]),
        ),
        io: {
          writes: io.writes - this.io0.writes,
          writeBytes: io.writeBytes - this.io0.writeBytes,
          reads: io.reads - this.io0.reads,
          readBytes: io.readBytes - this.io0.readBytes,
        },
      };
      if (this.alloc) void this.alloc.stop().then(() => this.onDone(report));
      else this.onDone(report);
    }
  }
}

let marksLabel = 'process';

/** The JSON config a child was forked with. */
export function childConfig(role) {
  const raw = process.env.THROUGHPUT_CONFIG;
  if (!raw) throw new Error('this script is started by bench/throughput.js');
  const cfg = JSON.parse(raw);
  marksLabel = `${cfg.impl}-${cfg.mode}-${role}`;
  return cfg;
}

/** Waits for the parent to say `type`. */
export function parentSays(type) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m && m.type === type) {
        process.off('message', on);
        resolve(m);
      }
    };
    process.on('message', on);
  });
}
