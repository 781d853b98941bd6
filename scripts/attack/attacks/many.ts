/**
 * Bounds (per-connection limits): many connections, many sessions on one connection, many
 * links on one session. Everything is pipelined in bounded batches and counted: answered,
 * refused (with the server's condition), or left unanswered. Connections stay open until the
 * server's memory was measured (ctx cleanup), then are dropped.
 */
import type { ClientScript, ScriptLink } from '../../../src/conformance/client-script.js';
import { outcome, type Attack, type AttackContext, type AttackOutcome } from '../attack.js';
import { handshake, waitUntil, type Auth } from '../raw.js';
import { BROKER_AUTH } from '../server-process.js';

const BATCH = 100;

function tally(reasons: Map<string, number>): string {
  return [...reasons].map(([r, n]) => `${n}x ${r}`).join('; ');
}

async function manyConnections(ctx: AttackContext, auth: Auth): Promise<AttackOutcome> {
  const n = ctx.options.connections;
  const open: ClientScript[] = [];
  const refused = new Map<string, number>();
  ctx.onCleanup(() => open.forEach((c) => c.peer.destroy()));
  for (let i = 0; i < n && !ctx.signal.aborted; i += BATCH) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(BATCH, n - i) }, () => handshake(ctx.info, auth)),
    );
    for (const r of batch) {
      if (r.status === 'fulfilled') open.push(r.value);
      else {
        // Ports and ids differ per socket: without them the reasons group.
        const why = (r.reason as Error).message.replace(/\d{3,}/g, 'N');
        refused.set(why, (refused.get(why) ?? 0) + 1);
      }
    }
  }
  // Were any of the opened ones closed again by the server (a limit applied after open)?
  await new Promise((r) => setTimeout(r, 500));
  const alive = open.filter((c) => !c.peer.isClosed && !c.remoteClose).length;
  const text =
    `${open.length}/${n} connections opened, ${alive} still open` +
    (refused.size ? `; refused: ${tally(refused)}` : '');
  if (open.length === n && alive === n) return outcome('accepted', '-', `${text} (no limit reached at ${n})`);
  return outcome('refused', 'held', text);
}

async function manySessions(ctx: AttackContext, auth: Auth, wanted: number): Promise<AttackOutcome> {
  const c = await handshake(ctx.info, auth);
  ctx.onCleanup(() => c.peer.destroy());
  const channelMax = c.remoteOpen!.channelMax;
  const max = Math.min(wanted, (channelMax ?? 65535) + 1);
  let sent = 0;
  while (sent < max && !ctx.signal.aborted && !gone(c)) {
    const upTo = Math.min(max, sent + BATCH);
    c.peer.batch(() => {
      for (; sent < upTo; sent++) c.sendBegin(sent);
    });
    await waitUntil(c, () => answered(c) + ended(c) >= sent || gone(c), 5000);
  }
  const n = answered(c);
  let text = `${n}/${sent} begins answered (channel-max ${channelMax ?? 'none'}), ${ended(c)} ended by the server`;
  if (n >= wanted) return outcome('accepted', '-', `${text} (no limit reached at ${wanted})`);
  if (n === sent && !gone(c)) {
    // The announced limit was reached: does the server enforce it?
    c.sendBegin(sent);
    await waitUntil(c, () => answered(c) > n || gone(c), 1000);
    const beyond = answered(c) > n ? 'answered (not enforced)' : closedText(c).slice(2) || 'no answer in 1 s';
    text += `; one more begin beyond channel-max: ${beyond}`;
    return outcome(answered(c) > n ? 'accepted' : 'refused', answered(c) > n ? 'HOLE' : 'held', text);
  }
  return outcome('refused', 'held', `${text}${closedText(c)}`);
}

const answered = (c: ClientScript): number => c.peer.frames('begin').length;
const ended = (c: ClientScript): number => c.peer.frames('end').length;
const gone = (c: ClientScript): boolean => c.peer.isClosed || c.remoteClose !== undefined;
const closedText = (c: ClientScript): string =>
  c.remoteClose
    ? `, connection closed: ${c.remoteClose.error?.condition ?? 'no error'}`
    : c.peer.isClosed
      ? ', socket closed'
      : '';

/** Sender links to `address(i)`, spread over as many sessions as the server's handle-max needs. */
async function manyLinks(
  ctx: AttackContext,
  auth: Auth,
  address: (i: number) => string,
  wanted: number,
): Promise<AttackOutcome> {
  const c = await handshake(ctx.info, auth);
  ctx.onCleanup(() => c.peer.destroy());
  const links: ScriptLink[] = [];
  let sessions = 0;
  let handleMax: number | undefined;
  const channelMax = c.remoteOpen!.channelMax ?? 65535;
  while (links.length < wanted && sessions <= channelMax && !ctx.signal.aborted && !gone(c)) {
    const s = await c.begin(sessions++);
    handleMax = c.peer.frames('begin').at(-1)?.rec.handleMax;
    const perSession = Math.min(wanted - links.length, handleMax === undefined ? wanted : handleMax + 1);
    let h = 0;
    while (h < perSession && !ctx.signal.aborted && !gone(c) && !s.remoteEnd) {
      const upTo = Math.min(perSession, h + BATCH);
      c.peer.batch(() => {
        for (; h < upTo; h++)
          links.push(c.sendAttach(s, { role: 'sender', address: address(links.length), handle: h }));
      });
      await waitUntil(
        c,
        () => links.every((l) => l.remoteAttach) || s.remoteEnd !== undefined || gone(c),
        5000,
      );
    }
    if (s.remoteEnd) break;
  }
  const attached = links.filter((l) => l.remoteAttach?.target).length;
  const refusedAttach = links.filter((l) => l.remoteAttach && !l.remoteAttach.target).length;
  const endedBy = [...c.sessions.values()].find((s) => s.remoteEnd)?.remoteEnd;
  const text =
    `${attached}/${links.length} links attached on ${sessions} session(s) (handle-max ${handleMax ?? 'none'}), ${refusedAttach} refused` +
    (endedBy ? `, a session ended: ${endedBy.error?.condition ?? 'no error'}` : '') +
    closedText(c);
  if (attached >= wanted) return outcome('accepted', '-', `${text} (no limit reached at ${wanted})`);
  return outcome('refused', 'held', text);
}

const SESSIONS = 5000;
const LINKS = 10_000;

export const MANY_ATTACKS: Attack[] = [
  {
    name: 'many-connections',
    family: 'many',
    target: 'broker',
    title: 'open N connections (alice), 100 at a time, and keep them',
    timeoutMs: 60_000,
    run: (ctx) => manyConnections(ctx, BROKER_AUTH),
  },
  {
    name: 'many-connections-hub',
    family: 'many',
    target: 'hub',
    title: 'open N unauthenticated (bare header) connections, 100 at a time, and keep them',
    timeoutMs: 60_000,
    run: (ctx) => manyConnections(ctx, 'bare'),
  },
  {
    name: 'many-sessions',
    family: 'many',
    target: 'broker',
    title: `begin ${SESSIONS} sessions on one connection (alice)`,
    timeoutMs: 30_000,
    run: (ctx) => manySessions(ctx, BROKER_AUTH, SESSIONS),
  },
  {
    name: 'many-links',
    family: 'many',
    target: 'broker',
    title: `attach ${LINKS} senders to distinct queues on one connection (alice)`,
    timeoutMs: 30_000,
    run: (ctx) => manyLinks(ctx, BROKER_AUTH, (i) => `attack-link-${i}`, LINKS),
  },
  {
    name: 'many-links-cbs',
    family: 'many',
    target: 'hub',
    title: `unauthenticated connection attaches ${LINKS} senders to $cbs`,
    timeoutMs: 30_000,
    run: (ctx) => manyLinks(ctx, 'bare', () => '$cbs', LINKS),
  },
];
