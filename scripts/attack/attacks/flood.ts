/**
 * Bounds (unsettled deliveries, a peer that does not read):
 * - unsettled-flood: alice sends small messages with rcv-settle-mode second as fast as credit
 *   allows and never settles the server's dispositions, so each stays unsettled on the server.
 * - no-read-*: a queue (or partition) is filled, then a receiver grants a huge credit and never
 *   reads its socket: whatever the server cannot write piles up on its side.
 */
import { textMessage, type ScriptLink } from '../../../src/conformance/client-script.js';
import { outcome, type Attack, type AttackContext, type AttackOutcome } from '../attack.js';
import { handshake, serverReaction, waitUntil, type Auth } from '../raw.js';
import { BROKER_AUTH, type ServerInfo } from '../server-process.js';
import {
  connectPlain,
  devicePlain,
  partitionAddress,
  servicePlain,
  telemetryAddress,
} from './hub-credentials.js';

const UNSETTLED = 200_000;
const UNSETTLED_SECONDS = 10;

async function unsettledFlood(ctx: AttackContext): Promise<AttackOutcome> {
  const c = await handshake(ctx.info, BROKER_AUTH);
  ctx.onCleanup(() => c.peer.destroy());
  const s = await c.begin();
  const l = await c.attach(s, { role: 'sender', address: 'attack-unsettled', rcvSettleMode: 1 });
  if (!l.remoteAttach!.target) return outcome('refused', 'held', `attach refused: ${serverReaction(c, l)}`);
  const body = textMessage('x'.repeat(64));
  const until = Date.now() + UNSETTLED_SECONDS * 1000;
  let sent = 0;
  while (sent < UNSETTLED && Date.now() < until && !ctx.signal.aborted) {
    if (serverReaction(c, l)) break;
    const room = Math.min(l.credit, s.remoteWindow, 500, UNSETTLED - sent);
    if (room <= 0) {
      await waitUntil(
        c,
        () => (l.credit > 0 && s.remoteWindow > 0) || serverReaction(c, l) !== undefined,
        2000,
      );
      if (l.credit <= 0 || s.remoteWindow <= 0) break;
      continue;
    }
    c.peer.muted(
      () =>
        c.peer.batch(() => {
          for (let i = 0; i < room; i++) c.send(l, body);
        }),
      0,
    );
    sent += room;
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 500));
  let settled = 0;
  let unsettled = 0;
  for (const d of s.dispositions) {
    const n = (d.last ?? d.first) - d.first + 1;
    if (d.settled) settled += n;
    else unsettled += n;
  }
  const reaction = serverReaction(c, l);
  const starved = !reaction && sent < UNSETTLED && l.credit <= 0;
  const stop = reaction ?? (starved ? 'the server granting no more credit' : 'the time or count bound');
  const text = `rcv-settle-mode asked 1 (second), granted ${l.remoteAttach!.rcvSettleMode ?? 0}; ${sent} sent, never settled by us; server dispositions: ${unsettled} unsettled, ${settled} settled; stopped by ${stop}`;
  // Refusing, or withholding credit while deliveries stay unsettled, bounds what we can pile up.
  if (reaction || starved) return outcome('refused', 'held', text);
  return outcome('accepted', '-', text);
}

/** Fills `address` with `n` messages of `size` bytes through our client, as `creds`. */
async function fill(
  info: ServerInfo,
  creds: { username: string; password: string },
  address: string,
  n: number,
  size: number,
): Promise<void> {
  const conn = await connectPlain(info, creds);
  try {
    const tx = await conn.openSender({ address });
    const body = Buffer.alloc(size, 0x61);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      await tx.ready();
      sends.push(tx.send({ body }));
    }
    await Promise.all(sends);
  } finally {
    await conn.close();
  }
}

const NO_READ_MESSAGES = 20_000;
const NO_READ_SIZE = 4096;
const NO_READ_SECONDS = 5;

async function noRead(ctx: AttackContext, auth: Auth, addresses: string[]): Promise<AttackOutcome> {
  const c = await handshake(ctx.info, auth);
  ctx.onCleanup(() => c.peer.destroy());
  const s = await c.begin(0, { incomingWindow: 0x7fffffff });
  const links: ScriptLink[] = [];
  for (const address of addresses) {
    const l = await c.attach(s, { role: 'receiver', address });
    if (l.remoteAttach!.source) links.push(l);
  }
  if (links.length === 0) return outcome('refused', 'held', 'every receiver attach was refused');
  c.peer.batch(() => links.forEach((l) => c.flow(l, { credit: 1_000_000 })));
  // From here on the socket is not read: the kernel's buffers fill, then the server's.
  c.peer.socket.pause();
  const before = ctx.server?.memory();
  await new Promise((r) => setTimeout(r, NO_READ_SECONDS * 1000));
  const after = ctx.server?.memory();
  const grew =
    before && after
      ? `server RSS ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB while not reading`
      : '';
  return outcome(
    'accepted',
    '-',
    `${links.length} receiver(s) granted 1,000,000 credit on ${NO_READ_MESSAGES} x ${NO_READ_SIZE} B, socket never read for ${NO_READ_SECONDS} s; ${grew}; connection still open: ${!c.peer.isClosed}`,
  );
}

export const FLOOD_ATTACKS: Attack[] = [
  {
    name: 'unsettled-flood',
    family: 'unsettled',
    target: 'broker',
    title: `alice sends up to ${UNSETTLED} unsettled messages (rcv-settle-mode second) in ${UNSETTLED_SECONDS} s, never settles`,
    timeoutMs: 40_000,
    run: unsettledFlood,
  },
  {
    name: 'no-read-queue',
    family: 'no-read',
    target: 'broker',
    title: `a queue of ${NO_READ_MESSAGES} x 4 KiB; a receiver grants 1,000,000 credit and never reads`,
    timeoutMs: 60_000,
    async run(ctx) {
      await fill(ctx.info, BROKER_AUTH, 'attack-noread', NO_READ_MESSAGES, NO_READ_SIZE);
      ctx.baseline();
      return noRead(ctx, BROKER_AUTH, ['attack-noread']);
    },
  },
  {
    name: 'no-read-partition',
    family: 'no-read',
    target: 'hub',
    title: `a partition of ${NO_READ_MESSAGES} x 4 KiB events; the service reads all partitions with 1,000,000 credit and never reads`,
    timeoutMs: 60_000,
    serverArgs: () => ['--partitions', '4'],
    async run(ctx) {
      // The attacking device's partition.
      await fill(ctx.info, devicePlain(ctx.info), telemetryAddress(), NO_READ_MESSAGES, NO_READ_SIZE);
      ctx.baseline();
      return noRead(
        ctx,
        servicePlain(ctx.info),
        [0, 1, 2, 3].map((p) => partitionAddress(ctx.info, p)),
      );
    },
  },
];
