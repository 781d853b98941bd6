/**
 * The SASL mechanisms the emulated hub offers, in the real hub's order: EXTERNAL, MSSBCBS,
 * ANONYMOUS, PLAIN (contract section 2). Clients that skip SASL (the Node IoT SDKs send a bare
 * AMQP header) are accepted too, by the server itself.
 *
 * - PLAIN is judged here (auth.ts); a successful one leaves a {@link Grant} behind a ticket that
 *   the SASL identity names (`plain:<n>`): the connection claims it when its open arrives
 *   (the server's SASL layer knows nothing of connections).
 * - MSSBCBS (C SDK, uAMQP with CBS) and ANONYMOUS (event-hubs) authenticate nothing: CBS follows.
 * - EXTERNAL takes any TLS client certificate (no certificate: an authentication failure); it is
 *   judged when a link names a device or module (x509.ts), as for clients that skip SASL.
 */
import type { SaslServerMechanism } from '../../sasl/mechanisms.js';
import { verifyPlain, type AuthConfig, type Grant } from './auth.js';

export interface PlainTickets {
  take(identity: string | undefined): Grant | undefined;
}

export function hubSaslMechanisms(
  cfg: AuthConfig,
  now: () => number,
  log: (line: string) => void,
): { mechanisms: SaslServerMechanism[]; tickets: PlainTickets } {
  const tickets = new Map<string, Grant>();
  let counter = 0;
  const external: SaslServerMechanism = {
    name: 'EXTERNAL',
    start(_resp, ctx) {
      if (!ctx.externalIdentity)
        return { outcome: 'fail', code: 1, reason: 'EXTERNAL needs a TLS client certificate' };
      return { outcome: 'ok', identity: `x509:${ctx.externalIdentity}` };
    },
  };
  const mssbcbs: SaslServerMechanism = {
    name: 'MSSBCBS',
    start: () => ({ outcome: 'ok', identity: 'mssbcbs' }),
  };
  const anonymous: SaslServerMechanism = {
    name: 'ANONYMOUS',
    start: () => ({ outcome: 'ok', identity: 'anonymous' }),
  };
  const plain: SaslServerMechanism = {
    name: 'PLAIN',
    start(resp) {
      if (!resp) return { outcome: 'fail', code: 1, reason: 'PLAIN needs an initial response' };
      const parts = resp.toString('utf8').split('\0');
      if (parts.length !== 3) return { outcome: 'fail', code: 1, reason: 'malformed PLAIN response' };
      const [, username, password] = parts as [string, string, string];
      const v = verifyPlain(cfg, username, password, now());
      if (!v.ok) {
        log(`SASL PLAIN refused for ${username}: ${v.reason}`);
        return { outcome: 'fail', code: 1, reason: v.reason };
      }
      const id = `plain:${++counter}`;
      tickets.set(id, v.grant);
      // A ticket nobody claims (the client went away after SASL) must not pile up.
      if (tickets.size > 10_000) tickets.delete(tickets.keys().next().value!);
      return { outcome: 'ok', identity: id };
    },
  };
  return {
    mechanisms: [external, mssbcbs, anonymous, plain],
    tickets: {
      take(identity) {
        if (identity === undefined) return undefined;
        const g = tickets.get(identity);
        tickets.delete(identity);
        return g;
      },
    },
  };
}
