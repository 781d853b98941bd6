/**
 * Server cases for the protocol header exchange (part 2, 2.2: version negotiation) and SASL
 * (part 5, 5.3.2 to 5.3.3.5: SASL header, mechanisms, outcome).
 */
import { isFrame, isHeader } from '../raw-peer.js';
import type { ServerCase } from '../server-suite.js';
import { fail, failNow, notApplicable, notApplicableNow, pass } from '../types.js';

export const headerAmqp: ServerCase = {
  id: 'header.amqp',
  section: '2.2',
  title: 'The AMQP header is answered with a protocol header (AMQP, or SASL and close)',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(0);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (!h) return fail(peer.isClosed ? 'closed the socket without a protocol header' : 'no protocol header');
    if (h.protocolId === 0) {
      const o = await ctx.script(peer).open();
      return pass(`answered with the AMQP header, then open (container-id ${o.containerId})`);
    }
    if (h.protocolId === 3) {
      const closed = await peer.waitClosed(ctx.timeoutMs);
      return closed
        ? pass('answered with the SASL header and closed the socket: SASL is required')
        : fail(
            'answered with the SASL header but did not close the socket: 2.2 requires a close after answering a header other than the one asked for',
          );
    }
    return fail(`answered with an invalid header ${h.bytes.toString('hex')}`);
  },
};

export const headerSasl: ServerCase = {
  id: 'header.sasl',
  section: '5.3.2',
  title: 'The SASL header is answered with the SASL header and sasl-mechanisms',
  async run(ctx) {
    const peer = await ctx.socket();
    peer.header(3);
    const h = await peer.take(isHeader, ctx.timeoutMs);
    if (!h) return fail(peer.isClosed ? 'closed the socket without a protocol header' : 'no protocol header');
    if (h.protocolId === 0)
      return notApplicable('the server does not speak SASL (answered with the AMQP header)');
    if (h.protocolId !== 3) return fail(`answered with ${h.bytes.toString('hex')}`);
    const m = await peer.take(isFrame('sasl-mechanisms'), ctx.timeoutMs);
    if (!m) return fail('no sasl-mechanisms frame after the SASL header');
    const mechs = m.rec.saslServerMechanisms.map(String);
    if (mechs.length === 0) return fail('sasl-mechanisms offers no mechanism (5.3.3.1: one or more)');
    return pass(`offers ${mechs.join(', ')}`);
  },
};

export const saslOutcome: ServerCase = {
  id: 'sasl.outcome',
  section: '5.3.2',
  title: 'A SASL exchange ends with sasl-outcome ok, then the AMQP header',
  async run(ctx) {
    if (!ctx.sasl) return notApplicable('the server does not speak SASL');
    const c = ctx.script(await ctx.socket());
    await c.sasl();
    await c.amqpHeader();
    const o = await c.open();
    return pass(`${c.mechanism} accepted; AMQP header and open followed (container-id ${o.containerId})`);
  },
};

export const saslBadPassword: ServerCase = {
  id: 'sasl.bad-password',
  section: '5.3.3.5',
  title: 'PLAIN with a wrong password gets sasl-outcome auth (1)',
  async run(ctx) {
    const { peer, mechanisms } = await saslMechanisms(ctx);
    if (!mechanisms.includes('PLAIN')) return notApplicable('the server does not offer PLAIN');
    const user = ctx.username ?? 'guest';
    peer.frame(0, {
      type: 'sasl-init',
      mechanism: 'PLAIN',
      initialResponse: Buffer.from(`\0${user}\0amqp-one-conformance-wrong-password`),
    });
    // Some servers delay a failure on purpose (RabbitMQ: a few seconds).
    const o = await peer.take(isFrame('sasl-outcome'), Math.max(ctx.timeoutMs, ctx.maxWaitMs));
    if (!o)
      return fail(
        peer.isClosed ? 'closed the socket without a sasl-outcome' : 'no sasl-outcome for a wrong password',
      );
    if (o.rec.code === 0)
      return notApplicable('the server accepts any password (outcome ok): nothing to check');
    if (o.rec.code === 1) return pass('sasl-outcome code 1 (auth)');
    return fail(
      `sasl-outcome code ${o.rec.code}, not 1 (auth: "authentication failed due to ... the supplied credentials")`,
    );
  },
};

export const saslUnknownMechanism: ServerCase = {
  id: 'sasl.unknown-mechanism',
  section: '5.3.3.5',
  title: 'sasl-init with a mechanism never offered gets a failing sasl-outcome',
  async run(ctx) {
    const { peer } = await saslMechanisms(ctx);
    peer.frame(0, {
      type: 'sasl-init',
      mechanism: 'X-AMQP-ONE-NO-SUCH-MECHANISM',
      initialResponse: Buffer.from('x'),
    });
    const o = await peer.take(isFrame('sasl-outcome'), Math.max(ctx.timeoutMs, ctx.maxWaitMs));
    if (!o) return fail(peer.isClosed ? 'closed the socket without a sasl-outcome' : 'no sasl-outcome');
    if (o.rec.code === 0) return fail('sasl-outcome ok for a mechanism it never offered');
    return pass(`sasl-outcome code ${o.rec.code}`);
  },
};

/**
 * Opens a socket with the SASL header and reads the server's mechanisms: the first steps of every
 * SASL outcome case. Ends the case as not applicable without SASL, as failed without mechanisms.
 */
async function saslMechanisms(ctx: Parameters<ServerCase['run']>[0]) {
  const peer = await ctx.socket();
  peer.header(3);
  const h = await peer.take(isHeader, ctx.timeoutMs);
  if (h?.protocolId !== 3) notApplicableNow('the server does not speak SASL');
  const m = await peer.take(isFrame('sasl-mechanisms'), ctx.timeoutMs);
  if (!m) failNow('no sasl-mechanisms frame');
  return { peer, mechanisms: m.rec.saslServerMechanisms.map(String) };
}

function badHeaderCase(id: string, title: string, bytes: number[]): ServerCase {
  return {
    id,
    section: '2.2',
    title,
    async run(ctx) {
      const peer = await ctx.socket();
      peer.header(Buffer.from(bytes));
      const h = await peer.take(isHeader, ctx.timeoutMs);
      const rule =
        '2.2: the server MUST send a protocol header with a supported version, then close the socket';
      if (!h) {
        return fail(
          peer.isClosed
            ? `closed the socket without sending a protocol header (${rule})`
            : `no answer (${rule})`,
        );
      }
      // Any version the server supports will do, 1.0.0 or another protocol's (AMQP 0-9-1, say).
      if (h.bytes.length !== 8 || h.bytes.subarray(0, 4).toString('latin1') !== 'AMQP') {
        return fail(`answered with ${h.bytes.toString('hex')}, which is not a protocol header (${rule})`);
      }
      const version = describeVersion(h.bytes);
      const closed = await peer.waitClosed(ctx.timeoutMs);
      if (!closed) return fail(`answered with ${version} but did not close the socket (${rule})`);
      return pass(`answered with ${version} and closed the socket`);
    },
  };
}

/** "AMQP 1.0.0 (id 3)" or "AMQP 0-9-1" for an 8-byte header. */
function describeVersion(b: Buffer): string {
  if (b[4] === 0 && b[5] === 0 && b[6] === 9 && b[7] === 1) return 'the AMQP 0-9-1 header (414d515000000901)';
  return `the header ${b.toString('hex')} (protocol id ${b[4]}, version ${b[5]}.${b[6]}.${b[7]})`;
}

export const headerBadVersion = badHeaderCase(
  'header.bad-version',
  'An unsupported version (AMQP 0 1.1.0) is answered with a supported header, then close',
  [0x41, 0x4d, 0x51, 0x50, 0, 1, 1, 0],
);

export const headerBadProtocol = badHeaderCase(
  'header.bad-protocol-id',
  'An unknown protocol id (AMQP 9 1.0.0) is answered with a supported header, then close',
  [0x41, 0x4d, 0x51, 0x50, 9, 1, 0, 0],
);
