/**
 * `amqp-one conformance` against RabbitMQ 3.10 with the rabbitmq_amqp1_0 plugin (one private node
 * for the file, SASL PLAIN guest/guest, queues as /queue/NAME). The statuses are recorded so that a
 * change shows; each failure names the rule it breaks.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SERVER_CASES } from '../../src/conformance/server-cases/index.js';
import { runServerSuite } from '../../src/conformance/server-suite.js';
import type { ConformanceResults } from '../../src/conformance/types.js';
import { startRabbitMQ, type RabbitMQPeer } from '../interop/support/peers.js';
import { expectCase, expectedStatuses, printResults, saveResults } from './support/expect.js';

const EXPECTED = expectedStatuses(
  SERVER_CASES.map((c) => c.id),
  {
    // 5.3.2: the SASL exchange ends with a sasl-outcome; for a mechanism it never offered,
    // RabbitMQ closes the socket without one.
    'sasl.unknown-mechanism': 'fail',
    // Channel-max 65535 (any channel is fine); idle-time-out 60 s, too long to wait out here.
    'open.channel-max-exceeded': 'not-applicable',
    'open.server-idle-time-out': 'not-applicable',
    // 2.6.7 (drain: the sender MUST advance the delivery-count and send its flow): RabbitMQ 3.10
    // ends the session with amqp:internal-error (function_clause in send_drained, rabbitmq-server
    // issue #7119, fixed in later versions).
    'link.drain-empty': 'fail',
    'link.drain-partial': 'fail',
    // 2.6.6: the partner of a closing detach (closed=true) destroys its end of the link and
    // answers with a detach with closed=true; RabbitMQ answers closed=false.
    'link.detach-closed': 'fail',
    // 2.6.14 / 2.7.5: an aborted delivery is discarded; RabbitMQ ends the session with
    // amqp:internal-error ("Unexpected frame").
    'transfer.aborted': 'fail',
    // Its sources offer accepted, rejected and released only (3.5.3 outcomes): no modified.
    'settle.modified': 'not-applicable',
    // RabbitMQ ends the session with amqp:not-implemented (rcv-settle-mode second not supported).
    'settle.rcv-second': 'not-applicable',
    // 2.8.17 unattached-handle: RabbitMQ ends the session with amqp:illegal-state instead.
    'illegal.unattached-handle': 'fail',
    // 2.8.17 handle-in-use: no answer to a second attach on handle 0.
    'illegal.handle-in-use': 'fail',
    // It re-opens its incoming-window as it reads: it cannot be overrun from here.
    'illegal.window-violation': 'not-applicable',
    // Handle-max 4294967295 (none announced): no handle is out of range.
    'illegal.handle-max-exceeded': 'not-applicable',
    // No max-frame-size announced: nothing is oversized.
    'illegal.oversized-frame': 'not-applicable',
    // 2.8.15: data that cannot be decoded is amqp:decode-error; RabbitMQ closes with
    // amqp:internal-error.
    'illegal.malformed-encoding': 'fail',
    // 2.3.1 / 2.8.16: a malformed frame header is amqp:connection:framing-error; RabbitMQ drops the
    // socket without a close frame.
    'illegal.bad-doff': 'fail',
  },
);

let rabbit: RabbitMQPeer;
let results: ConformanceResults;

beforeAll(async () => {
  rabbit = await startRabbitMQ();
  results = await runServerSuite(`amqp://guest:guest@127.0.0.1:${rabbit.port}`, SERVER_CASES, {
    addressPrefix: '/queue/',
  });
  printResults('rabbitmq', results);
  await saveResults('server-rabbitmq', results);
}, 150_000);

afterAll(async () => {
  await rabbit?.stop();
}, 60_000);

describe('conformance: RabbitMQ 3.10 (rabbitmq_amqp1_0)', () => {
  for (const c of SERVER_CASES) {
    it(`${c.id} (${c.section}) is ${EXPECTED[c.id]}`, () => expectCase(results, c.id, EXPECTED[c.id]));
  }
});
