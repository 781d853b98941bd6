/**
 * Server cases for ending things cleanly: detaching a link (2.6.5, 2.6.6) and closing the
 * connection (2.4.3).
 */
import { Condition } from '../../protocol/conditions.js';
import { describeError } from '../client-script.js';
import type { ServerCase } from '../server-suite.js';
import { fail, pass } from '../types.js';
import { receiver, sleep } from './helpers.js';

export const linkDetachClosed: ServerCase = {
  id: 'link.detach-closed',
  section: '2.6.6',
  title: 'A closing detach is answered with a closing detach',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    const d = await c.detach(l, { closed: true });
    if (!d) return fail(`no detach in answer to ours${c.errorSummary()}`);
    if (d.closed !== true)
      return fail('answered with detach closed=false (2.6.6: the partner replies with closed set to true)');
    return pass('detach closed=true answered with detach closed=true');
  },
};

export const linkDetachError: ServerCase = {
  id: 'link.detach-error',
  section: '2.6.5',
  title: 'A detach with an error is answered with detach',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await receiver(c, s, ctx.address());
    const d = await c.detach(l, {
      closed: true,
      error: { type: 'error', condition: Condition.InternalError, description: 'amqp-one conformance' },
    });
    if (!d) return fail(`no detach in answer to a detach with an error${c.errorSummary()}`);
    // What follows is the server's choice (the spec does not say): reported, not judged.
    await sleep(50);
    if (s.remoteEnd || c.remoteClose || c.peer.isClosed) {
      return pass(`detach answered, then the server ended the session or connection${c.errorSummary()}`);
    }
    await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    return pass('detach answered; a new link attached afterwards');
  },
};

export const closeClean: ServerCase = {
  id: 'close.clean',
  section: '2.4.3',
  title: 'Close is answered with close',
  async run(ctx) {
    const c = await ctx.connect();
    const r = await c.close();
    if (!r) return fail(`no close in answer to ours${c.errorSummary()}`);
    if (r.error) return fail(`answered with an error: ${describeError(r.error)}`);
    return pass('close answered with close');
  },
};

export const closeError: ServerCase = {
  id: 'close.error',
  section: '2.4.3',
  title: 'Close with an error is answered with close',
  async run(ctx) {
    const c = await ctx.connect();
    await c.begin(0);
    const r = await c.close({
      type: 'error',
      condition: Condition.InternalError,
      description: 'amqp-one conformance',
    });
    if (!r) return fail(`no close in answer to a close with an error${c.errorSummary()}`);
    return pass(`close answered${r.error ? ` (with ${describeError(r.error)})` : ''}`);
  },
};
