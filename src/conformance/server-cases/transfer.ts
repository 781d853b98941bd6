/**
 * Server cases for transfers (2.6.12 to 2.6.14): multi-frame messages, aborted transfers and
 * interleaved deliveries on two links.
 */
import { bodyOf, dataMessage, patterned, textMessage } from '../client-script.js';
import type { ServerCase } from '../server-suite.js';
import { fail, pass } from '../types.js';
import { QUIET_MS, receiver, sleep } from './helpers.js';

export const transferMultiFrame: ServerCase = {
  id: 'transfer.multi-frame',
  section: '2.6.14',
  title: 'A message sent in several frames (more=true) is stored and comes back intact',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const body = patterned(3000, 3);
    const l = await c.attachOrFail(s, { role: 'sender', address });
    const before = c.peer.framesSent;
    await c.sendAll(l, [dataMessage(body)], { frameSize: 512 });
    const frames = c.peer.framesSent - before;
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 1))) return fail(`the message did not come back${c.errorSummary()}`);
    const got = bodyOf(r.complete[0]);
    if (!Buffer.isBuffer(got) || !got.equals(body)) return fail('the message came back altered');
    return pass(`sent in ${frames} frames, accepted, received back intact`);
  },
};

export const transferAborted: ServerCase = {
  id: 'transfer.aborted',
  section: '2.6.14',
  title: 'An aborted transfer (half a message, then aborted=true) enqueues nothing',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    const l = await c.attachOrFail(s, { role: 'sender', address });
    await c.waitCredit(l, 2);
    const half = dataMessage(patterned(3000, 5)).subarray(0, 1000);
    c.transferFrame(
      l,
      { deliveryId: s.nextDeliveryId, deliveryTag: Buffer.from('aborted'), messageFormat: 0, more: true },
      half.subarray(0, 500),
    );
    c.transferFrame(l, { more: true }, half.subarray(500));
    c.transferFrame(l, { aborted: true });
    await c.sendAll(l, [textMessage('after-abort')]);
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 2 });
    if (!(await c.receive(r, 1))) return fail(`no message came back${c.errorSummary()}`);
    await sleep(QUIET_MS);
    const bodies = r.complete.map(bodyOf);
    if (bodies.length !== 1 || bodies[0] !== 'after-abort') {
      return fail(
        `the queue held ${bodies.length} message(s): ${bodies.map((b) => (typeof b === 'string' ? b : 'aborted data')).join(', ')}`,
      );
    }
    return pass('only the message after the aborted one was stored');
  },
};

export const transferInterleaved: ServerCase = {
  id: 'transfer.interleaved',
  section: '2.6.14',
  title: 'Multi-frame messages on two links, their frames interleaved, are both stored intact',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const a = ctx.address('a');
    const b = ctx.address('b');
    const la = await c.attachOrFail(s, { role: 'sender', address: a });
    const lb = await c.attachOrFail(s, { role: 'sender', address: b });
    await c.waitCredit(la);
    await c.waitCredit(lb);
    const ma = dataMessage(patterned(900, 1));
    const mb = dataMessage(patterned(900, 2));
    const ida = s.nextDeliveryId;
    const idb = ida + 1;
    const first = (id: number) => ({
      deliveryId: id,
      deliveryTag: Buffer.from(`i${id}`),
      messageFormat: 0,
      more: true,
    });
    c.peer.batch(() => {
      c.transferFrame(la, first(ida), ma.subarray(0, 450));
      c.transferFrame(lb, first(idb), mb.subarray(0, 450));
      c.transferFrame(la, { more: false }, ma.subarray(450));
      c.transferFrame(lb, { more: false }, mb.subarray(450));
    });
    const settled = await c.peer.waitFor(
      () => !!s.dispositionFor(ida) && !!s.dispositionFor(idb),
      ctx.timeoutMs,
    );
    if (!settled) return fail(`the interleaved messages were not both settled${c.errorSummary()}`);
    for (const [address, body] of [
      [a, patterned(900, 1)],
      [b, patterned(900, 2)],
    ] as const) {
      const r = await receiver(c, s, address);
      c.flow(r, { credit: 1 });
      if (!(await c.receive(r, 1)))
        return fail(`the message sent to ${address} did not come back${c.errorSummary()}`);
      const got = bodyOf(r.complete[0]);
      if (!Buffer.isBuffer(got) || !got.equals(body))
        return fail(`the message sent to ${address} came back altered`);
    }
    return pass('both messages stored and received back intact');
  },
};
