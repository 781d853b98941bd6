/**
 * Server cases for sessions (2.5): begin and end (2.5.1, 2.5.2) and the session flow-control
 * window (2.5.6).
 */
import { Condition } from '../../protocol/conditions.js';
import { describeError } from '../client-script.js';
import type { ServerCase } from '../server-suite.js';
import { fail, pass } from '../types.js';
import { QUIET_MS, receiver, sleep, texts } from './helpers.js';

export const sessionBeginEnd: ServerCase = {
  id: 'session.begin-end',
  section: '2.5.1',
  title: 'Begin is answered with begin (remote-channel set); end with end',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const b = s.remoteBegin!;
    const e = await c.end(s);
    if (!e) return fail(`no end in answer to ours${c.errorSummary()}`);
    if (e.error) return fail(`answered our end with an error: ${describeError(e.error)}`);
    return pass(
      `begin on channel ${s.remoteChannel} (incoming-window ${b.incomingWindow}, outgoing-window ${b.outgoingWindow}), end answered`,
    );
  },
};

export const sessionIncomingWindow: ServerCase = {
  id: 'session.incoming-window',
  section: '2.5.6',
  title: 'Our session incoming-window 2 is never exceeded; widening it lets transfers resume',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const n = 5;
    const window = 2;
    await c.fill(s, address, texts(n, 'w'));
    const s1 = await c.begin(1, { incomingWindow: window });
    const r = await receiver(c, s1, address);
    let limit = window;
    let overrun = 0;
    c.peer.onItem(() => {
      if (s1.transfersIn > limit) overrun = Math.max(overrun, s1.transfersIn - limit);
    });
    c.flow(r, { credit: n });
    for (let round = 0; round < n + 2 && r.complete.length < n; round++) {
      const before = s1.transfersIn;
      await c.peer.waitFor(() => s1.transfersIn >= limit || r.complete.length >= n, ctx.timeoutMs);
      await sleep(QUIET_MS / 2);
      if (overrun > 0) break;
      if (s1.transfersIn === before && round > 0) break;
      limit = s1.transfersIn + window;
      c.sessionFlow(s1, { incomingWindow: window });
    }
    if (overrun > 0) return fail(`sent ${overrun} transfer frame(s) beyond our incoming-window ${window}`);
    if (r.complete.length < n) {
      return fail(
        `${r.complete.length} of ${n} messages arrived as we re-opened the window${c.errorSummary()}`,
      );
    }
    return pass(`${n} messages in ${s1.transfersIn} transfer frames, never beyond the window`);
  },
};

export const sessionEndError: ServerCase = {
  id: 'session.end-error',
  section: '2.5.2',
  title: 'An end with an error is answered with end',
  async run(ctx) {
    const { c } = await ctx.session();
    const s1 = await c.begin(1);
    const e = await c.end(s1, {
      type: 'error',
      condition: Condition.InternalError,
      description: 'amqp-one conformance',
    });
    if (!e) return fail(`no end in answer to our end with an error${c.errorSummary()}`);
    // What follows is the server's choice (the spec does not say): reported, not judged.
    await sleep(50);
    if (c.remoteClose || c.peer.isClosed)
      return pass(`end answered, then the server closed the connection${c.errorSummary()}`);
    await c.begin(2);
    return pass('end answered; a new session began afterwards');
  },
};
