/**
 * A fresh container-id: a random UUID from Web Crypto, which Node (20+), browsers and workers all
 * have as `globalThis.crypto`. A browser page served over plain http is not a secure context and
 * has `getRandomValues` but no `randomUUID`: the UUID is then built from random bytes (RFC 9562 v4).
 */
import { toHex } from '../codec/bytes.js';

interface WebCrypto {
  randomUUID?: () => string;
  getRandomValues<T extends Uint8Array>(a: T): T;
}

export function randomContainerId(): string {
  const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  if (crypto === undefined) throw new Error('no globalThis.crypto: pass a containerId');
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
