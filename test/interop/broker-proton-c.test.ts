/**
 * Qpid Proton C 0.37 example clients (send.c, receive.c, compiled by the harness) against our
 * broker (src/broker), over plain AMQP with SASL ANONYMOUS.
 *
 * Scenarios: 1000 unsettled messages accepted in order; distribution to two receivers round-robin;
 * close with an error condition seen by the C client; bare AMQP without SASL (taken by an open
 * broker, refused by one with users).
 * What these clients cannot do, and so is not tested here:
 * - presettled messages, drain, rejected/released outcomes: send.c sends unsettled and expects
 *   'accepted'; receive.c grants a fixed credit and accepts every message;
 * - a 1 MiB message: the body is always the small map {"sequence"=N};
 * - SASL (PLAIN or ANONYMOUS) and TLS: the examples open no SASL layer and take no certificates
 *   (broker.c is the C TLS peer; see client-proton-c-broker.test.ts);
 * - closing with an error of their own: they only close cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import type { ServerConnection } from '../../src/server/index.js';
import { buildProtonCExamples, runProtonCReceive, runProtonCSend } from './support/peers.js';
import { waitFor } from './support/ours.js';

let broker: Broker;
let url: string;

beforeAll(async () => {
  await buildProtonCExamples(); // cached; compiled once if missing
  broker = await startBroker({ port: 0, sasl: { anonymous: true } });
  url = `amqp://127.0.0.1:${broker.port}`;
}, 120_000);

afterAll(async () => {
  await broker?.close();
}, 20_000);

const sequence = (n: number): string => `{"sequence"=${n}}`;

describe('Proton C clients against our broker', () => {
  it(
    'send.c: 1000 unsettled messages accepted; receive.c gets them in order',
    { timeout: 60_000 },
    async () => {
      const sent = await runProtonCSend(`${url}/q1000`, 1000);
      expect(sent.code, sent.output).toBe(0);
      expect(sent.stdout).toContain('1000 messages sent and acknowledged');
      // Held now: an emptied queue with no link on it is freed.
      const q = broker.queues.get('q1000')!;
      expect(q.depth).toBe(1000);
      const got = await runProtonCReceive(`${url}/q1000`, 1000);
      expect(got.code, got.output).toBe(0);
      const lines = got.stdout.trim().split('\n');
      expect(lines.slice(0, 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => sequence(i + 1)));
      expect(lines[1000]).toBe('1000 messages received');
      await waitFor(() => q.depth === 0 && q.unsettled === 0, 5000, 'queue empty');
    },
  );

  it('two receive.c get the messages of one send.c round-robin', { timeout: 60_000 }, async () => {
    const receivers = [runProtonCReceive(`${url}/rr`, 5), runProtonCReceive(`${url}/rr`, 5)];
    await waitFor(() => broker.queues.get('rr')?.consumers === 2, 10_000, 'two receivers attached');
    await waitFor(() => broker.queues.get('rr')!.credit >= 10, 10_000, 'credit from both');
    const sent = await runProtonCSend(`${url}/rr`, 10);
    expect(sent.code, sent.output).toBe(0);
    const got = await Promise.all(receivers);
    const seen = got.map((r) => {
      expect(r.code, r.output).toBe(0);
      return r.stdout.trim().split('\n').slice(0, 5);
    });
    // One takes the odd messages, the other the even ones (which is which depends on attach order).
    const odd = [1, 3, 5, 7, 9].map(sequence);
    const even = [2, 4, 6, 8, 10].map(sequence);
    expect(seen.map((s) => s.join(',')).sort()).toEqual([odd.join(','), even.join(',')].sort());
  });

  it('close with an error condition: receive.c reports it', { timeout: 60_000 }, async () => {
    const waiting = runProtonCReceive(`${url}/nothing`, 1, { timeoutMs: 20_000 });
    await waitFor(() => broker.queues.get('nothing')?.consumers === 1, 10_000, 'receiver attached');
    const server = [...broker.connections].find((c) => c.engine.isOpen)!;
    await server.close({ condition: 'amqp:resource-limit-exceeded', description: 'the broker had enough' });
    const r = await waiting;
    expect(r.code, r.output).toBe(1);
    expect(r.stderr).toContain('amqp:resource-limit-exceeded: the broker had enough');
  });

  it('no SASL: an open broker takes bare AMQP, one with users refuses it', { timeout: 60_000 }, async () => {
    const identities: (string | undefined)[] = [];
    broker.on('disconnect', (c: ServerConnection) => identities.push(c.identity));
    const ok = await runProtonCSend(`${url}/anon`, 1);
    expect(ok.code, ok.output).toBe(0);
    await waitFor(() => identities.length > 0, 5000, 'the connection to end');
    expect(identities).toEqual([undefined]); // bare AMQP: no SASL layer, so no identity
    const strict = await startBroker({ port: 0, users: { guest: 'guest' } });
    try {
      const refused = await runProtonCSend(`amqp://127.0.0.1:${strict.port}/anon`, 1, {
        timeoutMs: 20_000,
      });
      expect(refused.code, refused.output).toBe(1);
      // Spec 2.2: we answer a header we do not take with the one we do (SASL), then close.
      expect(refused.stderr).toMatch(
        /amqp:connection:framing-error: Expected AMQP protocol header got: AMQP SASL layer/,
      );
      expect(strict.queues.size).toBe(0);
    } finally {
      await strict.close();
    }
  });
});
