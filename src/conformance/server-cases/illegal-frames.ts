/**
 * Server cases that send what the spec forbids and expect the right error: bad frame headers
 * (2.3.1), window violations (2.5.6), limits from open and begin (2.7.1, 2.7.2) and the session
 * and connection errors of 2.8.15 to 2.8.17.
 */
import { ByteWriter } from '../../codec/byte-writer.js';
import { encodeComposite } from '../../codec/composite.js';
import type { Transfer } from '../../codec/spec/records.js';
import { Condition } from '../../protocol/conditions.js';
import { Role } from '../../link/link.js';
import { dataMessage, textMessage } from '../client-script.js';
import type { ServerCase } from '../server-suite.js';
import { fail, notApplicable } from '../types.js';
import { awaitError, expectCondition } from './helpers.js';

export const illegalUnattachedHandle: ServerCase = {
  id: 'illegal.unattached-handle',
  section: '2.8.17',
  title: 'A transfer on a handle never attached ends the session with unattached-handle',
  async run(ctx) {
    const { c, s } = await ctx.session();
    c.peer.frame(
      s.channel,
      {
        type: 'transfer',
        handle: 7,
        deliveryId: 0,
        deliveryTag: Buffer.from('x'),
        messageFormat: 0,
        settled: true,
      },
      textMessage('nobody'),
    );
    return expectCondition(
      await awaitError(c, s),
      Condition.UnattachedHandle,
      ['end', 'close'],
      'a transfer on an unattached handle is a session error, amqp:session:unattached-handle',
    );
  },
};

export const illegalHandleInUse: ServerCase = {
  id: 'illegal.handle-in-use',
  section: '2.8.17',
  title: 'A second attach on a handle in use ends the session with handle-in-use',
  async run(ctx) {
    const { c, s } = await ctx.session();
    await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    c.peer.frame(s.channel, {
      type: 'attach',
      name: 'amqp-one-conformance-second-on-handle-0',
      handle: 0,
      role: Role.Sender,
      source: { type: 'source', address: 'amqp-one-conformance' },
      target: { type: 'target', address: ctx.address() },
      initialDeliveryCount: 0,
    });
    return expectCondition(
      await awaitError(c, s),
      Condition.HandleInUse,
      ['end', 'close'],
      'attaching a handle already in use is the session error amqp:session:handle-in-use (2.8.17)',
    );
  },
};

export const illegalHandleMax: ServerCase = {
  id: 'illegal.handle-max-exceeded',
  section: '2.7.2',
  title: "An attach with a handle above the server's handle-max closes with framing-error",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const max = s.remoteBegin!.handleMax ?? 0xffffffff;
    if (max >= 0xffffffff) return notApplicable('the server accepts every handle (handle-max 4294967295)');
    c.sendAttach(s, { role: 'sender', address: ctx.address(), handle: max + 1 });
    return expectCondition(
      await awaitError(c),
      Condition.FramingError,
      ['close'],
      '2.7.2 (handle-max): a peer that receives a handle outside the supported range MUST close the connection with framing-error',
    );
  },
};

export const illegalWindowViolation: ServerCase = {
  id: 'illegal.window-violation',
  section: '2.5.6',
  title: "Transfers beyond the server's incoming-window end the session with window-violation",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const window = s.remoteWindow;
    if (window > 100_000 || window < 0) {
      return notApplicable(
        `the server's incoming-window ${s.remoteBegin!.incomingWindow} is too large to overrun here`,
      );
    }
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    let started = false;
    let sent = 0;
    for (let round = 0; round < 2; round++) {
      const n = Math.max(1, s.remoteWindow + 1);
      c.peer.batch(() =>
        c.peer.muted(() => {
          for (let i = 0; i < n; i++) {
            const fields = started
              ? { more: true }
              : { deliveryId: s.nextDeliveryId, deliveryTag: Buffer.from('w'), messageFormat: 0, more: true };
            c.transferFrame(l, fields, Buffer.from([0x00]));
            started = true;
          }
        }),
      );
      sent += n;
      ctx.note(
        `sent ${n} transfer frames of one delivery (${sent} in all); the server's window was ${n - 1}`,
      );
      const got = await awaitError(c, s);
      if (got) {
        return expectCondition(
          got,
          Condition.WindowViolation,
          ['end', 'close'],
          '2.5.6 and 2.8.17: amqp:session:window-violation',
        );
      }
      // No error: did the server widen its window while reading (its flows say where it stands)?
      if (s.remoteWindow < 0) {
        return fail(
          `no error after ${-s.remoteWindow} transfer frame(s) beyond the window its last flow gave`,
        );
      }
    }
    return notApplicable(`the server widened its window as it read ${sent} frames: it could not be overrun`);
  },
};

export const illegalOversizedFrame: ServerCase = {
  id: 'illegal.oversized-frame',
  section: '2.7.1',
  title: "A frame larger than the server's max-frame-size closes with framing-error",
  async run(ctx) {
    const { c, s } = await ctx.session();
    const max = c.remoteOpen!.maxFrameSize;
    if (max === undefined || max > 8 * 1024 * 1024) {
      return notApplicable(`the server's max-frame-size is ${max ?? 'unlimited'}: too large to exceed here`);
    }
    const l = await c.attachOrFail(s, { role: 'sender', address: ctx.address() });
    await c.waitCredit(l);
    // Transfer performative (~30 bytes) + data section header (8): pad the body to reach max + 1.
    const perf = 8 + 32;
    const body = Buffer.alloc(Math.max(300, max + 1 - perf - 8));
    let msg = dataMessage(body);
    const probe = {
      type: 'transfer' as const,
      handle: l.handle,
      deliveryId: s.nextDeliveryId,
      deliveryTag: Buffer.from('big'),
      messageFormat: 0,
      settled: true,
    };
    const size = frameSizeOf(probe, msg.length);
    msg = dataMessage(Buffer.alloc(body.length + (max + 1 - size)));
    c.transferFrame(l, probe, msg);
    ctx.note(
      `sent a transfer frame of ${frameSizeOf(probe, msg.length)} bytes; the server's max-frame-size is ${max}`,
    );
    return expectCondition(
      await awaitError(c),
      Condition.FramingError,
      ['close'],
      '2.7.1: a peer that receives an oversized frame MUST close the connection with framing-error',
    );
  },
};

export const illegalMalformed: ServerCase = {
  id: 'illegal.malformed-encoding',
  section: '2.8.15',
  title: 'A performative that does not decode closes the connection with decode-error',
  async run(ctx) {
    const { c, s } = await ctx.session();
    // A flow whose list8 says 16 bytes follow, in a frame that holds 3 of them.
    c.peer.rawFrame(
      s.channel,
      Buffer.from([0x00, 0x53, 0x13, 0xc0, 0x10, 0x02, 0x43, 0x43]),
      0,
      'flow whose list size (16) runs past the frame',
    );
    return expectCondition(
      await awaitError(c),
      Condition.DecodeError,
      ['close'],
      'data that cannot be decoded is amqp:decode-error (2.8.15)',
    );
  },
};

export const illegalBadDoff: ServerCase = {
  id: 'illegal.bad-doff',
  section: '2.3.1',
  title: 'A frame with DOFF 1 (malformed header) closes the connection with framing-error',
  async run(ctx) {
    const { c } = await ctx.session();
    c.peer.raw(Buffer.from([0, 0, 0, 8, 1, 0, 0, 0]), 'frame header with DOFF 1');
    return expectCondition(
      await awaitError(c),
      Condition.FramingError,
      ['close'],
      '2.3.1: a DOFF below 2 is malformed; a valid frame header cannot be formed (framing-error, 2.8.16)',
    );
  },
};

/** The size on the wire of the frame carrying transfer `t` and `payload` bytes of message. */
function frameSizeOf(t: Transfer, payload: number): number {
  const w = new ByteWriter(64);
  encodeComposite(w, t);
  return 8 + w.pos + payload;
}
