/**
 * Lock tokens: a uuid string (`x-opt-lock-token`) and the same uuid as the 16-byte delivery tag.
 *
 * The tag carries the uuid in .NET `Guid.ToByteArray()` order (first three groups little-endian),
 * because the C# SDK turns the delivery tag into its LockToken with `new Guid(tag)`: this way the
 * string it computes equals the `x-opt-lock-token` annotation, as on the real hub.
 */
import { randomUUID } from 'node:crypto';
import { uuidToString } from '../../codec/values.js';
import { HubError } from './errors.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16-byte delivery tag of a lock token. */
export function lockTagFromToken(token: string): Buffer {
  if (!UUID_RE.test(token)) throw new HubError('HUB_LOCK_NOT_FOUND', `not a lock token: ${token}`);
  const b = Buffer.from(token.replace(/-/g, ''), 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

/** The lock token of a 16-byte delivery tag. */
export function lockTokenFromTag(tag: Uint8Array): string {
  if (tag.length !== 16) throw new HubError('HUB_LOCK_NOT_FOUND', 'a lock-token delivery tag has 16 bytes');
  const b = Buffer.from(tag);
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return uuidToString(b, 0);
}

/** A lock token given as its string or as its delivery tag, in canonical (lower-case) form. */
export function normalizeLockToken(t: string | Uint8Array): string {
  if (typeof t !== 'string') return lockTokenFromTag(t);
  if (!UUID_RE.test(t)) throw new HubError('HUB_LOCK_NOT_FOUND', `not a lock token: ${t}`);
  return t.toLowerCase();
}

export function newLockToken(): { token: string; tag: Buffer } {
  const token = randomUUID();
  return { token, tag: lockTagFromToken(token) };
}
