/**
 * Server cases for links: attach in both roles (2.6.3, 2.7.3), link credit and drain (2.6.7) and
 * flow with echo (2.7.4).
 */
import type { ServerCase, ServerCaseContext } from '../server-suite.js';
import { Role } from '../../link/link.js';
import { fail, pass, type Verdict } from '../types.js';
import { QUIET_MS, receiver, sleep, texts } from './helpers.js';

export const linkAttachSender: ServerCase = {
  id: 'link.attach-sender',
  section: '2.6.3',
  title: 'Attaching a sender is answered with a receiver attach and credit',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    const a = l.remoteAttach!;
    if (a.role !== Role.Receiver) return fail('the answering attach has role sender; it must be receiver');
    const credited = await c.peer.waitFor(() => l.credit > 0, ctx.timeoutMs);
    return pass(
      `answered as receiver (handle ${a.handle})${credited ? `, credit ${l.credit}` : ', no credit yet'}`,
    );
  },
};

export const linkAttachReceiver: ServerCase = {
  id: 'link.attach-receiver',
  section: '2.7.3',
  title: 'Attaching a receiver is answered with a sender attach with initial-delivery-count',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const l = await receiver(c, s, ctx.address());
    const a = l.remoteAttach!;
    if (a.role !== Role.Sender) return fail('the answering attach has role receiver; it must be sender');
    if (a.initialDeliveryCount === undefined) {
      return fail('the sender attach has no initial-delivery-count (2.7.3: MUST be set when role is sender)');
    }
    return pass(`answered as sender, initial-delivery-count ${a.initialDeliveryCount}`);
  },
};

export const linkCredit: ServerCase = {
  id: 'link.credit',
  section: '2.6.7',
  title: 'Credit 2 with 5 messages queued gets exactly 2; 1 more credit gets exactly 1',
  async run(ctx) {
    const { c, s } = await ctx.session();
    const address = ctx.address();
    await c.fill(s, address, texts(5, 'c'));
    const r = await receiver(c, s, address);
    c.flow(r, { credit: 2 });
    if (!(await c.receive(r, 2)))
      return fail(`${r.complete.length} of 2 messages arrived${c.errorSummary()}`);
    await sleep(QUIET_MS);
    if (r.deliveries.length > 2) return fail(`sent ${r.deliveries.length} messages with credit 2`);
    c.flow(r, { credit: 1 });
    if (!(await c.receive(r, 3))) return fail(`no message after 1 more credit${c.errorSummary()}`);
    await sleep(QUIET_MS);
    if (r.deliveries.length > 3) return fail(`sent ${r.deliveries.length} messages with credit 2 then 1`);
    return pass('2 messages for credit 2, then 1 for credit 1 (delivery-count honoured)');
  },
};

/** The server's answer to a drain: its flow with credit 0 and the delivery-count advanced. */
async function checkDrain(ctx: ServerCaseContext, queued: number): Promise<Verdict> {
  const { c, s } = await ctx.session();
  const address = ctx.address();
  if (queued > 0) await c.fill(s, address, texts(queued, 'd'));
  const r = await receiver(c, s, address);
  const credit = 5;
  const initial = r.deliveryCount;
  const flowsBefore = r.flows.length;
  c.flow(r, { credit, drain: true });
  const drained = (): boolean => r.flows.slice(flowsBefore).some((f) => (f.linkCredit ?? 0) === 0);
  if (!(await c.peer.waitFor(drained, ctx.timeoutMs))) {
    return fail(
      `no flow with link-credit 0 after drain with ${queued} message(s) queued (2.6.7: a draining sender uses up its credit and sends its flow state)` +
        c.errorSummary(),
    );
  }
  const f = r.flows.slice(flowsBefore).find((x) => (x.linkCredit ?? 0) === 0)!;
  const want = (initial + credit) | 0;
  if (r.deliveries.length !== queued)
    return fail(`drain brought ${r.deliveries.length} message(s), ${queued} were queued`);
  if (f.deliveryCount !== want) {
    return fail(
      `drained flow has delivery-count ${f.deliveryCount}, expected ${want} (initial ${initial} + credit ${credit})`,
    );
  }
  return pass(
    `${queued} message(s), then flow link-credit 0, delivery-count ${f.deliveryCount} (${initial} + ${credit})`,
  );
}

export const linkDrainEmpty: ServerCase = {
  id: 'link.drain-empty',
  section: '2.6.7',
  title: 'Drain on an empty queue: flow with credit 0 and delivery-count advanced by the credit',
  run: (ctx) => checkDrain(ctx, 0),
};

export const linkDrainPartial: ServerCase = {
  id: 'link.drain-partial',
  section: '2.6.7',
  title: 'Drain with 2 of 5 credits queued: 2 messages, then flow with credit 0',
  run: (ctx) => checkDrain(ctx, 2),
};

export const linkFlowEcho: ServerCase = {
  id: 'link.flow-echo',
  section: '2.7.4',
  title: "A flow with echo=true is answered with the server's flow for the link",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const r = await receiver(c, s, ctx.address());
    const before = r.flows.length;
    c.flow(r, { credit: 0, echo: true });
    if (!(await c.peer.waitFor(() => r.flows.length > before, ctx.timeoutMs))) {
      return fail('no flow in answer to echo=true (2.7.4: the receiver of echo SHOULD send its state)');
    }
    return pass(
      `flow answered: delivery-count ${r.flows[before].deliveryCount}, link-credit ${r.flows[before].linkCredit ?? 0}`,
    );
  },
};
