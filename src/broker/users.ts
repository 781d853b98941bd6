/** SASL for the broker: a table of PLAIN users, on top of what `listen` takes. */
import { timingSafeEqual } from 'node:crypto';
import type { ServerSaslOptions } from '../server/server.js';

/**
 * `users` becomes the PLAIN check (which makes SASL mandatory, see ServerSaslOptions.required);
 * ANONYMOUS stays off unless asked for explicitly.
 */
export function saslOptions(o: {
  sasl?: ServerSaslOptions | false;
  users?: Record<string, string>;
}): ServerSaslOptions | false | undefined {
  if (o.sasl === false || !o.users) return o.sasl;
  const users = new Map(Object.entries(o.users));
  return {
    ...o.sasl,
    plain: (username, password) => {
      const expected = users.get(username);
      return expected !== undefined && sameSecret(expected, password);
    },
  };
}

/** Compares without leaking, through timing, how much of a password was right. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
