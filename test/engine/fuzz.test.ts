/**
 * Engine fuzzing with fast-check: random frames, random bytes and mutated real streams into a
 * server engine and into a client engine with a receiver. Nothing escapes the engine; it ends
 * still working or closed with an AMQP condition; every input finishes quickly.
 */
import fc from 'fast-check';
import { afterAll, describe, test } from 'vitest';
import type { AmqpErrorRecord, DeliveryState, Performative } from '../../src/codec/spec/records.js';
import {
  ENGINE_WORK_LIMIT,
  EngineDriver,
  engineWorkMeter,
  fuzzClientReceiver,
  fuzzServer,
} from './fuzz-harness.js';
import { linkedPair } from './pair.js';
import { BEGIN, OPEN, ScriptedPeer, senderAttach } from './scripted-peer.js';

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const u32 = fc.oneof(
  fc.nat(5),
  fc.constantFrom(0x7fffffff, 0xfffffffe, 0xffffffff),
  fc.nat({ max: 0xffffffff }),
);
const handle = fc.oneof(fc.nat(2), fc.constantFrom(1023, 1024, 0xffffffff));
const bool = fc.boolean();
const error: fc.Arbitrary<AmqpErrorRecord> = fc.record({
  type: fc.constant('error' as const),
  condition: fc.constantFrom(
    'amqp:internal-error',
    'amqp:connection:redirect',
    'amqp:link:redirect',
    'x:custom',
  ),
  description: opt(fc.string({ maxLength: 20 })),
  info: opt(fc.constant({ hostname: 'h', port: 5671 })),
});
const state: fc.Arbitrary<DeliveryState> = fc.oneof(
  fc.constant({ type: 'accepted' as const }),
  fc.constant({ type: 'released' as const }),
  fc.record({ type: fc.constant('rejected' as const), error: opt(error) }),
  fc.record({
    type: fc.constant('modified' as const),
    deliveryFailed: opt(bool),
    undeliverableHere: opt(bool),
  }),
  fc.record({ type: fc.constant('received' as const), sectionNumber: u32, sectionOffset: fc.nat() }),
);
const terminus = opt(
  fc.constantFrom({ type: 'source' as const, address: 'q' }, { type: 'source' as const, dynamic: true }),
);
const target = opt(fc.constant({ type: 'target' as const, address: 'q' }));

const performative: fc.Arbitrary<Performative> = fc.oneof(
  fc.record({
    type: fc.constant('open' as const),
    containerId: fc.string({ maxLength: 10 }),
    maxFrameSize: opt(fc.constantFrom(0, 511, 512, 600, 0xffffffff)),
    channelMax: opt(fc.nat(3)),
    idleTimeOut: opt(fc.constantFrom(0, 1, 100, 60_000)),
  }),
  fc.record({
    type: fc.constant('begin' as const),
    remoteChannel: opt(fc.nat(3)),
    nextOutgoingId: u32,
    incomingWindow: u32,
    outgoingWindow: u32,
    handleMax: opt(u32),
  }),
  fc.record({
    type: fc.constant('attach' as const),
    name: fc.constantFrom('a', 'b', 'receiver'),
    handle,
    role: bool,
    sndSettleMode: opt(fc.nat(2)),
    rcvSettleMode: opt(fc.nat(1)),
    source: terminus,
    target,
    initialDeliveryCount: opt(u32),
    maxMessageSize: opt(fc.constantFrom(0, 1, 10, 1000)),
  }),
  fc.record({
    type: fc.constant('flow' as const),
    nextIncomingId: opt(u32),
    incomingWindow: u32,
    nextOutgoingId: u32,
    outgoingWindow: u32,
    handle: opt(handle),
    deliveryCount: opt(u32),
    linkCredit: opt(u32),
    available: opt(u32),
    drain: opt(bool),
    echo: opt(bool),
  }),
  fc.record({
    type: fc.constant('transfer' as const),
    handle,
    deliveryId: opt(u32),
    deliveryTag: opt(fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a))),
    messageFormat: opt(u32),
    settled: opt(bool),
    more: opt(bool),
    state: opt(state),
    aborted: opt(bool),
    batchable: opt(bool),
  }),
  fc.record({
    type: fc.constant('disposition' as const),
    role: bool,
    first: u32,
    last: opt(u32),
    settled: opt(bool),
    state: opt(state),
    batchable: opt(bool),
  }),
  fc.record({ type: fc.constant('detach' as const), handle, closed: opt(bool), error: opt(error) }),
  fc.record({ type: fc.constant('end' as const), error: opt(error) }),
  fc.record({ type: fc.constant('close' as const), error: opt(error) }),
);

type Step =
  | { kind: 'frame'; channel: number; rec: Performative; payload: Uint8Array }
  | { kind: 'empty' }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('frame' as const),
      channel: fc.oneof(fc.constant(0), fc.nat(3), fc.constant(0xffff)),
      rec: performative,
      payload: fc.uint8Array({ maxLength: 300 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.constantFrom(1, 50, 5000, 100_000) }),
  },
);

/** Encodes the steps (a valid prefix first, when given) and feeds them in random chunks. */
function play(driver: EngineDriver, prefix: (p: ScriptedPeer) => void, steps: Step[], cut: number): void {
  const encoder = new ScriptedPeer(driver.engine); // used only to encode frames
  prefix(encoder);
  const chunks: Uint8Array[] = [];
  const take = () => {
    const w = (encoder as unknown as { w: { copy(): Buffer; reset(): void } }).w;
    const b = w.copy();
    w.reset();
    for (let i = 0; i < b.length; i += cut) chunks.push(b.subarray(i, i + cut));
  };
  take();
  for (const s of steps) {
    if (s.kind === 'frame') encoder.frame(s.channel, s.rec, s.payload);
    else if (s.kind === 'empty') encoder.raw(Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]));
    else if (s.kind === 'raw') encoder.raw(s.bytes);
    else {
      take();
      for (const c of chunks.splice(0)) driver.feed(c);
      driver.now += s.ms;
      driver.engine.tick(driver.now);
      continue;
    }
  }
  take();
  for (const c of chunks) driver.feed(c);
}

const serverPrefixes: ((p: ScriptedPeer) => void)[] = [
  () => {},
  (p) => p.header(),
  (p) => p.header().frame(0, OPEN),
  (p) => p.header().frame(0, OPEN).frame(0, BEGIN).frame(0, senderAttach(0)),
  (p) =>
    p.header(3).sasl({ type: 'sasl-init', mechanism: 'ANONYMOUS' }).header().frame(0, OPEN).frame(0, BEGIN),
];
const clientPrefix = (p: ScriptedPeer) =>
  p
    .header()
    .frame(0, OPEN)
    .frame(0, { ...BEGIN, remoteChannel: 0 })
    .frame(0, senderAttach(0, { name: 'receiver' }));

const meter = engineWorkMeter();
let mostWork = 0;

function check(run: () => void): void {
  const r = meter.run(run, ENGINE_WORK_LIMIT);
  if (!r.ok) throw r.error;
  mostWork = Math.max(mostWork, r.work);
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
// Big FUZZ_RUNS need more than the default 60 s per test.
const TIMEOUT = Math.max(60_000, RUNS * 15);

describe('engine fuzzing (fast-check)', () => {
  afterAll(() =>
    console.log(`engine fuzzing: at most ${mostWork} units of work in one run (limit ${ENGINE_WORK_LIMIT})`),
  );

  test(
    'random frames into a server engine',
    () => {
      fc.assert(
        fc.property(
          fc.nat(serverPrefixes.length - 1),
          fc.array(step, { maxLength: 25 }),
          fc.integer({ min: 1, max: 64 }),
          (pre, steps, cut) =>
            check(() => {
              const driver = new EngineDriver(fuzzServer());
              play(driver, serverPrefixes[pre]!, steps, cut);
              driver.finish();
            }),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  test(
    'random frames into a client engine with a receiver',
    () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.array(step, { maxLength: 25 }),
          fc.integer({ min: 1, max: 64 }),
          (withPrefix, steps, cut) =>
            check(() => {
              const { driver } = fuzzClientReceiver();
              play(driver, withPrefix ? clientPrefix : (p) => p.header(), steps, cut);
              driver.finish();
            }),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  test(
    'random bytes into both',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), (bytes, header) =>
          check(() => {
            const amqp = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
            const input = header ? Buffer.concat([amqp, bytes]) : Buffer.from(bytes);
            const server = new EngineDriver(fuzzServer());
            server.feed(input);
            server.finish();
            const { driver } = fuzzClientReceiver();
            driver.feed(input);
            driver.finish();
          }),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  test(
    'mutated real streams (a full client conversation) into a server, and the reply into a client',
    () => {
      // Record a real conversation: SASL, open, session, links both ways, multi-frame transfers, settle, close.
      const p = linkedPair(
        'sender',
        { target: { address: 'q' } },
        { maxFrameSize: 600 },
        { maxFrameSize: 700 },
      );
      const rcv = p.session.openReceiver({ source: { address: 'r' } });
      p.pump();
      p.peer.setCredit(10);
      rcv.setCredit(10);
      p.pump();
      p.link.send(Buffer.alloc(2000, 1));
      p.link.send(Buffer.from('small'));
      (p.server.allSessions[0]!.allLinks[1] as import('../../src/link/sender.js').Sender).send(
        Buffer.alloc(900, 2),
      );
      p.pump();
      p.client.close();
      p.pump();
      const clientStream = Buffer.concat(p.toServer.batches.map((b) => encodeItems(b)));
      const serverStream = Buffer.concat(p.toClient.batches.map((b) => encodeItems(b)));
      const mutation = fc.array(
        fc.record({
          at: fc.nat(),
          op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'dup'),
          v: fc.nat(255),
          n: fc.integer({ min: 1, max: 16 }),
        }),
        { minLength: 1, maxLength: 6 },
      );
      fc.assert(
        fc.property(mutation, fc.integer({ min: 1, max: 200 }), (muts, cut) =>
          check(() => {
            const server = new EngineDriver(fuzzServer({ saslServer: undefined }));
            const a = mutate(clientStream, muts);
            for (let i = 0; i < a.length; i += cut) server.feed(a.subarray(i, i + cut));
            server.finish();
            const { driver } = fuzzClientReceiver();
            const b = mutate(serverStream, muts);
            for (let i = 0; i < b.length; i += cut) driver.feed(b.subarray(i, i + cut));
            driver.finish();
          }),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

/** Re-encodes what a wire tap decoded (headers, frames with their payloads). */
function encodeItems(items: import('./wire.js').WireItem[]): Buffer {
  const enc = new ScriptedPeer(fuzzServer());
  for (const it of items) {
    if (it.kind === 'header') enc.header(it.protocolId as 0 | 3);
    else if (!it.rec) enc.raw(Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]));
    else if (it.type === 1) enc.sasl(it.rec as never);
    else enc.frame(it.channel, it.rec as Performative, it.payload);
  }
  const w = (enc as unknown as { w: { copy(): Buffer } }).w;
  return w.copy();
}

function mutate(src: Buffer, muts: { at: number; op: string; v: number; n: number }[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    const at = m.at % Math.max(1, b.length);
    if (m.op === 'flip') b[at] = b[at]! ^ (1 << (m.v & 7));
    else if (m.op === 'set') b[at] = m.v;
    else if (m.op === 'insert')
      b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.n, m.v), b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
    else b = Buffer.concat([b.subarray(0, at + m.n), b.subarray(at, at + m.n), b.subarray(at + m.n)]);
  }
  return b;
}
