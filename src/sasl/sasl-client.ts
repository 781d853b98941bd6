/** The client side of SASL negotiation (spec 5.3.2): pick the mechanism, answer challenges, read the outcome. */
import type { CompositeRecord, SaslFrameBody } from '../codec/spec/records.js';
import { AuthenticationError } from '../protocol/errors.js';
import type { SaslClientMechanism } from './mechanisms.js';

export interface SaslStepResult {
  reply?: SaslFrameBody;
  done?: 'ok' | 'fail';
  mechanism?: string;
  identity?: string;
  error?: AuthenticationError;
}

/** sasl-code values (spec 5.3.3.6). */
export const SaslCode = { Ok: 0, Auth: 1, Sys: 2, SysPerm: 3, SysTemp: 4 } as const;

const CODE_TEXT: Record<number, string> = {
  1: 'authentication failed (bad credentials)',
  2: 'the server had a system error',
  3: 'the server had a permanent system error',
  4: 'the server had a temporary system error',
};

export class SaslClient {
  private state: 'mechanisms' | 'outcome' | 'done' = 'mechanisms';

  constructor(
    private readonly mechanism: SaslClientMechanism,
    private readonly hostname?: string,
  ) {}

  onFrame(rec: CompositeRecord): SaslStepResult {
    switch (rec.type) {
      case 'sasl-mechanisms': {
        if (this.state !== 'mechanisms') return this.fail('AMQP_SASL_PROTOCOL', 'unexpected sasl-mechanisms');
        const offered = rec.saslServerMechanisms;
        if (!offered.includes(this.mechanism.name)) {
          return this.fail(
            'AMQP_SASL_NO_MECHANISM',
            `the server offers ${offered.join(', ') || 'no mechanism'}, not ${this.mechanism.name}`,
          );
        }
        this.state = 'outcome';
        return {
          reply: {
            type: 'sasl-init',
            mechanism: this.mechanism.name,
            initialResponse: this.mechanism.initialResponse(),
            hostname: this.hostname,
          },
        };
      }
      case 'sasl-challenge': {
        if (this.state !== 'outcome' || !this.mechanism.challenge) {
          return this.fail('AMQP_SASL_PROTOCOL', `unexpected sasl-challenge for ${this.mechanism.name}`);
        }
        return { reply: { type: 'sasl-response', response: this.mechanism.challenge(rec.challenge) } };
      }
      case 'sasl-outcome': {
        if (this.state !== 'outcome') return this.fail('AMQP_SASL_PROTOCOL', 'unexpected sasl-outcome');
        this.state = 'done';
        if (rec.code === SaslCode.Ok) return { done: 'ok', mechanism: this.mechanism.name };
        const text = CODE_TEXT[rec.code] ?? `sasl-code ${rec.code}`;
        return {
          done: 'fail',
          error: new AuthenticationError(
            rec.code === SaslCode.Auth ? 'AMQP_SASL_AUTH_FAILED' : 'AMQP_SASL_SYS_ERROR',
            `SASL ${this.mechanism.name}: ${text}`,
            rec.code,
          ),
        };
      }
      default:
        return this.fail('AMQP_SASL_PROTOCOL', `${rec.type} is not a SASL frame a client expects`);
    }
  }

  private fail(code: string, message: string): SaslStepResult {
    this.state = 'done';
    return { done: 'fail', error: new AuthenticationError(code, message) };
  }
}
