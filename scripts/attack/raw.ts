/**
 * The attacker's raw side: sockets that speak exact frames (src/conformance's RawPeer and
 * ClientScript), handshakes with or without SASL, and a streamer that writes one message as many
 * transfer frames as fast as the socket takes them, stopping as soon as the server refuses.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import { encodeComposite } from '../../src/codec/composite.js';
import type { AmqpErrorRecord, Transfer } from '../../src/codec/spec/records.js';
import {
  ClientScript,
  describeError,
  describeState,
  type ScriptLink,
} from '../../src/conformance/client-script.js';
import { RawPeer } from '../../src/conformance/raw-peer.js';
import { TraceLog } from '../../src/conformance/trace.js';
import { beginFrame, endFrame } from '../../src/frames/frame-writer.js';
import type { ServerInfo } from './server-process.js';

/** How the attacker gets in: the bare AMQP header (no SASL), SASL ANONYMOUS, or SASL PLAIN. */
export type Auth = 'bare' | 'anonymous' | { username: string; password: string };

export const STEP_TIMEOUT_MS = 5000;

/** A TCP connection to the server, wrapped for frames (a small trace, kept bounded). */
export function rawConnect(info: ServerInfo, timeoutMs = STEP_TIMEOUT_MS): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: info.host, port: info.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(new RawPeer(socket, new TraceLog(performance.now(), 20, 20), { role: 'client', conn: 1 }));
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A script on `peer` that logs in as `auth` (the names are only used for PLAIN). */
export function scriptFor(peer: RawPeer, auth: Auth, hostname?: string): ClientScript {
  const creds = typeof auth === 'object' ? auth : {};
  return new ClientScript(peer, {
    timeoutMs: STEP_TIMEOUT_MS,
    hostname,
    containerId: 'amqp-one-attack',
    ...creds,
  });
}

/**
 * Header (bare or SASL), then open. Resolves with the opened script; rejects with what the server
 * did instead (the script's failure text, which names the server's close or outcome).
 */
export async function handshake(info: ServerInfo, auth: Auth, hostname?: string): Promise<ClientScript> {
  const peer = await rawConnect(info);
  const c = scriptFor(peer, auth, hostname);
  try {
    if (auth !== 'bare') await c.sasl();
    await c.amqpHeader();
    await c.open();
    return c;
  } catch (e) {
    peer.destroy();
    throw e;
  }
}

/** One frame's bytes. */
export function frameBytes(channel: number, rec: Transfer, payload?: Uint8Array): Buffer {
  const w = new ByteWriter(64 + (payload?.length ?? 0));
  const start = beginFrame(w, 0, channel);
  encodeComposite(w, rec);
  if (payload) w.bytes(payload);
  endFrame(w, start);
  return w.copy();
}

/** What the server said to end things on this link, session or connection, if anything. */
export function serverReaction(c: ClientScript, l: ScriptLink, deliveryId?: number): string | undefined {
  const err = (what: string, e: AmqpErrorRecord | undefined): string =>
    e ? `${what}: ${describeError(e)}` : `${what} without error`;
  if (l.remoteDetach) return err('link detached', l.remoteDetach.error);
  if (l.session.remoteEnd) return err('session ended', l.session.remoteEnd.error);
  if (c.remoteClose) return err('connection closed', c.remoteClose.error);
  if (c.peer.isClosed) return 'socket closed';
  if (deliveryId !== undefined) {
    const d = l.session.dispositionFor(deliveryId);
    if (d) return `delivery ${describeState(d.state)}`;
  }
  return undefined;
}

export interface StreamResult {
  /** Payload bytes written (the message bytes, without frame overhead). */
  bytes: number;
  frames: number;
  /** Why sending stopped early, or undefined when the whole message went out. */
  stoppedBy?: string;
  ms: number;
}

/**
 * Writes one unsettled message of a `size`-byte data section on sender link `l`, in transfer frames
 * of `chunk` payload bytes, within the server's session window and the socket's backpressure.
 * Stops as soon as the server detaches, ends, closes or settles, or `signal` aborts.
 */
export async function streamMessage(
  c: ClientScript,
  l: ScriptLink,
  size: number,
  chunk: number,
  signal: AbortSignal,
): Promise<StreamResult & { deliveryId: number }> {
  const s = l.session;
  const socket = c.peer.socket;
  const deliveryId = s.nextDeliveryId;
  s.nextDeliveryId = (deliveryId + 1) | 0;
  l.deliveryCount = (l.deliveryCount + 1) | 0;
  // A data section: descriptor 0x75, vbin32 of `size` bytes (zeros).
  const section = Buffer.alloc(8);
  section.set([0x00, 0x53, 0x75, 0xb0]);
  section.writeUInt32BE(size, 4);
  const total = size + section.length;
  const middle = frameBytes(
    s.channel,
    { type: 'transfer', handle: l.handle, more: true },
    Buffer.alloc(chunk),
  );
  const BLOCK = 256;
  const block = Buffer.concat(Array.from({ length: BLOCK }, () => middle));
  const t0 = performance.now();
  let bytes = 0;
  let frames = 0;
  const stopped = (): string | undefined =>
    signal.aborted ? 'the attack was stopped (time or memory cap)' : serverReaction(c, l, deliveryId);
  const write = async (buf: Buffer, n: number, payload: number): Promise<void> => {
    bytes += payload;
    frames += n;
    s.nextOutgoingId = (s.nextOutgoingId + n) | 0;
    if (!socket.write(buf)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  };
  // The first frame starts the delivery; frames still inside the 8-byte section header (1-byte
  // frames) carry its bytes; after it every frame is the same run of zeros.
  const firstPayload = Math.min(chunk, total);
  const head = Buffer.concat([section, Buffer.alloc(Math.max(0, firstPayload - section.length))]);
  await write(
    frameBytes(
      s.channel,
      {
        type: 'transfer',
        handle: l.handle,
        deliveryId,
        deliveryTag: Buffer.from(`attack-${deliveryId}`),
        messageFormat: 0,
        settled: false,
        more: firstPayload < total,
      },
      head.subarray(0, firstPayload),
    ),
    1,
    firstPayload,
  );
  while (bytes < section.length && !stopped()) {
    const part = section.subarray(bytes, bytes + chunk);
    await write(
      frameBytes(s.channel, { type: 'transfer', handle: l.handle, more: true }, part),
      1,
      part.length,
    );
  }
  while (bytes < total) {
    const why = stopped();
    if (why) return { bytes, frames, stoppedBy: why, ms: performance.now() - t0, deliveryId };
    if (s.remoteWindow <= 0) {
      const ok = await c.peer.waitFor(() => s.remoteWindow > 0 || stopped() !== undefined, 10_000);
      if (!ok) {
        const r = stopped() ?? 'the server granted no session window for 10 s';
        return { bytes, frames, stoppedBy: r, ms: performance.now() - t0, deliveryId };
      }
      continue;
    }
    const left = total - bytes;
    if (left <= chunk) {
      await write(
        frameBytes(s.channel, { type: 'transfer', handle: l.handle, more: false }, Buffer.alloc(left)),
        1,
        left,
      );
      break;
    }
    const n = Math.min(BLOCK, s.remoteWindow, Math.floor((left - 1) / chunk));
    await write(n === BLOCK ? block : block.subarray(0, n * middle.length), n, n * chunk);
  }
  return { bytes, frames, ms: performance.now() - t0, deliveryId };
}

/** Resolves when `cond` holds or `ms` passed (checked on every frame from the server). */
export function waitUntil(c: ClientScript, cond: () => boolean, ms: number): Promise<boolean> {
  return c.peer.waitFor(cond, ms);
}

export const MiB = 1024 * 1024;
export const fmtMiB = (bytes: number): string => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 2 : 0)} MiB`;
