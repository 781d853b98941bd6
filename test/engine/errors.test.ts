/** A peer's close, end and detach with an error become typed errors (spec 2.8.14-2.8.18). */
import { describe, expect, test } from 'vitest';
import { ConnectionError, LinkError, RedirectError, SessionError } from '../../src/protocol/errors.js';
import { eventsOf, linkedPair, makePair } from './pair.js';

const info = { 'x-detail': 'why', count: 3 };

describe('remote errors', () => {
  test('close with an error: ConnectionError with condition, description, info, code', () => {
    const p = makePair();
    p.client.open();
    p.pump();
    p.server.close({ condition: 'amqp:connection:forced', description: 'shutting down', info });
    p.pump();
    const e = p.client.error as ConnectionError;
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).toMatchObject({
      code: 'AMQP_CONNECTION_FORCED',
      condition: 'amqp:connection:forced',
      description: 'shutting down',
      remote: true,
    });
    expect(e.info).toEqual(info);
    expect(eventsOf(p.clientEvents, 'connection-closed')[0]!.error).toBe(e);
    expect(p.client.finished && p.server.finished).toBe(true);
    expect(p.toServer.records('close')).toEqual([{ type: 'close' }]); // the answer carries no error
    expect(p.server.error).toMatchObject({ remote: false, code: 'AMQP_CONNECTION_FORCED' });
  });

  test('end with an error: SessionError; its links close with it', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.server.allSessions[0]!.end({
      condition: 'amqp:resource-limit-exceeded',
      description: 'too many',
      info,
    });
    p.pump();
    const e = p.session.error!;
    expect(e).toBeInstanceOf(SessionError);
    expect(e).toMatchObject({
      code: 'AMQP_RESOURCE_LIMIT_EXCEEDED',
      condition: 'amqp:resource-limit-exceeded',
      description: 'too many',
      info,
    });
    expect(eventsOf(p.clientEvents, 'session-closed')[0]!.session).toBe(p.session);
    expect(eventsOf(p.clientEvents, 'link-closed')[0]!.link).toBe(p.link);
    expect(p.link.error).toBe(e);
    expect(p.toServer.records('end')).toEqual([{ type: 'end' }]);
    expect(p.client.isOpen).toBe(true);
  });

  test('detach with an error: LinkError', () => {
    const p = linkedPair('receiver', { source: { address: 'q' } });
    p.peer.detach({ error: { condition: 'amqp:link:stolen', description: 'another receiver', info } });
    p.pump();
    expect(p.link.error).toBeInstanceOf(LinkError);
    expect(p.link.error).toMatchObject({
      code: 'AMQP_LINK_STOLEN',
      condition: 'amqp:link:stolen',
      description: 'another receiver',
      info,
      remote: true,
    });
    expect(p.session.isOpen).toBe(true);
  });

  test('connection redirect: RedirectError with hostname, network-host, port', () => {
    const p = makePair({}, {}, (e, server) => {
      if (e.type === 'connection-remote-open') {
        server.close({
          condition: 'amqp:connection:redirect',
          description: 'go elsewhere',
          info: { hostname: 'hub2.example', 'network-host': '10.0.0.7', port: 5671 },
        });
      }
    });
    p.client.open();
    p.pump();
    const e = p.client.error as RedirectError;
    expect(e).toBeInstanceOf(RedirectError);
    expect(e).toMatchObject({
      code: 'AMQP_CONNECTION_REDIRECT',
      hostname: 'hub2.example',
      networkHost: '10.0.0.7',
      port: 5671,
    });
  });

  test('link redirect: RedirectError with address', () => {
    const p = linkedPair('sender', { target: { address: 'q' } });
    p.peer.detach({
      error: {
        condition: 'amqp:link:redirect',
        info: { hostname: 'h', 'network-host': 'n.example', port: 5672, address: 'amqps://n.example/q2' },
      },
    });
    p.pump();
    const e = p.link.error as RedirectError;
    expect(e).toBeInstanceOf(RedirectError);
    expect(e).toMatchObject({
      code: 'AMQP_LINK_REDIRECT',
      hostname: 'h',
      networkHost: 'n.example',
      port: 5672,
      address: 'amqps://n.example/q2',
    });
  });

  test('our own close with an error is remote=false and reaches the peer', () => {
    const p = makePair();
    p.client.open();
    p.pump();
    p.client.close({ condition: 'amqp:internal-error', description: 'oops' });
    p.pump();
    expect(p.client.error).toMatchObject({ remote: false, code: 'AMQP_INTERNAL_ERROR' });
    expect(p.server.error).toMatchObject({ remote: true, code: 'AMQP_INTERNAL_ERROR', description: 'oops' });
    expect(eventsOf(p.serverEvents, 'transport-done')).toHaveLength(1);
  });

  test('a close that is never answered times out', () => {
    const p = makePair({ closeTimeoutMs: 2000 });
    p.client.open();
    p.pump();
    p.client.close();
    p.client.takeOutput(); // the server never sees it
    expect(p.client.tick(p.now + 1999)).toBe(p.now + 2000);
    expect(p.client.finished).toBe(false);
    p.client.tick(p.now + 2000);
    expect(p.client.finished).toBe(true);
  });

  test('nothing follows our close, not even a heartbeat', () => {
    const p = makePair({}, { idleTimeoutMs: 100 });
    p.client.open();
    const s = p.client.beginSession();
    const r = s.openReceiver({ source: { address: 'q' } });
    p.pump();
    p.client.close();
    r.setCredit(10);
    p.client.tick(p.now + 1000);
    // The application keeps calling the API after close: none of it reaches the wire.
    s.openSender({ target: { address: 'late' } });
    r.detach();
    s.end();
    p.client.beginSession();
    const out = p.toServer.feed(p.client.takeOutput()!);
    expect(out.map((i) => (i.kind === 'frame' ? (i.rec?.type ?? 'empty') : 'H'))).toEqual(['close']);
  });
});
