/** Engine bugs found by the interop tests, kept as regression tests. */
import { expect, it } from 'vitest';
import { eventsOf, makePair } from '../engine/pair.js';

// src/session/session.ts: openSender()/openReceiver() on a session that has ended (here: the peer
// ended it with an error, as RabbitMQ 3.10 does to refuse rcv-settle-mode second) create a link
// whose attach is never written (Session.write drops everything after our end) and mark it
// local 'attached'; no event ever follows, so whoever waits for the attach reply waits for ever.
// Expected: a typed error at once (or the link closed with the session's error).
it('a link opened on an ended session fails at once instead of waiting for ever', { timeout: 5000 }, () => {
  const p = makePair();
  p.client.open();
  const session = p.client.beginSession();
  p.pump();
  p.server.allSessions[0]!.end({ condition: 'amqp:not-implemented', description: 'no thanks' });
  p.pump();
  expect(session.remote).toBe('detached');
  let link: ReturnType<typeof session.openSender> | undefined;
  let error: unknown;
  try {
    link = session.openSender({ target: { address: 'q' } });
  } catch (e) {
    error = e;
  }
  p.pump();
  const closed = link ? eventsOf(p.clientEvents, 'link-closed').some((e) => e.link === link) : false;
  expect(error !== undefined || closed).toBe(true);
});
