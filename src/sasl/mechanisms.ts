/**
 * SASL mechanisms (spec 5.3, RFC 4422). A client mechanism produces the initial response and
 * answers challenges; a server mechanism judges responses. The IoT Hub layer adds MSSBCBS through
 * the same interfaces.
 */
import { utf8Encode, utf8Lenient } from '../codec/bytes.js';

/** A client's SASL mechanism: its name, initial response and answers to challenges. */
export interface SaslClientMechanism {
  readonly name: string;
  /** The initial response sent in sasl-init, if the mechanism has one. */
  initialResponse(): Buffer | undefined;
  /** Answers a sasl-challenge. */
  challenge?(challenge: Buffer): Buffer;
}

/** A server mechanism's verdict on a step. */
export type SaslServerStep =
  | { outcome: 'ok'; identity: string }
  | { outcome: 'fail'; code?: 1 | 2 | 3 | 4; reason?: string }
  | { outcome: 'challenge'; challenge: Buffer };

/** What a server mechanism knows of the connection when judging. */
export interface SaslServerContext {
  hostname?: string;
  /** The TLS client certificate identity, when the transport has one (for EXTERNAL). */
  externalIdentity?: string;
}

/** A server's SASL mechanism: checks what the client sends. */
export interface SaslServerMechanism {
  readonly name: string;
  /** Checks the client's sasl-init. */
  start(initialResponse: Buffer | undefined, ctx: SaslServerContext): SaslServerStep;
  /** Checks a sasl-response, for mechanisms with a challenge. */
  response?(response: Buffer, ctx: SaslServerContext): SaslServerStep;
}

/** The client side of SASL ANONYMOUS; `trace` is its optional initial response. */
export function anonymousClient(trace = ''): SaslClientMechanism {
  return { name: 'ANONYMOUS', initialResponse: () => utf8Encode(trace) as Buffer };
}

/** PLAIN: authzid NUL authcid NUL password. */
export function plainClient(username: string, password: string, authzid = ''): SaslClientMechanism {
  return {
    name: 'PLAIN',
    initialResponse: () => utf8Encode(`${authzid}\0${username}\0${password}`) as Buffer,
  };
}

/** EXTERNAL: the identity comes from the TLS client certificate; an optional authzid is sent. */
export function externalClient(authzid = ''): SaslClientMechanism {
  return { name: 'EXTERNAL', initialResponse: () => utf8Encode(authzid) as Buffer };
}

/** The server side of SASL ANONYMOUS: everyone is let in. */
export function anonymousServer(): SaslServerMechanism {
  return { name: 'ANONYMOUS', start: () => ({ outcome: 'ok', identity: 'anonymous' }) };
}

/** The server side of PLAIN: `authenticate` decides. */
export function plainServer(
  authenticate: (username: string, password: string, ctx: SaslServerContext & { authzid: string }) => boolean,
): SaslServerMechanism {
  return {
    name: 'PLAIN',
    start(resp, ctx) {
      if (!resp) return { outcome: 'fail', code: 1, reason: 'PLAIN needs an initial response' };
      const parts = utf8Lenient(resp).split('\0');
      if (parts.length !== 3) return { outcome: 'fail', code: 1, reason: 'malformed PLAIN response' };
      const [authzid, username, password] = parts as [string, string, string];
      return authenticate(username, password, { ...ctx, authzid })
        ? { outcome: 'ok', identity: username }
        : { outcome: 'fail', code: 1, reason: 'bad credentials' };
    },
  };
}

/** The server side of EXTERNAL: accepts when the transport has a verified client certificate. */
export function externalServer(): SaslServerMechanism {
  return {
    name: 'EXTERNAL',
    start(resp, ctx) {
      if (!ctx.externalIdentity) return { outcome: 'fail', code: 1, reason: 'no client certificate' };
      const authzid = resp ? utf8Lenient(resp) : '';
      if (authzid && authzid !== ctx.externalIdentity)
        return { outcome: 'fail', code: 1, reason: 'authzid mismatch' };
      return { outcome: 'ok', identity: ctx.externalIdentity };
    },
  };
}
