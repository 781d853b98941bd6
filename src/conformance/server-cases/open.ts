/**
 * Server cases for opening a connection: open and its limits (2.7.1: max-frame-size, channel-max),
 * pipelined open (2.4.2) and idle time-outs in both directions (2.4.5).
 */
import { Condition } from '../../protocol/conditions.js';
import {
  bodyOf,
  dataMessage,
  describeError,
  patterned,
  type ScriptLink,
  type ScriptSession,
} from '../client-script.js';
import { isHeader, type RawPeer, type WireFrame } from '../raw-peer.js';
import type { ServerCase } from '../server-suite.js';
import { fail, IDLE_SLACK, notApplicable, pass } from '../types.js';
import { awaitError, expectCondition, receiver, sleep } from './helpers.js';

/** Frames larger than `limit` the server sent. */
function oversized(peer: RawPeer, limit: number): WireFrame[] {
  return peer.received.filter((i): i is WireFrame => i.kind === 'frame' && i.size > limit);
}

export const openBasic: ServerCase = {
  id: 'open.basic',
  section: '2.7.1',
  title: 'Open is answered with open: container-id, max-frame-size at least 512',
  async run(ctx) {
    const c = await ctx.connect();
    const o = c.remoteOpen!;
    if (o.maxFrameSize !== undefined && o.maxFrameSize < 512) {
      return fail(`max-frame-size ${o.maxFrameSize} is below MIN-MAX-FRAME-SIZE (512)`);
    }
    return pass(
      `container-id ${o.containerId ? o.containerId : '(empty)'}, max-frame-size ${o.maxFrameSize ?? 'unlimited'}, ` +
        `channel-max ${o.channelMax ?? 65535}, idle-time-out ${o.idleTimeOut ?? 'none'}`,
    );
  },
};

export const openPipelined: ServerCase = {
  id: 'open.pipelined',
  section: '2.4.2',
  title: 'Pipelined open: header, open, begin and attach sent at once are all answered',
  async run(ctx) {
    const c = ctx.script(await ctx.socket());
    if (ctx.sasl) await c.sasl();
    const address = ctx.address();
    let s!: ScriptSession;
    let l!: ScriptLink;
    c.peer.batch(() => {
      c.peer.header(0);
      c.peer.frame(0, c.openFrame());
      s = c.sendBegin(0);
      l = c.sendAttach(s, { role: 'sender', address });
    });
    const ok = await c.peer.waitFor(() => l.remoteAttach !== undefined, ctx.timeoutMs);
    if (!ok) {
      const got = [
        c.peer.received.some(isHeader) && 'header',
        c.remoteOpen && 'open',
        s.remoteBegin && 'begin',
      ]
        .filter(Boolean)
        .join(', ');
      return fail(`answered only ${got || 'nothing'}${c.errorSummary()}`);
    }
    return pass('header, open, begin and attach all answered');
  },
};

export const openMaxFrameSize: ServerCase = {
  id: 'open.max-frame-size',
  section: '2.7.1',
  title: 'Our max-frame-size 512 is honoured, even for a 3000-byte message',
  async run(ctx) {
    const { c, s } = await ctx.session({ maxFrameSize: 512 });
    const address = ctx.address();
    const body = patterned(3000);
    await c.fill(s, address, [dataMessage(body)]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`the message did not come back${c.errorSummary()}`);
    const big = oversized(c.peer, 512);
    if (big.length > 0) {
      return fail(
        `sent ${big.length} frame(s) over our max-frame-size 512: ` +
          big.map((f) => `${f.rec?.type ?? 'frame'} of ${f.size} bytes`).join(', '),
      );
    }
    const d = r.complete[0];
    const got = bodyOf(d);
    if (!Buffer.isBuffer(got) || !got.equals(body)) return fail('the message came back altered');
    return pass(`the message came back intact in ${d.frames} frames, none over 512 bytes`);
  },
};

export const openChannelMax: ServerCase = {
  id: 'open.channel-max',
  section: '2.7.1',
  title: 'Our channel-max 1 is honoured: the server uses channels 0 and 1 only',
  async run(ctx) {
    const c = await ctx.connect({ channelMax: 1 });
    c.keepAlive();
    await c.begin(0);
    const cm = c.remoteOpen!.channelMax ?? 65535;
    if (cm < 1) {
      const bad = c.peer.frames().filter((f) => f.channel > 0);
      return bad.length
        ? fail(`used channel ${bad[0].channel} over our channel-max`)
        : pass('one channel only (server channel-max 0)');
    }
    await c.begin(1);
    const bad = c.peer.frames().filter((f) => f.channel > 1);
    if (bad.length > 0)
      return fail(`sent ${bad[0].rec.type} on channel ${bad[0].channel}, over our channel-max 1`);
    return pass('both sessions were answered on channels 0 and 1');
  },
};

export const openChannelMaxExceeded: ServerCase = {
  id: 'open.channel-max-exceeded',
  section: '2.7.1',
  title: "A begin above the server's channel-max closes the connection with framing-error",
  async run(ctx) {
    const c = await ctx.connect();
    const cm = c.remoteOpen!.channelMax ?? 65535;
    if (cm >= 65535) return notApplicable('the server accepts every channel number (channel-max 65535)');
    c.sendBegin(cm + 1);
    return expectCondition(
      await awaitError(c),
      Condition.FramingError,
      ['close'],
      '2.7.1: a channel number outside the supported range MUST close the connection with framing-error',
    );
  },
};

export const openIdleTimeout: ServerCase = {
  id: 'open.idle-time-out',
  section: '2.4.5',
  title: 'Our idle-time-out 1000 ms is honoured: the server sends a frame at least every second',
  async run(ctx) {
    const announced = 1000;
    const c = await ctx.connect({ idleTimeOut: announced });
    c.keepAlive();
    const from = performance.now();
    const watch = Math.min(ctx.maxWaitMs, 3000);
    await sleep(watch);
    const close = c.peer.frames('close')[0];
    if (close) {
      return close.rec.error
        ? notApplicable(
            `the server declined idle-time-out ${announced} ms: close with ${describeError(close.rec.error)}`,
          )
        : fail('the server closed the connection without an error');
    }
    if (c.peer.isClosed) return fail('the server closed the socket');
    const times = c.peer.received.filter((i) => i.kind === 'frame' && i.at >= from).map((i) => i.at);
    let gap = 0;
    let prev = from;
    for (const t of [...times, from + watch]) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    const frames = times.length;
    if (gap > announced * IDLE_SLACK) {
      return fail(
        `${frames} frame(s) in ${watch} ms; a gap of ${Math.round(gap)} ms exceeds our idle-time-out ${announced} ms`,
      );
    }
    return pass(`${frames} frame(s) in ${watch} ms, longest gap ${Math.round(gap)} ms`);
  },
};

export const openServerIdleTimeout: ServerCase = {
  id: 'open.server-idle-time-out',
  section: '2.4.5',
  title: "The server's idle-time-out: heartbeats keep the connection; silence ends it, not before 1.5x",
  async run(ctx) {
    const c = await ctx.connect();
    const t = c.remoteOpen!.idleTimeOut ?? 0;
    if (t <= 0) return notApplicable('the server announced no idle-time-out');
    if (4 * t + 1000 > ctx.maxWaitMs) {
      return notApplicable(
        `the server's idle-time-out ${t} ms is too long to wait out (limit ${ctx.maxWaitMs} ms)`,
      );
    }
    c.startHeartbeats(Math.max(20, Math.floor(t / 2)));
    await sleep(2 * t);
    c.stopHeartbeats();
    if (c.peer.isClosed || c.peer.frames('close').length > 0) {
      return fail(`closed the connection although we sent an empty frame every ${Math.floor(t / 2)} ms`);
    }
    const silentFrom = c.peer.lastSentAt;
    ctx.note(`silent from now on (idle-time-out ${t} ms)`);
    const ended = await c.peer.waitFor(
      () => c.peer.isClosed || c.peer.frames('close').length > 0,
      2 * t + 1000,
    );
    const closeFrame = c.peer.frames('close')[0];
    const after = Math.round((closeFrame?.at ?? performance.now()) - silentFrom);
    if (!ended) return fail(`still open after ${after} ms of silence (announced idle-time-out ${t} ms)`);
    if (after < t * 0.95)
      return fail(`closed after only ${after} ms of silence, before its idle-time-out ${t} ms`);
    if (after < t * 1.5) {
      return fail(
        `closed after ${after} ms of silence: the announced idle-time-out ${t} ms is its actual threshold, ` +
          'so a peer that sends a frame every idle-time-out is cut off (2.4.5: the announced value SHOULD be half the actual threshold)',
      );
    }
    return pass(
      closeFrame
        ? `close with ${closeFrame.rec.error ? describeError(closeFrame.rec.error) : 'no error'} after ${after} ms of silence`
        : `closed the socket (no close frame) after ${after} ms of silence`,
    );
  },
};
