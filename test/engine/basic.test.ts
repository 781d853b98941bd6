import { describe, expect, test } from 'vitest';
import { encodeMessage, decodeMessage } from '../../src/codec/index.js';
import type { Receiver } from '../../src/link/receiver.js';
import { makePair } from './pair.js';

describe('engine pair', () => {
  test('open, begin, attach, transfer, accept, close', () => {
    const p = makePair();
    p.client.open();
    const s = p.client.beginSession();
    const snd = s.openSender({ target: { address: 'q1' } });
    p.pump();
    expect(p.client.isOpen).toBe(true);
    expect(snd.isOpen).toBe(true);
    const srvLink = p.server.allSessions[0]!.allLinks[0] as Receiver;
    srvLink.setCredit(10);
    p.pump();
    expect(snd.linkCredit).toBe(10);
    const d = snd.send(encodeMessage({ body: Buffer.from('hi') }));
    p.pump();
    const got = p.serverEvents.filter((e) => e.type === 'delivery');
    expect(got).toHaveLength(1);
    const del = (got[0] as { delivery: import('../../src/link/delivery.js').Delivery }).delivery;
    expect(decodeMessage(del.payload).body).toEqual(Buffer.from('hi'));
    srvLink.settle(del);
    p.pump();
    expect(d.remoteState).toEqual({ type: 'accepted' });
    expect(d.remoteSettled).toBe(true);
    p.client.close();
    p.pump();
    expect(p.client.finished).toBe(true);
    expect(p.server.finished).toBe(true);
  });
});
