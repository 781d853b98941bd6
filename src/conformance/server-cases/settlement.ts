/**
 * Server cases for settlement: settle modes (2.8.2, 2.8.3), accepting a delivery (2.6.12),
 * the released and modified outcomes (3.4.4, 3.4.5) and ranged dispositions (2.7.6).
 */
import { bodyOf, describeError, describeState, headerOf, textMessage } from '../client-script.js';
import { Role } from '../../link/link.js';
import type { ServerCase } from '../server-suite.js';
import { fail, notApplicable, pass } from '../types.js';
import { QUIET_MS, receiver, sleep, texts } from './helpers.js';

export const settlePresettledSend: ServerCase = {
  id: 'settle.presettled-send',
  section: '2.8.2',
  title: 'A presettled message (snd-settle-mode settled) is stored',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const l = await c.attachOrFail(s, { role: 'sender', address, sndSettleMode: 1 });
    await c.sendAll(l, [textMessage('presettled')], { settled: true });
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`the presettled message was not stored${c.errorSummary()}`);
    if (bodyOf(r.complete[0]) !== 'presettled') return fail('another message came back');
    return pass('the presettled message was stored and received back');
  },
};

export const settlePresettledReceive: ServerCase = {
  id: 'settle.presettled-receive',
  section: '2.8.2',
  title: 'A receiver asking for snd-settle-mode settled gets settled transfers',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-presettle')]);
    const r = await receiver(c, s, address, { sndSettleMode: 1 });
    const mode = r.remoteAttach!.sndSettleMode ?? 2;
    if (mode !== 1) {
      return notApplicable(
        `the server's sender chose snd-settle-mode ${mode} (2.7.3: it SHOULD, not MUST, follow ours)`,
      );
    }
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    if (!r.complete[0].settled)
      return fail('the transfer is not settled although the sender chose snd-settle-mode settled');
    return pass('snd-settle-mode settled granted; the transfer came settled');
  },
};

export const settleUnsettledSend: ServerCase = {
  id: 'settle.unsettled-send',
  section: '2.8.3',
  title: 'An unsettled message is accepted and settled by the receiver (rcv-settle-mode first)',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    const id = c.send(l, textMessage('unsettled'));
    if (!(await c.peer.waitFor(() => s.dispositionFor(id) !== undefined, ctx.timeoutMs))) {
      return fail(`no disposition for our unsettled message${c.errorSummary()}`);
    }
    const d = s.dispositionFor(id)!;
    if (d.state?.type !== 'accepted') return fail(`the outcome is ${describeState(d.state)}`);
    if (!d.settled) {
      return fail(
        'the disposition is not settled; with rcv-settle-mode first the receiver settles at once (2.8.3)',
      );
    }
    return pass('accepted and settled in one disposition');
  },
};

export const settleUnsettledReceive: ServerCase = {
  id: 'settle.unsettled-receive',
  section: '2.6.12',
  title: 'An unsettled delivery we accept is gone from the queue',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-accept')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to accept');
    c.dispose(s, d.id, d.id, { type: 'accepted' });
    await c.detach(r);
    const r2 = await receiver(c, s, address);
    c.flow(r2, { credit: 1 });
    await sleep(QUIET_MS);
    if (r2.deliveries.length > 0) return fail('the accepted message was delivered again');
    return pass('accepted and settled; not delivered again');
  },
};

export const settleReleased: ServerCase = {
  id: 'settle.released',
  section: '3.4.4',
  title: 'A released delivery is made available again and redelivered',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-release')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to release');
    c.dispose(s, d.id, d.id, { type: 'released' });
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 2))) return fail(`the released message was not redelivered${c.errorSummary()}`);
    if (bodyOf(r.complete[1]) !== 'to-release') return fail('another message came instead');
    return pass('released, then redelivered');
  },
};

export const settleModified: ServerCase = {
  id: 'settle.modified',
  section: '3.4.5',
  title: 'Modified with delivery-failed: redelivered with its delivery-count incremented',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, [textMessage('to-modify')]);
    const r = await receiver(c, s, address);
    const outcomes = r.remoteAttach!.source?.outcomes?.map(String);
    if (outcomes && !outcomes.includes('amqp:modified:list')) {
      return notApplicable(`the source's outcomes are ${outcomes.join(', ')}: modified is not supported`);
    }
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`no message${c.errorSummary()}`);
    const d = r.complete[0];
    if (d.settled) return notApplicable('the server sent the delivery settled: nothing to modify');
    const before = headerOf(d)?.deliveryCount ?? 0;
    c.dispose(s, d.id, d.id, { type: 'modified', deliveryFailed: true });
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 2))) return fail(`the modified message was not redelivered${c.errorSummary()}`);
    const again = r.complete[1];
    if (bodyOf(again) !== 'to-modify') return fail('another message came instead');
    const after = headerOf(again)?.deliveryCount ?? 0;
    if (after !== before + 1) {
      return fail(
        `redelivered with delivery-count ${after}, not ${before + 1} (3.4.5: with delivery-failed it MUST be incremented)`,
      );
    }
    return pass(`redelivered with delivery-count ${after}`);
  },
};

export const settleRcvSecond: ServerCase = {
  id: 'settle.rcv-second',
  section: '2.8.3',
  title: 'rcv-settle-mode second: the receiver answers unsettled and settles after us',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = c.sendAttach(s, { role: 'sender', address: ctx.address(), rcvSettleMode: 1 });
    const answered = await c.peer.waitFor(
      () => l.remoteAttach !== undefined || s.remoteEnd !== undefined || c.remoteClose !== undefined,
      ctx.timeoutMs,
    );
    if (!answered) return fail(`no attach in answer to ours${c.errorSummary()}`);
    await sleep(100);
    const refusal = l.remoteDetach?.error ?? s.remoteEnd?.error ?? c.remoteClose?.error;
    if (refusal) return notApplicable(`the server refused rcv-settle-mode second: ${describeError(refusal)}`);
    if (!l.remoteAttach) return fail(`the session or connection ended without an attach${c.errorSummary()}`);
    if (!l.remoteAttach.target) return notApplicable('the server refused the link (no target)');
    const mode = l.remoteAttach!.rcvSettleMode ?? 0;
    if (mode !== 1) return notApplicable(`the server's receiver chose rcv-settle-mode ${mode} (first)`);
    await c.waitCredit(l);
    const id = c.send(l, textMessage('second'));
    if (!(await c.peer.waitFor(() => s.dispositionFor(id) !== undefined, ctx.timeoutMs))) {
      return fail(`no disposition for our message${c.errorSummary()}`);
    }
    const d = s.dispositionFor(id)!;
    if (d.settled)
      return fail('the receiver settled first; in mode second it settles only after the sender (2.8.3)');
    if (d.state?.type !== 'accepted') return fail(`the outcome is ${describeState(d.state)}`);
    c.peer.frame(s.channel, {
      type: 'disposition',
      role: Role.Sender,
      first: id,
      settled: true,
      state: { type: 'accepted' },
    });
    await sleep(100);
    if (s.remoteEnd || c.remoteClose) return fail(`our settlement was refused${c.errorSummary()}`);
    return pass('accepted unsettled, then settled after our settlement');
  },
};

export const settleDispositionRange: ServerCase = {
  id: 'settle.disposition-range',
  section: '2.7.6',
  title: 'One disposition first..last accepts three deliveries',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, texts(3, 'range'));
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 3 });
    if (!(await c.receive(r, 3)))
      return fail(`${r.complete.length} of 3 messages arrived${c.errorSummary()}`);
    const ds = r.complete;
    if (ds.some((d) => d.settled))
      return notApplicable('the server sent settled deliveries: nothing to dispose');
    const ids = ds.map((d) => d.id).sort((a, b) => a - b);
    if (ids[2] - ids[0] !== 2) return notApplicable(`delivery ids ${ids.join(', ')} are not consecutive`);
    c.dispose(s, ids[0], ids[2], { type: 'accepted' });
    await c.detach(r);
    const r2 = await receiver(c, s, address);
    c.flow(r2, { credit: 3 });
    await sleep(QUIET_MS);
    if (r2.deliveries.length > 0) {
      return fail(`${r2.deliveries.length} of the 3 messages came again: the range did not settle them all`);
    }
    return pass(`disposition ${ids[0]}..${ids[2]} accepted all three`);
  },
};
