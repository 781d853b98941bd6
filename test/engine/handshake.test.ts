/** Protocol headers (spec 2.2) and SASL (spec 5.3) between two engines and against a script. */
import { describe, expect, test } from 'vitest';
import { AuthenticationError } from '../../src/protocol/errors.js';
import { Connection } from '../../src/connection/connection.js';
import { ProtocolHeaderMismatchError } from '../../src/protocol/framing-errors.js';
import {
  anonymousClient,
  anonymousServer,
  externalClient,
  externalServer,
  plainClient,
  plainServer,
  type SaslClientMechanism,
  type SaslServerMechanism,
} from '../../src/sasl/mechanisms.js';
import { eventsOf, makePair } from './pair.js';
import { OPEN, ScriptedPeer } from './scripted-peer.js';

const saslServer = (...mechanisms: SaslServerMechanism[]) => ({ saslServer: { mechanisms } });

describe('protocol headers', () => {
  test('bare AMQP: both sides send the AMQP header, then open', () => {
    const p = makePair();
    p.client.open();
    p.pump();
    expect(p.toServer.items[0]).toEqual({ kind: 'header', protocolId: 0 });
    expect(p.toClient.items[0]).toEqual({ kind: 'header', protocolId: 0 });
    expect(p.client.isOpen && p.server.isOpen).toBe(true);
  });

  test('a server configured for SASL also accepts bare AMQP (same config)', () => {
    const p = makePair({}, saslServer(anonymousServer()));
    p.client.open();
    p.pump();
    expect(p.server.isOpen).toBe(true);
    expect(p.server.saslIdentity).toBeUndefined();
    const q = makePair({ sasl: anonymousClient() }, saslServer(anonymousServer()));
    q.client.open();
    q.pump();
    expect(q.server.isOpen).toBe(true);
    expect(q.server.saslIdentity).toBe('anonymous');
  });

  test('SASL required: a bare AMQP client gets the SASL header and a typed error', () => {
    const p = makePair({}, { saslServer: { mechanisms: [anonymousServer()], required: true } });
    p.client.open();
    p.pump();
    expect(p.toClient.items[0]).toEqual({ kind: 'header', protocolId: 3 });
    expect(p.toClient.items).toHaveLength(1); // nothing but the header
    expect(p.server.finished).toBe(true);
    expect(p.server.error).toBeInstanceOf(AuthenticationError);
    expect(p.server.error!.code).toBe('AMQP_SASL_REQUIRED');
    // The client sees the SASL header it did not ask for: the server wants SASL.
    expect(p.client.finished).toBe(true);
    expect(p.client.error?.code).toBe('AMQP_SASL_REQUIRED');
  });

  test('a SASL header to a server without SASL: it answers AMQP and finishes', () => {
    const p = makePair({ sasl: anonymousClient() });
    p.client.open();
    p.pump();
    expect(p.toClient.items).toEqual([{ kind: 'header', protocolId: 0 }]);
    expect(p.server.finished).toBe(true);
    expect(p.server.error).toBeInstanceOf(ProtocolHeaderMismatchError);
    expect(p.client.error?.code).toBe('AMQP_HEADER_MISMATCH');
    expect(eventsOf(p.serverEvents, 'transport-done')[0]!.error).toBe(p.server.error);
  });

  test.each([
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['AMQP 0-9-1', Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])],
    ['TLS header', Buffer.from([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0])],
    ['AMQP 1.1', Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 1, 0])],
  ])('%s to a server: its header back, nothing else, typed error', (_name, bytes) => {
    for (const options of [{}, saslServer(anonymousServer())]) {
      const s = new Connection({ ...options, role: 'server' });
      const peer = new ScriptedPeer(s);
      s.open(); // an eager server: its open must still not precede its header
      const out = peer.raw(bytes).send();
      expect(out).toEqual([{ kind: 'header', protocolId: 'saslServer' in options ? 3 : 0 }]);
      expect(s.finished).toBe(true);
      expect(s.error).toBeInstanceOf(ProtocolHeaderMismatchError);
      expect(s.error!.condition).toBe('amqp:connection:framing-error');
    }
  });

  test('an eager server open waits for the client header, then follows its own', () => {
    const s = new Connection({ role: 'server' });
    const peer = new ScriptedPeer(s);
    s.open();
    expect(peer.output()).toEqual([]);
    const out = peer.header().frame(0, OPEN).send();
    expect(out[0]).toEqual({ kind: 'header', protocolId: 0 });
    expect(out[1]).toMatchObject({ rec: { type: 'open', containerId: s.containerId } });
  });
});

describe('SASL', () => {
  test('ANONYMOUS: frames in order, then the AMQP layer', () => {
    const p = makePair({ sasl: anonymousClient('trace') }, saslServer(anonymousServer()));
    p.client.open();
    p.pump();
    const toServer = p.toServer.items.map((i) => (i.kind === 'header' ? `H${i.protocolId}` : i.rec!.type));
    const toClient = p.toClient.items.map((i) => (i.kind === 'header' ? `H${i.protocolId}` : i.rec!.type));
    expect(toServer).toEqual(['H3', 'sasl-init', 'H0', 'open']);
    expect(toClient).toEqual(['H3', 'sasl-mechanisms', 'sasl-outcome', 'H0', 'open']);
    expect(eventsOf(p.serverEvents, 'sasl-done')[0]).toMatchObject({
      mechanism: 'ANONYMOUS',
      identity: 'anonymous',
    });
    expect(eventsOf(p.clientEvents, 'sasl-done')[0]).toMatchObject({ mechanism: 'ANONYMOUS' });
    expect(p.client.isOpen).toBe(true);
  });

  test('the client pipelines header, open, begin and attach right after the outcome', () => {
    const p = makePair({ sasl: anonymousClient() }, saslServer(anonymousServer()));
    p.client.open();
    const s = p.client.beginSession();
    s.openSender({ target: { address: 'q' } });
    p.pump();
    const kinds = p.toServer.items.map((i) => (i.kind === 'header' ? `H${i.protocolId}` : i.rec!.type));
    expect(kinds).toEqual(['H3', 'sasl-init', 'H0', 'open', 'begin', 'attach']);
  });

  const creds = (u: string, pw: string) => u === 'alice' && pw === 'secret';

  test('PLAIN with good credentials', () => {
    let seen: { authzid: string; hostname?: string } | undefined;
    const p = makePair(
      { sasl: plainClient('alice', 'secret'), hostname: 'vhost' },
      saslServer(plainServer((u, pw, ctx) => ((seen = ctx), creds(u, pw)))),
    );
    p.client.open();
    p.pump();
    expect(p.server.saslIdentity).toBe('alice');
    expect(seen).toMatchObject({ authzid: '', hostname: 'vhost' });
    expect(p.client.isOpen).toBe(true);
  });

  test('PLAIN with bad credentials: AuthenticationError AMQP_SASL_AUTH_FAILED on the client', () => {
    const p = makePair({ sasl: plainClient('alice', 'wrong') }, saslServer(plainServer(creds)));
    p.client.open();
    p.pump();
    expect(p.client.finished).toBe(true);
    expect(p.client.error).toBeInstanceOf(AuthenticationError);
    expect(p.client.error!.code).toBe('AMQP_SASL_AUTH_FAILED');
    expect((p.client.error as AuthenticationError).saslCode).toBe(1);
    expect(p.server.finished).toBe(true);
    expect(p.server.error?.code).toBe('AMQP_SASL_AUTH_FAILED');
    expect(p.toServer.records('open')).toHaveLength(0); // the open never left the client
  });

  test('EXTERNAL uses the transport identity', () => {
    const p = makePair(
      { sasl: externalClient() },
      { ...saslServer(externalServer()), externalIdentity: 'CN=dev1' },
    );
    p.client.open();
    p.pump();
    expect(p.server.saslIdentity).toBe('CN=dev1');
    const q = makePair({ sasl: externalClient() }, saslServer(externalServer()));
    q.client.open();
    q.pump();
    expect(q.client.error?.code).toBe('AMQP_SASL_AUTH_FAILED');
    const r = makePair(
      { sasl: externalClient('CN=other') },
      { ...saslServer(externalServer()), externalIdentity: 'CN=dev1' },
    );
    r.client.open();
    r.pump();
    expect(r.client.error?.code).toBe('AMQP_SASL_AUTH_FAILED');
  });

  test('a mechanism the server does not offer', () => {
    const p = makePair({ sasl: plainClient('a', 'b') }, saslServer(anonymousServer()));
    p.client.open();
    p.pump();
    expect(p.client.error).toBeInstanceOf(AuthenticationError);
    expect(p.client.error!.code).toBe('AMQP_SASL_NO_MECHANISM');
    expect(p.client.finished).toBe(true);
    // A client that tries it anyway gets outcome auth (1).
    const s = new Connection({ role: 'server', ...saslServer(anonymousServer()) });
    const peer = new ScriptedPeer(s);
    peer
      .header(3)
      .sasl({ type: 'sasl-init', mechanism: 'PLAIN', initialResponse: Buffer.from('\0a\0b') })
      .send();
    expect(peer.last('sasl-outcome')).toEqual({ type: 'sasl-outcome', code: 1 });
    expect(s.finished).toBe(true);
  });

  test('a custom mechanism with a challenge/response round (the MSSBCBS shape)', () => {
    const client: SaslClientMechanism = {
      name: 'X-CHALLENGE',
      initialResponse: () => Buffer.from('hello'),
      challenge: (c) => Buffer.from(`answer:${c.toString()}`),
    };
    const server: SaslServerMechanism = {
      name: 'X-CHALLENGE',
      start: (r) =>
        r?.toString() === 'hello'
          ? { outcome: 'challenge', challenge: Buffer.from('nonce42') }
          : { outcome: 'fail' },
      response: (r) =>
        r.toString() === 'answer:nonce42'
          ? { outcome: 'ok', identity: 'chal-user' }
          : { outcome: 'fail', code: 1 },
    };
    const p = makePair({ sasl: client }, saslServer(anonymousServer(), server));
    p.client.open();
    p.pump();
    expect(p.toClient.records('sasl-mechanisms')[0]!.saslServerMechanisms).toEqual([
      'ANONYMOUS',
      'X-CHALLENGE',
    ]);
    expect(p.toClient.records('sasl-challenge')[0]!.challenge.toString()).toBe('nonce42');
    expect(p.toServer.records('sasl-response')[0]!.response.toString()).toBe('answer:nonce42');
    expect(p.server.saslIdentity).toBe('chal-user');
    expect(p.client.isOpen).toBe(true);
    // A client mechanism that cannot answer challenges fails cleanly.
    const q = makePair(
      { sasl: { name: 'X-CHALLENGE', initialResponse: () => Buffer.from('hello') } },
      saslServer(server),
    );
    q.client.open();
    q.pump();
    expect(q.client.error?.code).toBe('AMQP_SASL_PROTOCOL');
  });

  test('system errors from the server map to AMQP_SASL_SYS_ERROR', () => {
    const down: SaslServerMechanism = {
      name: 'PLAIN',
      start: () => ({ outcome: 'fail', code: 4, reason: 'busy' }),
    };
    const p = makePair({ sasl: plainClient('a', 'b') }, saslServer(down));
    p.client.open();
    p.pump();
    expect(p.client.error?.code).toBe('AMQP_SASL_SYS_ERROR');
    expect((p.client.error as AuthenticationError).saslCode).toBe(4);
  });

  test('an AMQP frame during SASL, and a SASL frame after it, are refused', () => {
    const s = new Connection({ role: 'server', ...saslServer(anonymousServer()) });
    const peer = new ScriptedPeer(s);
    peer.header(3).frame(0, OPEN).send();
    expect(s.finished).toBe(true);
    expect(s.error?.condition).toBe('amqp:not-allowed');
    const t = new Connection({ role: 'server' });
    const p2 = new ScriptedPeer(t);
    p2.header(0).frame(0, OPEN).sasl({ type: 'sasl-init', mechanism: 'ANONYMOUS' }).send();
    expect(p2.closeCondition).toBe('amqp:not-allowed');
  });
});

describe('closing while frames are held', () => {
  test('close during SASL: open and close still go out after the outcome', () => {
    const p = makePair({ sasl: anonymousClient() }, saslServer(anonymousServer()));
    p.client.open();
    p.client.beginSession();
    p.client.close({ condition: 'amqp:connection:forced', description: 'changed my mind' });
    p.pump();
    expect(p.toServer.records().map((r) => r.type)).toEqual(['sasl-init', 'open', 'begin', 'close']);
    expect(p.server.error).toMatchObject({ condition: 'amqp:connection:forced', remote: true });
    expect(p.client.finished && p.server.finished).toBe(true);
  });

  test('close while a large frame waits for the peer open', () => {
    const p = makePair();
    p.client.open();
    p.client.beginSession().openSender({ target: { address: 'q' }, properties: { big: 'x'.repeat(1000) } });
    p.client.close();
    p.pump();
    expect(p.toServer.records().map((r) => r.type)).toEqual(['open', 'begin', 'attach', 'close']);
    expect(p.client.finished && p.server.finished).toBe(true);
  });
});
