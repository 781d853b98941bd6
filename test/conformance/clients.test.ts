/**
 * Server mode (`amqp-one conformance --listen`): our client, rhea's client and Qpid Proton's
 * (Python) client each connect three times to a conformance server: once to send 3 messages of
 * 2000 bytes, once to receive 3 messages, once to be closed with an error.
 *
 * Our client must pass every applicable case. For the others the statuses are recorded here, so
 * that a change shows; every failure is explained with the spec section it breaks.
 */
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { ClientScript, dataMessage, patterned } from '../../src/conformance/client-script.js';
import { CLIENT_CASES, ConformanceServer } from '../../src/conformance/client-suite.js';
import { RawPeer } from '../../src/conformance/raw-peer.js';
import { TraceLog } from '../../src/conformance/trace.js';
import { openSocket } from '../../src/transport/open-socket.js';
import { ConnectionError } from '../../src/protocol/errors.js';
import type { CaseStatus, ConformanceResults } from '../../src/conformance/types.js';
import { runProtonClient } from '../interop/support/peers.js';
import { expectCase, printResults, saveResults } from './support/expect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

const BODY = 'x'.repeat(2000);

/** Runs the connections of `drive` against a fresh conformance server; returns its results. */
async function observe(
  drive: (port: number) => Promise<void>,
  scenarios?: ('observe' | 'close-error')[],
): Promise<ConformanceResults> {
  const server = await new ConformanceServer({ port: 0, waitMs: 60_000, scenarios }).start();
  try {
    await drive(server.port);
    return await server.results();
  } finally {
    await server.close();
  }
}

async function ours(port: number): Promise<void> {
  const url = `amqp://127.0.0.1:${port}`;
  {
    const c = await connect(url);
    const s = await c.openSender('conformance-q');
    await Promise.all([1, 2, 3].map(() => s.send({ body: BODY })));
    await c.close();
  }
  {
    const c = await connect(url);
    const r = await c.openReceiver({ address: 'conformance-q', credit: 3 });
    for (let i = 0; i < 3; i++) {
      const m = await r.receive({ timeoutMs: 10_000 });
      m?.accept();
    }
    await c.close();
  }
  {
    // The server closes with amqp:connection:forced right after its open. The close reaches us
    // with the open (connect rejects) or just after it (the connection closes): the same error.
    ourCloseError = await connect(url).then(
      (c) => new Promise<unknown>((resolve) => c.once('close', resolve)),
      (e: unknown) => e,
    );
  }
}

/** What our client got from the server's close (the close-error scenario). */
let ourCloseError: unknown;

/** rhea's client: resolves when `done(connection)` says so, or the connection goes away. */
function rheaConnection(port: number, setup: (conn: Any, done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const container = rhea.create_container({ id: 'rhea-conformance-client' });
    const conn = container.connect({ host: '127.0.0.1', port, reconnect: false });
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      resolve();
    };
    conn.on('connection_close', done);
    conn.on('disconnected', done);
    conn.on('connection_error', () => undefined);
    conn.on('error', () => undefined);
    setup(conn, () => {
      conn.close();
    });
  });
}

async function rheaClient(port: number): Promise<void> {
  await rheaConnection(port, (conn, close) => {
    const sender = conn.open_sender('conformance-q');
    let sent = 0;
    let accepted = 0;
    sender.on('sendable', () => {
      while (sender.sendable() && sent < 3) {
        sender.send({ body: BODY });
        sent++;
      }
    });
    sender.on('accepted', () => {
      if (++accepted === 3) close();
    });
  });
  await rheaConnection(port, (conn, close) => {
    const receiver = conn.open_receiver({ source: 'conformance-q', credit_window: 3 });
    let received = 0;
    receiver.on('message', () => {
      if (++received === 3) close();
    });
  });
  await rheaConnection(port, () => undefined);
}

async function protonClient(port: number): Promise<void> {
  const url = `amqp://127.0.0.1:${port}`;
  await runProtonClient('send', { url, address: 'conformance-q', count: 3, body: BODY, timeoutMs: 20_000 });
  await runProtonClient('recv', { url, address: 'conformance-q', count: 3, timeoutMs: 20_000 });
  await runProtonClient('probe', { url, address: 'conformance-q', timeoutMs: 5_000 });
}

/**
 * A client that breaks the rules on purpose (a frame-level script): it sends three 1000-byte
 * messages at once, each in one frame, without credit and past the session window and the
 * max-frame-size, then drops the socket without close. The cases must catch each of these.
 */
async function rudeClient(port: number): Promise<void> {
  const peer = new RawPeer(await openSocket({ host: '127.0.0.1', port }), new TraceLog(), {
    role: 'client',
    conn: 1,
  });
  const c = new ClientScript(peer, { timeoutMs: 5000 });
  await c.amqpHeader();
  await c.open();
  const s = await c.begin(0);
  const l = await c.attach(s, { role: 'sender', address: 'conformance-q' });
  for (let i = 0; i < 3; i++) {
    c.transferFrame(
      l,
      { deliveryId: i, deliveryTag: Buffer.from([i]), messageFormat: 0 },
      dataMessage(patterned(1000)),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  peer.destroy();
}

/** Every case passes or does not apply, except where `failures` says. */
function expected(failures: Record<string, CaseStatus> = {}, na: string[] = []): Record<string, CaseStatus> {
  const e: Record<string, CaseStatus> = {};
  for (const c of CLIENT_CASES) e[c.id] = failures[c.id] ?? (na.includes(c.id) ? 'not-applicable' : 'pass');
  return e;
}

const IMPLEMENTATIONS: {
  name: string;
  drive: (port: number) => Promise<void>;
  scenarios?: ('observe' | 'close-error')[];
  expect: Record<string, CaseStatus>;
}[] = [
  { name: 'amqp-one', drive: ours, expect: expected() },
  // rhea's client does not use SASL unless given credentials or a mechanism.
  { name: 'rhea', drive: rheaClient, expect: expected({}, ['client.sasl']) },
  { name: 'proton-python', drive: protonClient, expect: expected() },
  {
    name: 'rule-breaking script',
    drive: rudeClient,
    scenarios: ['observe'],
    expect: expected(
      {
        'client.max-frame-size': 'fail', // 2.7.1: frames of ~1040 bytes over our 512
        'client.session-window': 'fail', // 2.5.6: three transfer frames into a window of one
        'client.link-credit': 'fail', // 2.6.7: messages with no credit granted
        'client.close': 'fail', // 2.4.3: the socket dropped without close
      },
      ['client.sasl', 'client.idle-time-out', 'client.settlement', 'client.close-answer'],
    ),
  },
];

const results = new Map<string, ConformanceResults>();

beforeAll(async () => {
  // The three clients in parallel, each against its own conformance server.
  await Promise.all(
    IMPLEMENTATIONS.map(async (impl) => {
      const r = await observe(impl.drive, impl.scenarios);
      results.set(impl.name, r);
      printResults(`client ${impl.name}`, r);
      await saveResults(`client-${impl.name}`, r);
    }),
  );
}, 120_000);

describe('conformance --listen: the amqp-one client', () => {
  it("reports the server's close as a ConnectionError with its condition", () => {
    expect(ourCloseError).toBeInstanceOf(ConnectionError);
    expect(ourCloseError).toMatchObject({ condition: 'amqp:connection:forced', remote: true });
  });
});

for (const impl of IMPLEMENTATIONS) {
  describe(`conformance --listen: the ${impl.name} client`, () => {
    for (const c of CLIENT_CASES) {
      it(`${c.id} (${c.section}) is ${impl.expect[c.id]}`, () => {
        expectCase(results.get(impl.name)!, c.id, impl.expect[c.id]);
      });
    }
  });
}
