/**
 * Bounds (handshake deadline, idle timeout): sockets that send half a protocol header and
 * stay, and connections that open and then say nothing. Each waits at most --wait seconds for the
 * server to close them. When this build of the server has a handshake or idle-timeout flag (found
 * in its --help), the server is started with half that wait, so the bound is seen in a short run;
 * a server whose own deadline is longer than the wait shows as still open (raise --wait).
 */
import net from 'node:net';
import { outcome, type Attack, type AttackContext, type AttackOutcome, type RunOptions } from '../attack.js';
import { handshake, type Auth } from '../raw.js';
import { BROKER_AUTH, findFlags, flagValue, type ServerKind } from '../server-process.js';

const SLOW_SOCKETS = 500;
const IDLE_CONNECTIONS = 50;

function flagArgs(kind: ServerKind, pattern: RegExp, o: RunOptions): string[] {
  return findFlags(kind, pattern).flatMap((f) => [f.flag, flagValue(f, o.waitSeconds / 2)]);
}

const flagNote = (args: string[]): string => (args.length ? ` (server started with ${args.join(' ')})` : '');

/** Resolves when every socket is closed or `seconds` passed; returns how long it took. */
async function waitAllClosed(
  sockets: { closed: () => boolean }[],
  seconds: number,
  signal: AbortSignal,
): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000 && !signal.aborted) {
    if (sockets.every((s) => s.closed())) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return (Date.now() - t0) / 1000;
}

async function slowHeader(ctx: AttackContext, args: string[]): Promise<AttackOutcome> {
  const sockets: net.Socket[] = [];
  ctx.onCleanup(() => sockets.forEach((s) => s.destroy()));
  const closed = new Set<net.Socket>();
  await Promise.all(
    Array.from(
      { length: SLOW_SOCKETS },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ host: ctx.info.host, port: ctx.info.port }, () => {
            s.write('AMQP'); // half a protocol header, and nothing more
            resolve();
          });
          s.on('error', () => resolve());
          s.on('close', () => {
            closed.add(s);
            resolve();
          });
          s.resume();
          sockets.push(s);
        }),
    ),
  );
  const waited = await waitAllClosed(
    sockets.map((s) => ({ closed: () => closed.has(s) })),
    ctx.options.waitSeconds,
    ctx.signal,
  );
  const n = closed.size;
  const text = `${n}/${SLOW_SOCKETS} closed by the server within ${waited.toFixed(1)} s${flagNote(args)}`;
  if (n === SLOW_SOCKETS) return outcome('closed', 'held', text);
  return outcome(
    'open',
    n === 0 ? 'HOLE' : '-',
    `${text}; ${SLOW_SOCKETS - n} still open after ${waited.toFixed(1)} s`,
  );
}

async function idleAfterOpen(ctx: AttackContext, auth: Auth, args: string[]): Promise<AttackOutcome> {
  const conns = await Promise.all(Array.from({ length: IDLE_CONNECTIONS }, () => handshake(ctx.info, auth)));
  ctx.onCleanup(() => conns.forEach((c) => c.peer.destroy()));
  const announced = conns[0]!.remoteOpen!.idleTimeOut;
  const waited = await waitAllClosed(
    conns.map((c) => ({ closed: () => c.peer.isClosed || c.remoteClose !== undefined })),
    ctx.options.waitSeconds,
    ctx.signal,
  );
  const n = conns.filter((c) => c.peer.isClosed || c.remoteClose !== undefined).length;
  const cond = conns.find((c) => c.remoteClose)?.remoteClose?.error?.condition;
  const idle = announced ? `server idle-time-out ${announced} ms` : 'the server announced no idle-time-out';
  const text = `${n}/${IDLE_CONNECTIONS} silent connections closed within ${waited.toFixed(1)} s${cond ? ` (${cond})` : ''}; ${idle}${flagNote(args)}`;
  if (n === IDLE_CONNECTIONS) return outcome('closed', 'held', text);
  // Without an idle-time-out nothing will ever close them; with one longer than the wait, we cannot tell.
  return outcome('open', announced ? '-' : 'HOLE', `${text}; still open after ${waited.toFixed(1)} s`);
}

const HANDSHAKE_FLAG = /handshake/;
/** The hub closes a connection without credentials after its grant timeout. */
const IDLE_FLAG = /idle|grant-timeout/;

export const SLOW_ATTACKS: Attack[] = (['broker', 'hub'] as const).flatMap((kind): Attack[] => [
  {
    name: `slow-header-${kind}`,
    family: 'slow',
    target: kind,
    title: `${SLOW_SOCKETS} sockets send 'AMQP' (half a header) and stay`,
    timeoutMs: 120_000,
    serverArgs: (o) => flagArgs(kind, HANDSHAKE_FLAG, o),
    run: (ctx) => slowHeader(ctx, flagArgs(kind, HANDSHAKE_FLAG, ctx.options)),
  },
  {
    name: `idle-after-open-${kind}`,
    family: 'slow',
    target: kind,
    title: `${IDLE_CONNECTIONS} connections open (${kind === 'broker' ? 'alice' : 'bare header'}), then say nothing`,
    timeoutMs: 120_000,
    serverArgs: (o) => flagArgs(kind, IDLE_FLAG, o),
    run: (ctx) =>
      idleAfterOpen(ctx, kind === 'broker' ? BROKER_AUTH : 'bare', flagArgs(kind, IDLE_FLAG, ctx.options)),
  },
]);
