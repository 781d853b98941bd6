/**
 * `amqp-one conformance` against our own broker (src/broker): every applicable case must pass.
 * Two cases need a broker set up for them, and run against one more broker each: sasl.bad-password
 * (a broker with PLAIN users) and open.server-idle-time-out (a broker with a 1 s idle time-out).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { SERVER_CASES } from '../../src/conformance/server-cases/index.js';
import { runServerSuite, selectCases } from '../../src/conformance/server-suite.js';
import type { CaseStatus, ConformanceResults } from '../../src/conformance/types.js';
import { expectCase, printResults, saveResults } from './support/expect.js';

/** Cases that cannot apply to the default broker, and why. */
const NOT_APPLICABLE: Record<string, string> = {
  // No users configured: PLAIN is not offered (tested below against a broker with users).
  'sasl.bad-password': 'no PLAIN',
  // No idle time-out configured (tested below against a broker with one).
  'open.server-idle-time-out': 'none announced',
};

const brokers: Broker[] = [];
let main: ConformanceResults;
let withUsers: ConformanceResults;
let withIdle: ConformanceResults;

beforeAll(async () => {
  const b = await startBroker({ port: 0, sasl: { anonymous: true } });
  const users = await startBroker({ port: 0, users: { guest: 'guest' } });
  const idle = await startBroker({ port: 0, sasl: { anonymous: true }, idleTimeoutMs: 1000 });
  brokers.push(b, users, idle);
  [main, withUsers, withIdle] = await Promise.all([
    runServerSuite(`amqp://127.0.0.1:${b.port}`, SERVER_CASES),
    runServerSuite(
      `amqp://guest:guest@127.0.0.1:${users.port}`,
      selectCases(SERVER_CASES, ['sasl.bad-password', 'sasl.outcome']),
    ),
    runServerSuite(`amqp://127.0.0.1:${idle.port}`, selectCases(SERVER_CASES, ['open.server-idle-time-out'])),
  ]);
  printResults('amqp-one broker', main);
  await saveResults('server-amqp-one', main);
}, 120_000);

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.close()));
});

describe('conformance: amqp-one broker', () => {
  for (const c of SERVER_CASES) {
    const status: CaseStatus = NOT_APPLICABLE[c.id] ? 'not-applicable' : 'pass';
    it(`${c.id} (${c.section}) is ${status}`, () => expectCase(main, c.id, status));
  }

  it('sasl.bad-password passes against a broker with PLAIN users', () => {
    expectCase(withUsers, 'sasl.outcome', 'pass');
    expectCase(withUsers, 'sasl.bad-password', 'pass');
  });

  // Spec 2.4.5: the announced idle-time-out SHOULD be half the actual threshold, so that a peer
  // sending a frame once per announced period (Proton does) is not cut off. The suite found our
  // engine announcing the whole threshold; it now announces half.
  it('open.server-idle-time-out passes against a broker with an idle time-out of 1 s', () => {
    expectCase(withIdle, 'open.server-idle-time-out', 'pass');
  });
});
