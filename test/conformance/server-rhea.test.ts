/**
 * `amqp-one conformance` against rhea 3.0.5 as a server: a rhea container with a small queue
 * handler (support/rhea-broker.ts; rhea has no broker of its own). The statuses are recorded so
 * that a change shows; each failure names the rule it breaks.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SERVER_CASES } from '../../src/conformance/server-cases/index.js';
import { runServerSuite } from '../../src/conformance/server-suite.js';
import type { ConformanceResults } from '../../src/conformance/types.js';
import { expectCase, expectedStatuses, printResults, saveResults } from './support/expect.js';
import { RheaBroker } from './support/rhea-broker.js';

const EXPECTED = expectedStatuses(
  SERVER_CASES.map((c) => c.id),
  {
    // 2.2: an unsupported header MUST be answered with a supported one before the socket closes;
    // rhea closes the socket without writing any header (ProtocolError on read).
    'header.bad-version': 'fail',
    'header.bad-protocol-id': 'fail',
    // rhea announces no channel-max and no max-frame-size, and no idle-time-out of its own.
    'open.channel-max-exceeded': 'not-applicable',
    'open.server-idle-time-out': 'not-applicable',
    // 2.7.4: a flow with echo=true SHOULD be answered with the receiver's link state; rhea ignores it.
    'link.flow-echo': 'fail',
    // 2.6.14 / 2.7.5: an aborted delivery is discarded; rhea hands the half message to its decoder,
    // fails, and drops the connection without a close frame.
    'transfer.aborted': 'fail',
    // 3.4.5: "If the delivery-failed flag is set, any messages modified MUST have their
    // delivery-count incremented"; rhea's senders report modified as released by default
    // (treat_modified_as_released), so the message comes back with delivery-count 0.
    'settle.modified': 'fail',
    // Our rhea receivers answer rcv-settle-mode first (rhea's default), as 2.7.3 allows.
    'settle.rcv-second': 'not-applicable',
    // 2.8.17 unattached-handle: a transfer on a handle that is not attached is that session error;
    // rhea drops the socket without an end or close.
    'illegal.unattached-handle': 'fail',
    // 2.8.17 handle-in-use: rhea accepts a second attach on handle 0 and answers it as a new link.
    'illegal.handle-in-use': 'fail',
    // 2.5.6: rhea announces incoming-window 2048 but does not enforce it (no window-violation).
    'illegal.window-violation': 'fail',
    // Handle-max 4294967295 (none announced): no handle is out of range.
    'illegal.handle-max-exceeded': 'not-applicable',
    // No max-frame-size announced: nothing is oversized.
    'illegal.oversized-frame': 'not-applicable',
    // 2.8.15 decode-error / 2.8.16 framing-error: rhea drops the socket without a close frame.
    'illegal.malformed-encoding': 'fail',
    'illegal.bad-doff': 'fail',
  },
);

let broker: RheaBroker;
let results: ConformanceResults;

beforeAll(async () => {
  broker = new RheaBroker();
  const port = await broker.listen();
  results = await runServerSuite(`amqp://guest:guest@127.0.0.1:${port}`, SERVER_CASES);
  printResults('rhea', results);
  await saveResults('server-rhea', results);
}, 120_000);

afterAll(async () => {
  await broker?.close();
});

describe('conformance: rhea server', () => {
  for (const c of SERVER_CASES) {
    it(`${c.id} (${c.section}) is ${EXPECTED[c.id]}`, () => expectCase(results, c.id, EXPECTED[c.id]));
  }
});
