/**
 * Small helpers for interop tests that drive OUR side (client or broker) against a real peer.
 * Kept apart from peers.ts, which holds no amqp-one code.
 */
import type { MessageReceiver } from '../../../src/api/receiver.js';
import type { ReceivedMessage } from '../../../src/api/received-message.js';

/** The next message, or a TimeoutError; a clean end of the link is an error here too. */
export async function nextMessage(r: MessageReceiver, timeoutMs = 5000): Promise<ReceivedMessage> {
  const m = await r.receive({ timeoutMs });
  if (!m) throw new Error(`receiver on ${r.address} closed while a message was expected`);
  return m;
}

/** Receives `count` messages, accepting each, and returns their bodies in arrival order. */
export async function receiveBodies(r: MessageReceiver, count: number, timeoutMs = 5000): Promise<unknown[]> {
  const bodies: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const m = await nextMessage(r, timeoutMs);
    bodies.push(m.message.body);
    if (!m.settled) m.accept();
  }
  return bodies;
}

/** A payload of `size` bytes with a pattern that shows any lost, doubled or moved chunk. */
export function patterned(size: number, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >>> 16)) & 0xff;
  return b;
}

/** 'm0', 'm1', ... */
export function numbered(count: number, prefix = 'm'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Resolves when `cond` holds, polling every few ms; rejects after timeoutMs. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
