/**
 * Client deadlines: our client against a port that accepts TCP and never answers: `amqp-one send` (with
 * its --timeout flag, when this build has one, set to a second) and the library's `connect()` with
 * `connectTimeoutMs: 1000` (which must cover the whole handshake, not only TCP). Each is watched
 * for at most CLIENT_WAIT_SECONDS.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { connect } from '../../../src/client/connect.js';
import { outcome, type Attack, type AttackContext, type AttackOutcome } from '../attack.js';
import { CLI_MAIN, findFlag, flagValue } from '../server-process.js';

/** A client given a 1 s deadline that has not given up after this long never will. */
const CLIENT_WAIT_SECONDS = 5;
const waitFor = (ctx: AttackContext): number => Math.min(ctx.options.waitSeconds, CLIENT_WAIT_SECONDS);

/** A TCP server that accepts and never writes a byte. */
async function silentPort(ctx: AttackContext): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ctx.onCleanup(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

async function cliSend(ctx: AttackContext): Promise<AttackOutcome> {
  const port = await silentPort(ctx);
  const f = findFlag('send', /timeout/);
  const args = [CLI_MAIN, 'send', `amqp://127.0.0.1:${port}/attack`, ...(f ? [f.flag, flagValue(f, 1)] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdout.resume();
  const t0 = Date.now();
  const wait = waitFor(ctx);
  const code = await new Promise<number | null | 'waiting'>((resolve) => {
    const timer = setTimeout(() => resolve('waiting'), wait * 1000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const flagText = f ? ` (${f.flag} ${flagValue(f, 1)})` : ' (no timeout flag in this build)';
  if (code === 'waiting') {
    child.kill('SIGKILL');
    return outcome('hang', 'HOLE', `amqp-one send${flagText}: still waiting after ${wait} s`);
  }
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  const last = err.trim().split('\n').pop() ?? '';
  return outcome(
    code === 0 ? 'exit-0' : 'timeout',
    code === 0 ? '-' : 'held',
    `amqp-one send${flagText}: exited ${code} after ${s} s: ${last}`,
  );
}

async function libraryConnect(ctx: AttackContext): Promise<AttackOutcome> {
  const port = await silentPort(ctx);
  const wait = waitFor(ctx);
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const attempt = connect({ host: '127.0.0.1', port, connectTimeoutMs: 1000 });
  const r = await Promise.race([
    attempt.then(
      (c) => ({ kind: 'connected' as const, c }),
      (e: { code?: string; message: string }) => ({ kind: 'failed' as const, e }),
    ),
    new Promise<{ kind: 'waiting' }>(
      (resolve) => (timer = setTimeout(() => resolve({ kind: 'waiting' }), wait * 1000)),
    ),
  ]);
  clearTimeout(timer);
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.kind === 'waiting') {
    // Closing the silent port's sockets (cleanup) ends the pending attempt.
    attempt.then(
      (c) => c.close(),
      () => {},
    );
    return outcome('hang', 'HOLE', `connect({ connectTimeoutMs: 1000 }): still pending after ${wait} s`);
  }
  if (r.kind === 'connected') {
    await r.c.close().catch(() => {});
    return outcome(
      'connected',
      '-',
      `connect({ connectTimeoutMs: 1000 }) resolved after ${s} s against a silent port`,
    );
  }
  return outcome(
    'timeout',
    'held',
    `connect({ connectTimeoutMs: 1000 }) rejected after ${s} s: [${r.e.code ?? '?'}] ${r.e.message}`,
  );
}

export const CLIENT_ATTACKS: Attack[] = [
  {
    name: 'client-send-silent-port',
    family: 'client',
    target: 'client',
    title: 'amqp-one send against a port that accepts TCP and never answers',
    timeoutMs: 120_000,
    run: cliSend,
  },
  {
    name: 'client-connect-silent-port',
    family: 'client',
    target: 'client',
    title: 'connect({ connectTimeoutMs: 1000 }) against a port that accepts TCP and never answers',
    timeoutMs: 120_000,
    run: libraryConnect,
  },
];
