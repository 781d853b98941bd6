/**
 * Message size: one huge message, and one message in 1-byte transfer frames. On the hub the
 * attacker is unauthenticated (bare header) and sends to `$cbs`, which every connection may attach;
 * on the broker it logs in as alice and sends to a queue. Sending stops as soon as the server
 * detaches, ends, closes or settles the delivery.
 */
import { outcome, type Attack, type AttackContext, type AttackOutcome } from '../attack.js';
import { fmtMiB, handshake, MiB, serverReaction, streamMessage, waitUntil, type Auth } from '../raw.js';
import { BROKER_AUTH } from '../server-process.js';

/** More server memory than this many bytes per payload byte is the 1-byte-frame hole. */
const TINY_FRAME_HOLE_BYTES_PER_BYTE = 16;

async function sendOne(
  ctx: AttackContext,
  auth: Auth,
  address: string,
  size: number,
  chunk: number | 'max',
): Promise<AttackOutcome & { bytesPerByte?: number }> {
  const c = await handshake(ctx.info, auth);
  try {
    const s = await c.begin();
    const l = await c.attach(s, { role: 'sender', address });
    if (!l.remoteAttach!.target) {
      await waitUntil(c, () => l.remoteDetach !== undefined, 1000);
      return outcome(
        'refused',
        'held',
        `attach to ${address} refused: ${serverReaction(c, l) ?? 'no detach'}`,
      );
    }
    const maxMessage = l.remoteAttach!.maxMessageSize;
    const limit =
      maxMessage === undefined || Number(maxMessage) === 0
        ? 'no max-message-size'
        : `max-message-size ${maxMessage}`;
    await c.waitCredit(l);
    const frame = chunk === 'max' ? Math.min(c.remoteMaxFrameSize, 1 << 20) - 64 : chunk;
    const before = ctx.server?.memory();
    const r = await streamMessage(c, l, size, frame, ctx.signal);
    const whole = r.stoppedBy === undefined;
    if (whole) await waitUntil(c, () => serverReaction(c, l, r.deliveryId) !== undefined, 5000);
    const after = ctx.server?.memory();
    const grown = before && after ? (after.hwmMiB - before.rssMiB) * MiB : undefined;
    const perByte = grown === undefined ? undefined : grown / size;
    const head = `attach said ${limit}; ${fmtMiB(r.bytes)} of ${fmtMiB(size)} sent in ${r.frames} frame(s) in ${(r.ms / 1000).toFixed(1)} s`;
    const cost = perByte === undefined ? '' : `; server memory +${perByte.toFixed(1)} B per payload byte`;
    if (!whole)
      return { ...outcome('refused', 'held', `${head}, then ${r.stoppedBy}${cost}`), bytesPerByte: perByte };
    const then = serverReaction(c, l, r.deliveryId) ?? 'no answer within 5 s';
    return {
      ...outcome('accepted', 'HOLE', `${head}: the whole message was taken; then ${then}${cost}`),
      bytesPerByte: perByte,
    };
  } finally {
    c.peer.destroy();
  }
}

export const TRANSFER_ATTACKS: Attack[] = [
  {
    name: 'big-message-cbs',
    family: 'big-message',
    target: 'hub',
    title: 'unauthenticated (bare header) connection attaches $cbs and sends one huge message',
    timeoutMs: 60_000,
    run: (ctx) => sendOne(ctx, 'bare', '$cbs', ctx.options.bigMessageMiB * MiB, 'max'),
  },
  {
    name: 'big-message-queue',
    family: 'big-message',
    target: 'broker',
    title: 'alice sends one huge message to a queue',
    timeoutMs: 60_000,
    run: (ctx) => sendOne(ctx, BROKER_AUTH, 'attack-big', ctx.options.bigMessageMiB * MiB, 'max'),
  },
  ...(
    [
      [
        'tiny-frames-queue',
        'broker',
        BROKER_AUTH,
        'attack-tiny',
        'alice sends a 1 MiB message in 1-byte transfer frames to a queue',
      ],
      [
        'tiny-frames-cbs',
        'hub',
        'bare',
        '$cbs',
        'unauthenticated connection sends a 1 MiB message in 1-byte frames to $cbs',
      ],
    ] as const
  ).map(([name, target, auth, address, title]): Attack => ({
    name,
    family: 'tiny-frames',
    target,
    title,
    timeoutMs: 60_000,
    async run(ctx) {
      const r = await sendOne(ctx, auth, address, MiB, 1);
      // A refused stream is held; a whole one is a hole only when it cost more than the bound.
      if (
        r.code === 'accepted' &&
        r.bytesPerByte !== undefined &&
        r.bytesPerByte <= TINY_FRAME_HOLE_BYTES_PER_BYTE
      )
        return outcome('accepted', 'held', r.text);
      return outcome(r.code, r.verdict, r.text);
    },
  })),
];
