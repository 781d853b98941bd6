/** The server side of SASL negotiation (spec 5.3.2): offer mechanisms, judge the client, send the outcome. */
import type { CompositeRecord, SaslFrameBody } from '../codec/spec/records.js';
import { AuthenticationError } from '../protocol/errors.js';
import type { SaslServerContext, SaslServerMechanism, SaslServerStep } from './mechanisms.js';
import type { SaslStepResult } from './sasl-client.js';

export class SaslServer {
  private chosen: SaslServerMechanism | undefined;
  private state: 'init' | 'response' | 'done' = 'init';
  private readonly ctx: SaslServerContext;

  constructor(
    private readonly mechanisms: SaslServerMechanism[],
    ctx: SaslServerContext,
  ) {
    this.ctx = { ...ctx };
  }

  mechanismsFrame(): SaslFrameBody {
    return { type: 'sasl-mechanisms', saslServerMechanisms: this.mechanisms.map((m) => m.name) };
  }

  onFrame(rec: CompositeRecord): SaslStepResult {
    if (rec.type === 'sasl-init' && this.state === 'init') {
      this.chosen = this.mechanisms.find((m) => m.name === rec.mechanism);
      if (rec.hostname !== undefined) this.ctx.hostname = rec.hostname;
      if (!this.chosen)
        return this.finish({ outcome: 'fail', code: 1, reason: `mechanism ${rec.mechanism} is not offered` });
      return this.finish(this.chosen.start(rec.initialResponse, this.ctx));
    }
    if (rec.type === 'sasl-response' && this.state === 'response' && this.chosen?.response) {
      return this.finish(this.chosen.response(rec.response, this.ctx));
    }
    this.state = 'done';
    return {
      reply: { type: 'sasl-outcome', code: 2 },
      done: 'fail',
      error: new AuthenticationError('AMQP_SASL_PROTOCOL', `unexpected ${rec.type} during SASL`),
    };
  }

  private finish(step: SaslServerStep): SaslStepResult {
    if (step.outcome === 'challenge') {
      this.state = 'response';
      return { reply: { type: 'sasl-challenge', challenge: step.challenge } };
    }
    this.state = 'done';
    if (step.outcome === 'ok') {
      return {
        reply: { type: 'sasl-outcome', code: 0 },
        done: 'ok',
        mechanism: this.chosen!.name,
        identity: step.identity,
      };
    }
    return {
      reply: { type: 'sasl-outcome', code: step.code ?? 1 },
      done: 'fail',
      error: new AuthenticationError(
        'AMQP_SASL_AUTH_FAILED',
        `SASL refused: ${step.reason ?? 'authentication failed'}`,
        step.code ?? 1,
      ),
    };
  }
}
