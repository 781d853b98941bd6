/**
 * `amqp-one conformance` against the Qpid Proton Python example broker (Debian's
 * python3-qpid-proton 0.37, /usr/share/proton/examples/python/broker.py). The statuses are recorded
 * so that a change shows; each failure names the rule it breaks.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SERVER_CASES } from '../../src/conformance/server-cases/index.js';
import { runServerSuite } from '../../src/conformance/server-suite.js';
import type { ConformanceResults } from '../../src/conformance/types.js';
import { startProtonPythonBroker, type Peer } from '../interop/support/peers.js';
import { expectCase, expectedStatuses, printResults, saveResults } from './support/expect.js';

const EXPECTED = expectedStatuses(
  SERVER_CASES.map((c) => c.id),
  {
    // ANONYMOUS only, no idle-time-out of its own.
    'sasl.bad-password': 'not-applicable',
    'open.server-idle-time-out': 'not-applicable',
    // 2.6.7: a sender asked to drain sends what it has, then advances its delivery-count to use up
    // the credit and sends its flow state; the example broker never calls drained(), so no flow
    // comes back.
    'link.drain-empty': 'fail',
    'link.drain-partial': 'fail',
    // 2.7.4: a flow with echo=true SHOULD be answered with the link state; it is not.
    'link.flow-echo': 'fail',
    // Its senders answer snd-settle-mode mixed whatever the receiver asks (2.7.3 allows it).
    'settle.presettled-receive': 'not-applicable',
    // 3.4.4: a released message "has been made available for (re-)delivery"; the example broker
    // drops it (its queue logic never puts it back).
    'settle.released': 'fail',
    // 3.4.5: a modified message (delivery-failed) must come back with its delivery-count
    // incremented; the example broker drops it, as it does released ones.
    'settle.modified': 'fail',
    // Its receivers answer rcv-settle-mode first (2.7.3 allows it).
    'settle.rcv-second': 'not-applicable',
    // 2.8.17 unattached-handle: Proton closes the connection with amqp:invalid-field instead.
    'illegal.unattached-handle': 'fail',
    // 2.8.17 handle-in-use: Proton answers a second attach on handle 0 as a new link.
    'illegal.handle-in-use': 'fail',
    // Handle-max 4294967295 (none announced): no handle is out of range.
    'illegal.handle-max-exceeded': 'not-applicable',
    // Incoming-window 2147483647 and no max-frame-size: neither can be exceeded here.
    'illegal.window-violation': 'not-applicable',
    'illegal.oversized-frame': 'not-applicable',
    // 2.8.15 decode-error: a flow whose list runs past its frame is silently ignored.
    'illegal.malformed-encoding': 'fail',
  },
);

let broker: Peer;
let results: ConformanceResults;

beforeAll(async () => {
  broker = await startProtonPythonBroker();
  results = await runServerSuite(broker.url, SERVER_CASES);
  printResults('proton-python broker', results);
  await saveResults('server-proton-python', results);
  if (!broker.running()) throw new Error(`the Proton broker died during the run:\n${broker.logs()}`);
}, 120_000);

afterAll(async () => {
  await broker?.stop();
});

describe('conformance: Qpid Proton Python example broker', () => {
  for (const c of SERVER_CASES) {
    it(`${c.id} (${c.section}) is ${EXPECTED[c.id]}`, () => expectCase(results, c.id, EXPECTED[c.id]));
  }
});
