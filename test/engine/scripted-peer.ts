/**
 * A scripted frame-level peer: writes raw frames (any order, any content) into an engine and
 * decodes what the engine writes back, so tests can break the rules on purpose.
 */
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeComposite } from '../../src/codec/composite.js';
import type {
  Attach,
  Begin,
  CompositeRecord,
  Open,
  Performative,
  SaslFrameBody,
} from '../../src/codec/spec/records.js';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import type { EngineEvent } from '../../src/connection/events.js';
import { beginFrame, endFrame } from '../../src/frames/frame-writer.js';
import { writeProtocolHeader } from '../../src/frames/protocol-header.js';
import { Role } from '../../src/link/link.js';
import { WireTap, type WireItem } from './wire.js';

export class ScriptedPeer {
  readonly events: EngineEvent[] = [];
  readonly tap: WireTap;
  private readonly w = new ByteWriter(1024);
  now = 1000;

  /** `peerMaxFrameSize`: the limit this peer announces; every engine frame is checked against it. */
  constructor(
    readonly engine: Connection,
    peerMaxFrameSize = 0xffffffff,
  ) {
    this.tap = new WireTap(`${engine.role} engine`, peerMaxFrameSize);
    engine.tick(this.now);
  }

  header(protocolId: 0 | 2 | 3 = 0): this {
    writeProtocolHeader(this.w, protocolId as 0 | 3);
    return this;
  }

  frame(channel: number, rec: Performative | CompositeRecord, payload?: Uint8Array): this {
    const start = beginFrame(this.w, 0, channel);
    encodeComposite(this.w, rec);
    if (payload) this.w.bytes(payload);
    endFrame(this.w, start);
    return this;
  }

  sasl(rec: SaslFrameBody): this {
    const start = beginFrame(this.w, 1, 0);
    encodeComposite(this.w, rec);
    endFrame(this.w, start);
    return this;
  }

  /** A frame whose body is exactly `body` (malformed on purpose, say). */
  rawFrame(channel: number, body: Uint8Array, type: 0 | 1 = 0): this {
    const start = beginFrame(this.w, type, channel);
    this.w.bytes(body);
    endFrame(this.w, start);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.w.bytes(bytes);
    return this;
  }

  /** Feeds what was scripted into the engine (in chunks of `split` bytes), then reads its output. */
  send(split?: number): WireItem[] {
    const bytes = this.w.copy();
    this.w.reset();
    const n = split ?? Math.max(1, bytes.length);
    for (let i = 0; i < bytes.length; i += n) this.engine.receive(bytes.subarray(i, i + n));
    return this.output();
  }

  /** Takes the engine's output (decoded and checked) and its events. */
  output(): WireItem[] {
    const out = this.engine.takeOutput();
    this.events.push(...this.engine.takeEvents());
    return out ? this.tap.feed(out) : [];
  }

  tick(ms: number): WireItem[] {
    this.now += ms;
    this.engine.tick(this.now);
    return this.output();
  }

  /** The last performative of a type the engine wrote. */
  last<T extends CompositeRecord['type']>(type: T): Extract<CompositeRecord, { type: T }> | undefined {
    const all = this.tap.records(type);
    return all[all.length - 1];
  }

  /** The condition of the engine's close frame, if it wrote one. */
  get closeCondition(): string | undefined {
    return this.last('close')?.error?.condition;
  }
}

export const OPEN: Open = { type: 'open', containerId: 'peer' };
export const BEGIN: Begin = { type: 'begin', nextOutgoingId: 0, incomingWindow: 100, outgoingWindow: 100 };

/** A server engine that has accepted the peer's header, open and begin (answering them). */
export function openServer(options: ConnectionOptions = {}, peerOpen: Partial<Open> = {}): ScriptedPeer {
  const engine = new Connection({ containerId: 'server', ...options, role: 'server' });
  const peer = new ScriptedPeer(engine, peerOpen.maxFrameSize);
  peer
    .header()
    .frame(0, { ...OPEN, ...peerOpen })
    .frame(0, BEGIN)
    .send();
  for (const e of peer.events) {
    if (e.type === 'connection-remote-open') engine.open();
    if (e.type === 'session-remote-open') e.session.begin();
  }
  peer.output();
  return peer;
}

/** An attach from the peer as sender (role false) on handle `handle`. */
export function senderAttach(handle: number, extra: Partial<Attach> = {}): Attach {
  return {
    type: 'attach',
    name: `peer-link-${handle}`,
    handle,
    role: Role.Sender,
    initialDeliveryCount: 0,
    source: { type: 'source', address: 'src' },
    target: { type: 'target', address: 'dst' },
    ...extra,
  };
}

/**
 * A client engine with an open connection, a session and a receiver (credit 100), answered by
 * this scripted peer as server: the state Proton's fuzz-connection-driver inputs expect.
 */
export function openClientReceiver(
  options: ConnectionOptions = {},
): ScriptedPeer & { receiver: import('../../src/link/receiver.js').Receiver } {
  const engine = new Connection({ containerId: 'client', ...options, role: 'client' });
  const peer = new ScriptedPeer(engine) as ScriptedPeer & {
    receiver: import('../../src/link/receiver.js').Receiver;
  };
  engine.open();
  const s = engine.beginSession();
  peer.receiver = s.openReceiver({ name: 'r', source: { address: 'q' } });
  peer.receiver.setCredit(100);
  peer.output();
  peer
    .header()
    .frame(0, OPEN)
    .frame(0, { ...BEGIN, remoteChannel: 0 })
    .frame(0, senderAttach(0, { name: 'r' }))
    .send();
  return peer;
}
