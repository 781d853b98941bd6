/**
 * The cases that test a server (a broker). Each names the AMQP 1.0 section whose rule it checks;
 * sections are those of the OASIS standard (part 2 transport, 3 messaging, 5 security).
 */
import { ByteWriter } from '../codec/byte-writer.js';
import { encodeComposite } from '../codec/composite.js';
import type { AmqpErrorRecord, Close, End, Transfer } from '../codec/records.js';
import {
  bodyOf,
  dataMessage,
  describeError,
  describeState,
  headerOf,
  patterned,
  textMessage,
  type ClientScript,
  type ScriptLink,
  type ScriptSession,
} from './client-script.js';
import { isFrame, isHeader, type RawPeer, type WireFrame } from './raw-peer.js';
import type { ServerCase, ServerCaseContext } from './server-suite.js';
import { fail, IDLE_SLACK, notApplicable, pass, type Verdict } from './types.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a case watches for frames that must NOT come (more transfers than credit, say). */
const QUIET_MS = 400;

/** The end or close the server answered a violation with, or undefined after the timeout. */
async function awaitError(
  c: ClientScript,
  s?: ScriptSession,
): Promise<{ kind: string; error?: AmqpErrorRecord } | undefined> {
  const got = await c.peer.take(
    (i) =>
      i.kind === 'frame' &&
      (i.rec?.type === 'close' ||
        (i.rec?.type === 'end' && (s === undefined || i.channel === s.remoteChannel))),
    c.timeoutMs,
  );
  if (got && got.kind === 'frame') {
    const rec = got.rec as End | Close;
    return { kind: rec.type, error: rec.error };
  }
  return c.peer.isClosed ? { kind: 'socket closed' } : undefined;
}

/** A verdict for "the server must answer with `condition` (on an end or a close)". */
function expectCondition(
  got: { kind: string; error?: AmqpErrorRecord } | undefined,
  condition: string,
  kinds: string[],
  rule: string,
): Verdict {
  if (!got) return fail(`no end or close within the time-out: ${rule}`);
  if (got.kind === 'socket closed') return fail(`closed the socket without a close frame: ${rule}`);
  const cond = got.error?.condition;
  if (cond === condition && kinds.includes(got.kind))
    return pass(`${got.kind} with ${describeError(got.error!)}`);
  return fail(`${got.kind} with ${got.error ? describeError(got.error) : 'no error'}: ${rule}`);
}

/** Frames larger than `limit` the server sent. */
function oversized(peer: RawPeer, limit: number): WireFrame[] {
  return peer.received.filter((i): i is WireFrame => i.kind === 'frame' && i.size > limit);
}

/** Opens a receiver on `address` in session `s` (refusal fails the case). */
function receiver(
  c: ClientScript,
  s: ScriptSession,
  address: string,
  extra: { sndSettleMode?: number } = {},
): Promise<ScriptLink> {
  return c.attachOrFail(s, { role: 'receiver', address, ...extra });
}

const texts = (n: number, prefix: string): Buffer[] =>
  Array.from({ length: n }, (_, i) => textMessage(`${prefix}-${i}`));

// -------------------------------------------------------------------------------------------------
// 2.2 and 5.3: protocol headers and SASL

const headerAmqp: ServerCase = {
  id: 'header.amqp',
  section: '2.2',
  title: 'The AMQP header is answered with a protocol header (AMQP, or SASL and close)',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(0);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (!h) return fail(peer.isClosed ? 'closed the socket without a protocol header' : 'no protocol header');
    if (h.protocolId === 0) {
      const o = await ctx.script(peer).open();
      return pass(`answered with the AMQP header, then open (container-id ${o.containerId})`);
    }
    if (h.protocolId === 3) {
      const closed = await peer.waitClosed(ctx.timeoutMs);
      return closed
        ? pass('answered with the SASL header and closed the socket: SASL is required')
        : fail(
            'answered with the SASL header but did not close the socket: 2.2 requires a close after answering a header other than the one asked for',
          );
    }
    return fail(`answered with an invalid header ${h.bytes.toString('hex')}`);
  },
};

const headerSasl: ServerCase = {
  id: 'header.sasl',
  section: '5.3.2',
  title: 'The SASL header is answered with the SASL header and sasl-mechanisms',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(3);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (!h) return fail(peer.isClosed ? 'closed the socket without a protocol header' : 'no protocol header');
    if (h.protocolId === 0)
      return notApplicable('the server does not speak SASL (answered with the AMQP header)');
    if (h.protocolId !== 3) return fail(`answered with ${h.bytes.toString('hex')}`);
    const m = await peer.take(isFrame('sasl-mechanisms'), ctx.timeoutMs);
    if (!m) return fail('no sasl-mechanisms frame after the SASL header');
    const mechs = m.rec.saslServerMechanisms.map(String);
    if (mechs.length === 0) return fail('sasl-mechanisms offers no mechanism (5.3.3.1: one or more)');
    return pass(`offers ${mechs.join(', ')}`);
  },
};

const saslOutcome: ServerCase = {
  id: 'sasl.outcome',
  section: '5.3.2',
  title: 'A SASL exchange ends with sasl-outcome ok, then the AMQP header',
  async run(ctx) {
    if (!ctx.sasl) return notApplicable('the server does not speak SASL');
    const c = ctx.script(await ctx.socket());
    await c.sasl();
    await c.amqpHeader();
    const o = await c.open();
    return pass(`${c.mechanism} accepted; AMQP header and open followed (container-id ${o.containerId})`);
  },
};

const saslBadPassword: ServerCase = {
  id: 'sasl.bad-password',
  section: '5.3.3.5',
  title: 'PLAIN with a wrong password gets sasl-outcome auth (1)',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(3);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (h?.protocolId !== 3) return notApplicable('the server does not speak SASL');
    const m = await peer.take(isFrame('sasl-mechanisms'), ctx.timeoutMs);
    if (!m) return fail('no sasl-mechanisms frame');
    if (!m.rec.saslServerMechanisms.map(String).includes('PLAIN')) {
      return notApplicable('the server does not offer PLAIN');
    }
    const user = ctx.username ?? 'guest';
    peer.frame(0, {
      type: 'sasl-init',
      mechanism: 'PLAIN',
      initialResponse: Buffer.from(`\0${user}\0amqp-one-conformance-wrong-password`),
    });
    // Some servers delay a failure on purpose (RabbitMQ: a few seconds).
    const o = await peer.take(isFrame('sasl-outcome'), Math.max(ctx.timeoutMs, ctx.maxWaitMs));
    if (!o)
      return fail(
        peer.isClosed ? 'closed the socket without a sasl-outcome' : 'no sasl-outcome for a wrong password',
      );
    if (o.rec.code === 0)
      return notApplicable('the server accepts any password (outcome ok): nothing to check');
    if (o.rec.code === 1) return pass('sasl-outcome code 1 (auth)');
    return fail(
      `sasl-outcome code ${o.rec.code}, not 1 (auth: "authentication failed due to ... the supplied credentials")`,
    );
  },
};

const saslUnknownMechanism: ServerCase = {
  id: 'sasl.unknown-mechanism',
  section: '5.3.3.5',
  title: 'sasl-init with a mechanism never offered gets a failing sasl-outcome',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(3);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (h?.protocolId !== 3) return notApplicable('the server does not speak SASL');
    if (!(await peer.take(isFrame('sasl-mechanisms'), ctx.timeoutMs)))
      return fail('no sasl-mechanisms frame');
    peer.frame(0, {
      type: 'sasl-init',
      mechanism: 'X-AMQP-ONE-NO-SUCH-MECHANISM',
      initialResponse: Buffer.from('x'),
    });
    const o = await peer.take(isFrame('sasl-outcome'), Math.max(ctx.timeoutMs, ctx.maxWaitMs));
    if (!o) return fail(peer.isClosed ? 'closed the socket without a sasl-outcome' : 'no sasl-outcome');
    if (o.rec.code === 0) return fail('sasl-outcome ok for a mechanism it never offered');
    return pass(`sasl-outcome code ${o.rec.code}`);
  },
};

function badHeaderCase(id: string, title: string, bytes: number[]): ServerCase {
  return {
    id,
    section: '2.2',
    title,
    async run(ctx) {
      const peer = await ctx.socket();
      peer.header(Buffer.from(bytes));
      const h = await peer.take(isHeader, ctx.timeoutMs);
      const rule =
        '2.2: the server MUST send a protocol header with a supported version, then close the socket';
      if (!h) {
        return fail(
          peer.isClosed
            ? `closed the socket without sending a protocol header (${rule})`
            : `no answer (${rule})`,
        );
      }
      // Any version the server supports will do, 1.0.0 or another protocol's (AMQP 0-9-1, say).
      if (h.bytes.length !== 8 || h.bytes.subarray(0, 4).toString('latin1') !== 'AMQP') {
        return fail(`answered with ${h.bytes.toString('hex')}, which is not a protocol header (${rule})`);
      }
      const version = describeVersion(h.bytes);
      const closed = await peer.waitClosed(ctx.timeoutMs);
      if (!closed) return fail(`answered with ${version} but did not close the socket (${rule})`);
      return pass(`answered with ${version} and closed the socket`);
    },
  };
}

/** "AMQP 1.0.0 (id 3)" or "AMQP 0-9-1" for an 8-byte header. */
function describeVersion(b: Buffer): string {
  if (b[4] === 0 && b[5] === 0 && b[6] === 9 && b[7] === 1) return 'the AMQP 0-9-1 header (414d515000000901)';
  return `the header ${b.toString('hex')} (protocol id ${b[4]}, version ${b[5]}.${b[6]}.${b[7]})`;
}

const headerBadVersion = badHeaderCase(
  'header.bad-version',
  'An unsupported version (AMQP 0 1.1.0) is answered with a supported header, then close',
  [0x41, 0x4d, 0x51, 0x50, 0, 1, 1, 0],
);

const headerBadProtocol = badHeaderCase(
  'header.bad-protocol-id',
  'An unknown protocol id (AMQP 9 1.0.0) is answered with a supported header, then close',
  [0x41, 0x4d, 0x51, 0x50, 9, 1, 0, 0],
);

// -------------------------------------------------------------------------------------------------
// 2.4, 2.7.1: open

const openBasic: ServerCase = {
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

const openPipelined: ServerCase = {
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

const openMaxFrameSize: ServerCase = {
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

const openChannelMax: ServerCase = {
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

const openChannelMaxExceeded: ServerCase = {
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
      'amqp:connection:framing-error',
      ['close'],
      '2.7.1: a channel number outside the supported range MUST close the connection with framing-error',
    );
  },
};

const openIdleTimeout: ServerCase = {
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

const openServerIdleTimeout: ServerCase = {
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

// -------------------------------------------------------------------------------------------------
// 2.5: sessions

const sessionBeginEnd: ServerCase = {
  id: 'session.begin-end',
  section: '2.5.1',
  title: 'Begin is answered with begin (remote-channel set); end with end',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const b = s.remoteBegin!;
    const e = await c.end(s);
    if (!e) return fail(`no end in answer to ours${c.errorSummary()}`);
    if (e.error) return fail(`answered our end with an error: ${describeError(e.error)}`);
    return pass(
      `begin on channel ${s.remoteChannel} (incoming-window ${b.incomingWindow}, outgoing-window ${b.outgoingWindow}), end answered`,
    );
  },
};

const sessionIncomingWindow: ServerCase = {
  id: 'session.incoming-window',
  section: '2.5.6',
  title: 'Our session incoming-window 2 is never exceeded; widening it lets transfers resume',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const n = 5;
    const window = 2;
    await c.fill(s, address, texts(n, 'w'));
    const s1 = await c.begin(1, { incomingWindow: window });
    const r = await receiver(c, s1, address);
    let limit = window;
    let overrun = 0;
    c.peer.onItem(() => {
      if (s1.transfersIn > limit) overrun = Math.max(overrun, s1.transfersIn - limit);
    });
    c.flow(r, { credit: n });
    for (let round = 0; round < n + 2 && r.complete.length < n; round++) {
      const before = s1.transfersIn;
      await c.peer.waitFor(() => s1.transfersIn >= limit || r.complete.length >= n, ctx.timeoutMs);
      await sleep(QUIET_MS / 2);
      if (overrun > 0) break;
      if (s1.transfersIn === before && round > 0) break;
      limit = s1.transfersIn + window;
      c.sessionFlow(s1, { incomingWindow: window });
    }
    if (overrun > 0) return fail(`sent ${overrun} transfer frame(s) beyond our incoming-window ${window}`);
    if (r.complete.length < n) {
      return fail(
        `${r.complete.length} of ${n} messages arrived as we re-opened the window${c.errorSummary()}`,
      );
    }
    return pass(`${n} messages in ${s1.transfersIn} transfer frames, never beyond the window`);
  },
};

const sessionEndError: ServerCase = {
  id: 'session.end-error',
  section: '2.5.2',
  title: 'An end with an error is answered with end',
  async run(ctx) {
    const { c } = await ctx.session();
    const s1 = await c.begin(1);
    const e = await c.end(s1, {
      type: 'error',
      condition: 'amqp:internal-error',
      description: 'amqp-one conformance',
    });
    if (!e) return fail(`no end in answer to our end with an error${c.errorSummary()}`);
    // What follows is the server's choice (the spec does not say): reported, not judged.
    await sleep(50);
    if (c.remoteClose || c.peer.isClosed)
      return pass(`end answered, then the server closed the connection${c.errorSummary()}`);
    await c.begin(2);
    return pass('end answered; a new session began afterwards');
  },
};

// -------------------------------------------------------------------------------------------------
// 2.6: links, credit, drain

const linkAttachSender: ServerCase = {
  id: 'link.attach-sender',
  section: '2.6.3',
  title: 'Attaching a sender is answered with a receiver attach and credit',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    const a = l.remoteAttach!;
    if (a.role !== true) return fail('the answering attach has role sender; it must be receiver');
    const credited = await c.peer.waitFor(() => l.credit > 0, ctx.timeoutMs);
    return pass(
      `answered as receiver (handle ${a.handle})${credited ? `, credit ${l.credit}` : ', no credit yet'}`,
    );
  },
};

const linkAttachReceiver: ServerCase = {
  id: 'link.attach-receiver',
  section: '2.7.3',
  title: 'Attaching a receiver is answered with a sender attach with initial-delivery-count',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await receiver(c, s, ctx.address());
    const a = l.remoteAttach!;
    if (a.role !== false) return fail('the answering attach has role receiver; it must be sender');
    if (a.initialDeliveryCount === undefined) {
      return fail('the sender attach has no initial-delivery-count (2.7.3: MUST be set when role is sender)');
    }
    return pass(`answered as sender, initial-delivery-count ${a.initialDeliveryCount}`);
  },
};

const linkCredit: ServerCase = {
  id: 'link.credit',
  section: '2.6.7',
  title: 'Credit 2 with 5 messages queued gets exactly 2; 1 more credit gets exactly 1',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, texts(5, 'c'));
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 2 });
    if (!(await c.receive(r, 2)))
      return fail(`${r.complete.length} of 2 messages arrived${c.errorSummary()}`);
    await sleep(QUIET_MS);
    if (r.deliveries.length > 2) return fail(`sent ${r.deliveries.length} messages with credit 2`);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 3))) return fail(`no message after 1 more credit${c.errorSummary()}`);
    await sleep(QUIET_MS);
    if (r.deliveries.length > 3) return fail(`sent ${r.deliveries.length} messages with credit 2 then 1`);
    return pass('2 messages for credit 2, then 1 for credit 1 (delivery-count honoured)');
  },
};

/** The server's answer to a drain: its flow with credit 0 and the delivery-count advanced. */
async function checkDrain(ctx: ServerCaseContext, queued: number): Promise<Verdict> {
  const { c, s } = await ctx.session();
  const address = ctx.address();
  if (queued > 0) await c.fill(s, address, texts(queued, 'd'));
  const r = await receiver(c, s, address);
  const credit = 5;
  const initial = r.deliveryCount;
  const flowsBefore = r.flows.length;
  c.flow(r, { credit, drain: true });
  const drained = (): boolean => r.flows.slice(flowsBefore).some((f) => (f.linkCredit ?? 0) === 0);
  if (!(await c.peer.waitFor(drained, ctx.timeoutMs))) {
    return fail(
      `no flow with link-credit 0 after drain with ${queued} message(s) queued (2.6.7: a draining sender uses up its credit and sends its flow state)` +
        c.errorSummary(),
    );
  }
  const f = r.flows.slice(flowsBefore).find((x) => (x.linkCredit ?? 0) === 0)!;
  const want = (initial + credit) | 0;
  if (r.deliveries.length !== queued)
    return fail(`drain brought ${r.deliveries.length} message(s), ${queued} were queued`);
  if (f.deliveryCount !== want) {
    return fail(
      `drained flow has delivery-count ${f.deliveryCount}, expected ${want} (initial ${initial} + credit ${credit})`,
    );
  }
  return pass(
    `${queued} message(s), then flow link-credit 0, delivery-count ${f.deliveryCount} (${initial} + ${credit})`,
  );
}

const linkDrainEmpty: ServerCase = {
  id: 'link.drain-empty',
  section: '2.6.7',
  title: 'Drain on an empty queue: flow with credit 0 and delivery-count advanced by the credit',
  run: (ctx) => checkDrain(ctx, 0),
};

const linkDrainPartial: ServerCase = {
  id: 'link.drain-partial',
  section: '2.6.7',
  title: 'Drain with 2 of 5 credits queued: 2 messages, then flow with credit 0',
  run: (ctx) => checkDrain(ctx, 2),
};

const linkFlowEcho: ServerCase = {
  id: 'link.flow-echo',
  section: '2.7.4',
  title: "A flow with echo=true is answered with the server's flow for the link",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const r = await receiver(c, s, ctx.address());
    const before = r.flows.length;
    c.flow(r, { credit: 0, echo: true });
    if (!(await c.peer.waitFor(() => r.flows.length > before, ctx.timeoutMs))) {
      return fail('no flow in answer to echo=true (2.7.4: the receiver of echo SHOULD send its state)');
    }
    return pass(
      `flow answered: delivery-count ${r.flows[before].deliveryCount}, link-credit ${r.flows[before].linkCredit ?? 0}`,
    );
  },
};

const linkDetachClosed: ServerCase = {
  id: 'link.detach-closed',
  section: '2.6.6',
  title: 'A closing detach is answered with a closing detach',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    const d = await c.detach(l, { closed: true });
    if (!d) return fail(`no detach in answer to ours${c.errorSummary()}`);
    if (d.closed !== true)
      return fail('answered with detach closed=false (2.6.6: the partner replies with closed set to true)');
    return pass('detach closed=true answered with detach closed=true');
  },
};

const linkDetachError: ServerCase = {
  id: 'link.detach-error',
  section: '2.6.5',
  title: 'A detach with an error is answered with detach',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await receiver(c, s, ctx.address());
    const d = await c.detach(l, {
      closed: true,
      error: { type: 'error', condition: 'amqp:internal-error', description: 'amqp-one conformance' },
    });
    if (!d) return fail(`no detach in answer to a detach with an error${c.errorSummary()}`);
    // What follows is the server's choice (the spec does not say): reported, not judged.
    await sleep(50);
    if (s.remoteEnd || c.remoteClose || c.peer.isClosed) {
      return pass(`detach answered, then the server ended the session or connection${c.errorSummary()}`);
    }
    await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    return pass('detach answered; a new link attached afterwards');
  },
};

// -------------------------------------------------------------------------------------------------
// 2.6.12-2.6.14: transfers

const transferMultiFrame: ServerCase = {
  id: 'transfer.multi-frame',
  section: '2.6.14',
  title: 'A message sent in several frames (more=true) is stored and comes back intact',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const body = patterned(3000, 3);
    const l = await c.attachOrFail(s, { role: 'sender', address });
    const before = c.peer.framesSent;
    await c.sendAll(l, [dataMessage(body)], { frameSize: 512 });
    const frames = c.peer.framesSent - before;
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`the message did not come back${c.errorSummary()}`);
    const got = bodyOf(r.complete[0]);
    if (!Buffer.isBuffer(got) || !got.equals(body)) return fail('the message came back altered');
    return pass(`sent in ${frames} frames, accepted, received back intact`);
  },
};

const transferAborted: ServerCase = {
  id: 'transfer.aborted',
  section: '2.6.14',
  title: 'An aborted transfer (half a message, then aborted=true) enqueues nothing',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const l = await c.attachOrFail(s, { role: 'sender', address });
    await c.waitCredit(l, 2);
    const half = dataMessage(patterned(3000, 5)).subarray(0, 1000);
    c.transferFrame(
      l,
      { deliveryId: s.nextDeliveryId, deliveryTag: Buffer.from('aborted'), messageFormat: 0, more: true },
      half.subarray(0, 500),
    );
    c.transferFrame(l, { more: true }, half.subarray(500));
    c.transferFrame(l, { aborted: true });
    await c.sendAll(l, [textMessage('after-abort')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 2 });
    if (!(await c.receive(r, 1))) return fail(`no message came back${c.errorSummary()}`);
    await sleep(QUIET_MS);
    const bodies = r.complete.map(bodyOf);
    if (bodies.length !== 1 || bodies[0] !== 'after-abort') {
      return fail(
        `the queue held ${bodies.length} message(s): ${bodies.map((b) => (typeof b === 'string' ? b : 'aborted data')).join(', ')}`,
      );
    }
    return pass('only the message after the aborted one was stored');
  },
};

const transferInterleaved: ServerCase = {
  id: 'transfer.interleaved',
  section: '2.6.14',
  title: 'Multi-frame messages on two links, their frames interleaved, are both stored intact',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const a = ctx.address('a');
    const b = ctx.address('b');
    const la = await c.attachOrFail(s, { role: 'sender', address: a });
    const lb = await c.attachOrFail(s, { role: 'sender', address: b });
    await c.waitCredit(la);
    await c.waitCredit(lb);
    const ma = dataMessage(patterned(900, 1));
    const mb = dataMessage(patterned(900, 2));
    const ida = s.nextDeliveryId;
    const idb = ida + 1;
    const first = (id: number) => ({
      deliveryId: id,
      deliveryTag: Buffer.from(`i${id}`),
      messageFormat: 0,
      more: true,
    });
    c.peer.batch(() => {
      c.transferFrame(la, first(ida), ma.subarray(0, 450));
      c.transferFrame(lb, first(idb), mb.subarray(0, 450));
      c.transferFrame(la, { more: false }, ma.subarray(450));
      c.transferFrame(lb, { more: false }, mb.subarray(450));
    });
    const settled = await c.peer.waitFor(
      () => !!s.dispositionFor(ida) && !!s.dispositionFor(idb),
      ctx.timeoutMs,
    );
    if (!settled) return fail(`the interleaved messages were not both settled${c.errorSummary()}`);
    for (const [address, body] of [
      [a, patterned(900, 1)],
      [b, patterned(900, 2)],
    ] as const) {
      const r = await receiver(c, s, address);
      c.flow(r, { credit: 1 });
      if (!(await c.receive(r, 1)))
        return fail(`the message sent to ${address} did not come back${c.errorSummary()}`);
      const got = bodyOf(r.complete[0]);
      if (!Buffer.isBuffer(got) || !got.equals(body))
        return fail(`the message sent to ${address} came back altered`);
    }
    return pass('both messages stored and received back intact');
  },
};

// -------------------------------------------------------------------------------------------------
// 2.8.2, 2.8.3, 3.4, 2.7.6: settlement

const settlePresettledSend: ServerCase = {
  id: 'settle.presettled-send',
  section: '2.8.2',
  title: 'A presettled message (snd-settle-mode settled) is stored',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const l = await c.attachOrFail(s, { role: 'sender', address, sndSettleMode: 1 });
    await c.sendAll(l, [textMessage('presettled')], { settled: true });
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`the presettled message was not stored${c.errorSummary()}`);
    if (bodyOf(r.complete[0]) !== 'presettled') return fail('another message came back');
    return pass('the presettled message was stored and received back');
  },
};

const settlePresettledReceive: ServerCase = {
  id: 'settle.presettled-receive',
  section: '2.8.2',
  title: 'A receiver asking for snd-settle-mode settled gets settled transfers',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-presettle')]);
    const r = await receiver(c, s, address, { sndSettleMode: 1 });
    const mode = r.remoteAttach!.sndSettleMode ?? 2;
    if (mode !== 1) {
      return notApplicable(
        `the server's sender chose snd-settle-mode ${mode} (2.7.3: it SHOULD, not MUST, follow ours)`,
      );
    }
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    if (!r.complete[0].settled)
      return fail('the transfer is not settled although the sender chose snd-settle-mode settled');
    return pass('snd-settle-mode settled granted; the transfer came settled');
  },
};

const settleUnsettledSend: ServerCase = {
  id: 'settle.unsettled-send',
  section: '2.8.3',
  title: 'An unsettled message is accepted and settled by the receiver (rcv-settle-mode first)',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    const id = c.send(l, textMessage('unsettled'));
    if (!(await c.peer.waitFor(() => s.dispositionFor(id) !== undefined, ctx.timeoutMs))) {
      return fail(`no disposition for our unsettled message${c.errorSummary()}`);
    }
    const d = s.dispositionFor(id)!;
    if (d.state?.type !== 'accepted') return fail(`the outcome is ${describeState(d.state)}`);
    if (!d.settled) {
      return fail(
        'the disposition is not settled; with rcv-settle-mode first the receiver settles at once (2.8.3)',
      );
    }
    return pass('accepted and settled in one disposition');
  },
};

const settleUnsettledReceive: ServerCase = {
  id: 'settle.unsettled-receive',
  section: '2.6.12',
  title: 'An unsettled delivery we accept is gone from the queue',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-accept')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to accept');
    c.dispose(s, d.id, d.id, { type: 'accepted' });
    await c.detach(r);
    const r2 = await receiver(c, s, address);
    c.flow(r2, { credit: 1 });
    await sleep(QUIET_MS);
    if (r2.deliveries.length > 0) return fail('the accepted message was delivered again');
    return pass('accepted and settled; not delivered again');
  },
};

const settleReleased: ServerCase = {
  id: 'settle.released',
  section: '3.4.4',
  title: 'A released delivery is made available again and redelivered',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-release')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to release');
    c.dispose(s, d.id, d.id, { type: 'released' });
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 2))) return fail(`the released message was not redelivered${c.errorSummary()}`);
    if (bodyOf(r.complete[1]) !== 'to-release') return fail('another message came instead');
    return pass('released, then redelivered');
  },
};

const settleModified: ServerCase = {
  id: 'settle.modified',
  section: '3.4.5',
  title: 'Modified with delivery-failed: redelivered with its delivery-count incremented',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-modify')]);
    const r = await receiver(c, s, address);
    const outcomes = r.remoteAttach!.source?.outcomes?.map(String);
    if (outcomes && !outcomes.includes('amqp:modified:list')) {
      return notApplicable(`the source's outcomes are ${outcomes.join(', ')}: modified is not supported`);
    }
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to modify');
    const before = headerOf(d)?.deliveryCount ?? 0;
    c.dispose(s, d.id, d.id, { type: 'modified', deliveryFailed: true });
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 2))) return fail(`the modified message was not redelivered${c.errorSummary()}`);
    const again = r.complete[1];
    if (bodyOf(again) !== 'to-modify') return fail('another message came instead');
    const after = headerOf(again)?.deliveryCount ?? 0;
    if (after !== before + 1) {
      return fail(
        `redelivered with delivery-count ${after}, not ${before + 1} (3.4.5: with delivery-failed it MUST be incremented)`,
      );
    }
    return pass(`redelivered with delivery-count ${after}`);
  },
};

const settleRcvSecond: ServerCase = {
  id: 'settle.rcv-second',
  section: '2.8.3',
  title: 'rcv-settle-mode second: the receiver answers unsettled and settles after us',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = c.sendAttach(s, { role: 'sender', address: ctx.address(), rcvSettleMode: 1 });
    const answered = await c.peer.waitFor(
      () => l.remoteAttach !== undefined || s.remoteEnd !== undefined || c.remoteClose !== undefined,
      ctx.timeoutMs,
    );
    if (!answered) return fail(`no attach in answer to ours${c.errorSummary()}`);
    await sleep(100);
    const refusal = l.remoteDetach?.error ?? s.remoteEnd?.error ?? c.remoteClose?.error;
    if (refusal) return notApplicable(`the server refused rcv-settle-mode second: ${describeError(refusal)}`);
    if (!l.remoteAttach) return fail(`the session or connection ended without an attach${c.errorSummary()}`);
    if (!l.remoteAttach.target) return notApplicable('the server refused the link (no target)');
    const mode = l.remoteAttach!.rcvSettleMode ?? 0;
    if (mode !== 1) return notApplicable(`the server's receiver chose rcv-settle-mode ${mode} (first)`);
    await c.waitCredit(l);
    const id = c.send(l, textMessage('second'));
    if (!(await c.peer.waitFor(() => s.dispositionFor(id) !== undefined, ctx.timeoutMs))) {
      return fail(`no disposition for our message${c.errorSummary()}`);
    }
    const d = s.dispositionFor(id)!;
    if (d.settled)
      return fail('the receiver settled first; in mode second it settles only after the sender (2.8.3)');
    if (d.state?.type !== 'accepted') return fail(`the outcome is ${describeState(d.state)}`);
    c.peer.frame(s.channel, {
      type: 'disposition',
      role: false,
      first: id,
      settled: true,
      state: { type: 'accepted' },
    });
    await sleep(100);
    if (s.remoteEnd || c.remoteClose) return fail(`our settlement was refused${c.errorSummary()}`);
    return pass('accepted unsettled, then settled after our settlement');
  },
};

const settleDispositionRange: ServerCase = {
  id: 'settle.disposition-range',
  section: '2.7.6',
  title: 'One disposition first..last accepts three deliveries',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, texts(3, 'range'));
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 3 });
    if (!(await c.receive(r, 3)))
      return fail(`${r.complete.length} of 3 messages arrived${c.errorSummary()}`);
    const ds = r.complete;
    if (ds.some((d) => d.settled))
      return notApplicable('the server sent settled deliveries: nothing to dispose');
    const ids = ds.map((d) => d.id).sort((a, b) => a - b);
    if (ids[2] - ids[0] !== 2) return notApplicable(`delivery ids ${ids.join(', ')} are not consecutive`);
    c.dispose(s, ids[0], ids[2], { type: 'accepted' });
    await c.detach(r);
    const r2 = await receiver(c, s, address);
    c.flow(r2, { credit: 3 });
    await sleep(QUIET_MS);
    if (r2.deliveries.length > 0) {
      return fail(`${r2.deliveries.length} of the 3 messages came again: the range did not settle them all`);
    }
    return pass(`disposition ${ids[0]}..${ids[2]} accepted all three`);
  },
};

// -------------------------------------------------------------------------------------------------
// 2.4.3: close

const closeClean: ServerCase = {
  id: 'close.clean',
  section: '2.4.3',
  title: 'Close is answered with close',
  async run(ctx) {
    const c = await ctx.connect();
    const r = await c.close();
    if (!r) return fail(`no close in answer to ours${c.errorSummary()}`);
    if (r.error) return fail(`answered with an error: ${describeError(r.error)}`);
    return pass('close answered with close');
  },
};

const closeError: ServerCase = {
  id: 'close.error',
  section: '2.4.3',
  title: 'Close with an error is answered with close',
  async run(ctx) {
    const c = await ctx.connect();
    await c.begin(0);
    const r = await c.close({
      type: 'error',
      condition: 'amqp:internal-error',
      description: 'amqp-one conformance',
    });
    if (!r) return fail(`no close in answer to a close with an error${c.errorSummary()}`);
    return pass(`close answered${r.error ? ` (with ${describeError(r.error)})` : ''}`);
  },
};

// -------------------------------------------------------------------------------------------------
// 2.3, 2.5.6, 2.7, 2.8.15-17: illegal frames

const illegalUnattachedHandle: ServerCase = {
  id: 'illegal.unattached-handle',
  section: '2.8.17',
  title: 'A transfer on a handle never attached ends the session with unattached-handle',
  async run(ctx) {
    const { c, s } = await ctx.session();
    c.peer.frame(
      s.channel,
      {
        type: 'transfer',
        handle: 7,
        deliveryId: 0,
        deliveryTag: Buffer.from('x'),
        messageFormat: 0,
        settled: true,
      },
      textMessage('nobody'),
    );
    return expectCondition(
      await awaitError(c, s),
      'amqp:session:unattached-handle',
      ['end', 'close'],
      'a transfer on an unattached handle is a session error, amqp:session:unattached-handle',
    );
  },
};

const illegalHandleInUse: ServerCase = {
  id: 'illegal.handle-in-use',
  section: '2.8.17',
  title: 'A second attach on a handle in use ends the session with handle-in-use',
  async run(ctx) {
    const { c, s } = await ctx.session();
    await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    c.peer.frame(s.channel, {
      type: 'attach',
      name: 'amqp-one-conformance-second-on-handle-0',
      handle: 0,
      role: false,
      source: { type: 'source', address: 'amqp-one-conformance' },
      target: { type: 'target', address: ctx.address() },
      initialDeliveryCount: 0,
    });
    return expectCondition(
      await awaitError(c, s),
      'amqp:session:handle-in-use',
      ['end', 'close'],
      'attaching a handle already in use is the session error amqp:session:handle-in-use (2.8.17)',
    );
  },
};

const illegalHandleMax: ServerCase = {
  id: 'illegal.handle-max-exceeded',
  section: '2.7.2',
  title: "An attach with a handle above the server's handle-max closes with framing-error",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const max = s.remoteBegin!.handleMax ?? 0xffffffff;
    if (max >= 0xffffffff) return notApplicable('the server accepts every handle (handle-max 4294967295)');
    c.sendAttach(s, { role: 'sender', address: ctx.address(), handle: max + 1 });
    return expectCondition(
      await awaitError(c),
      'amqp:connection:framing-error',
      ['close'],
      '2.7.2 (handle-max): a peer that receives a handle outside the supported range MUST close the connection with framing-error',
    );
  },
};

const illegalWindowViolation: ServerCase = {
  id: 'illegal.window-violation',
  section: '2.5.6',
  title: "Transfers beyond the server's incoming-window end the session with window-violation",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const window = s.remoteWindow;
    if (window > 100_000 || window < 0) {
      return notApplicable(
        `the server's incoming-window ${s.remoteBegin!.incomingWindow} is too large to overrun here`,
      );
    }
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    let started = false;
    let sent = 0;
    for (let round = 0; round < 2; round++) {
      const n = Math.max(1, s.remoteWindow + 1);
      c.peer.batch(() =>
        c.peer.muted(() => {
          for (let i = 0; i < n; i++) {
            const fields = started
              ? { more: true }
              : { deliveryId: s.nextDeliveryId, deliveryTag: Buffer.from('w'), messageFormat: 0, more: true };
            c.transferFrame(l, fields, Buffer.from([0x00]));
            started = true;
          }
        }),
      );
      sent += n;
      ctx.note(
        `sent ${n} transfer frames of one delivery (${sent} in all); the server's window was ${n - 1}`,
      );
      const got = await awaitError(c, s);
      if (got) {
        return expectCondition(
          got,
          'amqp:session:window-violation',
          ['end', 'close'],
          '2.5.6 and 2.8.17: amqp:session:window-violation',
        );
      }
      // No error: did the server widen its window while reading (its flows say where it stands)?
      if (s.remoteWindow < 0) {
        return fail(
          `no error after ${-s.remoteWindow} transfer frame(s) beyond the window its last flow gave`,
        );
      }
    }
    return notApplicable(`the server widened its window as it read ${sent} frames: it could not be overrun`);
  },
};

const illegalOversizedFrame: ServerCase = {
  id: 'illegal.oversized-frame',
  section: '2.7.1',
  title: "A frame larger than the server's max-frame-size closes with framing-error",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const max = c.remoteOpen!.maxFrameSize;
    if (max === undefined || max > 8 * 1024 * 1024) {
      return notApplicable(`the server's max-frame-size is ${max ?? 'unlimited'}: too large to exceed here`);
    }
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    // Transfer performative (~30 bytes) + data section header (8): pad the body to reach max + 1.
    const perf = 8 + 32;
    const body = Buffer.alloc(Math.max(300, max + 1 - perf - 8));
    let msg = dataMessage(body);
    const probe = {
      type: 'transfer' as const,
      handle: l.handle,
      deliveryId: s.nextDeliveryId,
      deliveryTag: Buffer.from('big'),
      messageFormat: 0,
      settled: true,
    };
    const size = frameSizeOf(probe, msg.length);
    msg = dataMessage(Buffer.alloc(body.length + (max + 1 - size)));
    c.transferFrame(l, probe, msg);
    ctx.note(
      `sent a transfer frame of ${frameSizeOf(probe, msg.length)} bytes; the server's max-frame-size is ${max}`,
    );
    return expectCondition(
      await awaitError(c),
      'amqp:connection:framing-error',
      ['close'],
      '2.7.1: a peer that receives an oversized frame MUST close the connection with framing-error',
    );
  },
};

const illegalMalformed: ServerCase = {
  id: 'illegal.malformed-encoding',
  section: '2.8.15',
  title: 'A performative that does not decode closes the connection with decode-error',
  async run(ctx) {
    const { c, s } = await ctx.session();
    // A flow whose list8 says 16 bytes follow, in a frame that holds 3 of them.
    c.peer.rawFrame(
      s.channel,
      Buffer.from([0x00, 0x53, 0x13, 0xc0, 0x10, 0x02, 0x43, 0x43]),
      0,
      'flow whose list size (16) runs past the frame',
    );
    return expectCondition(
      await awaitError(c),
      'amqp:decode-error',
      ['close'],
      'data that cannot be decoded is amqp:decode-error (2.8.15)',
    );
  },
};

const illegalBadDoff: ServerCase = {
  id: 'illegal.bad-doff',
  section: '2.3.1',
  title: 'A frame with DOFF 1 (malformed header) closes the connection with framing-error',
  async run(ctx) {
    const { c } = await ctx.session();
    c.peer.raw(Buffer.from([0, 0, 0, 8, 1, 0, 0, 0]), 'frame header with DOFF 1');
    return expectCondition(
      await awaitError(c),
      'amqp:connection:framing-error',
      ['close'],
      '2.3.1: a DOFF below 2 is malformed; a valid frame header cannot be formed (framing-error, 2.8.16)',
    );
  },
};

function frameSizeOf(t: Transfer, payload: number): number {
  const w = new ByteWriter(64);
  encodeComposite(w, t);
  return 8 + w.pos + payload;
}

/** Every server case, in report order. */
export const SERVER_CASES: readonly ServerCase[] = [
  headerAmqp,
  headerSasl,
  saslOutcome,
  saslBadPassword,
  saslUnknownMechanism,
  headerBadVersion,
  headerBadProtocol,
  openBasic,
  openPipelined,
  openMaxFrameSize,
  openChannelMax,
  openChannelMaxExceeded,
  openIdleTimeout,
  openServerIdleTimeout,
  sessionBeginEnd,
  sessionIncomingWindow,
  sessionEndError,
  linkAttachSender,
  linkAttachReceiver,
  linkCredit,
  linkDrainEmpty,
  linkDrainPartial,
  linkFlowEcho,
  linkDetachClosed,
  linkDetachError,
  transferMultiFrame,
  transferAborted,
  transferInterleaved,
  settlePresettledSend,
  settlePresettledReceive,
  settleUnsettledSend,
  settleUnsettledReceive,
  settleReleased,
  settleModified,
  settleRcvSecond,
  settleDispositionRange,
  closeClean,
  closeError,
  illegalUnattachedHandle,
  illegalHandleInUse,
  illegalHandleMax,
  illegalWindowViolation,
  illegalOversizedFrame,
  illegalMalformed,
  illegalBadDoff,
];
