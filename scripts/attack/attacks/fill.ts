/**
 * Retention (no accepted message dropped): send unpaced until the server refuses or the count
 * bound, then read everything back. Every send is either accepted (and must be readable) or
 * refused with an error; lost = accepted - readable. When this build of the hub has a limit flag
 * for partitions (found in its --help), the hub is started with a small limit so it is reached.
 */
import { performance } from 'node:perf_hooks';
import type { AmqpConnection } from '../../../src/client/connect.js';
import type { DeliveryState } from '../../../src/codec/spec/records.js';
import { outcome, type Attack, type AttackContext, type AttackOutcome, type RunOptions } from '../attack.js';
import { BROKER_AUTH, cliHelp } from '../server-process.js';
import {
  connectPlain,
  devicePlain,
  partitionAddress,
  servicePlain,
  telemetryAddress,
} from './hub-credentials.js';

const PARTITIONS = 4;
const EVENT_SIZE = 100;
/** A receiver that got nothing for this long has read everything there is. */
const QUIET_MS = 1500;

/** Small limits (count 10,000, bytes 4 MiB), when this build has flags for them. */
function limitArgs(command: 'hub' | 'broker', subject: RegExp): string[] {
  const names = new Set<string>();
  for (const m of cliHelp(command).matchAll(/--([a-z0-9-]+)/g)) {
    const name = m[1]!;
    if (subject.test(name) && /max|limit|cap/.test(name)) names.add(name);
  }
  return [...names].map((n) => `--${n}=${/bytes|size|mb|mib/.test(n) ? 4 * 1024 * 1024 : 10_000}`);
}

/** Per-partition limits of the hub, per-queue limits of the broker (not the total, not --max-queues). */
const hubLimitArgs = (): string[] => limitArgs('hub', /partition/);
const brokerLimitArgs = (): string[] => limitArgs('broker', /queue-/);

interface SendCount {
  accepted: number;
  refused: Map<string, number>;
}

/** Sends `n` messages unpaced (as credit allows), counting each outcome; stops early on a closed link. */
async function sendAll(
  conn: AmqpConnection,
  address: string,
  n: number,
  body: Buffer,
  signal: AbortSignal,
): Promise<SendCount> {
  const tx = await conn.openSender({ address, sendTimeoutMs: 30_000 });
  const count: SendCount = { accepted: 0, refused: new Map() };
  const note = (why: string): void => void count.refused.set(why, (count.refused.get(why) ?? 0) + 1);
  const sends: Promise<void>[] = [];
  let linkGone = false;
  for (let i = 0; i < n && !signal.aborted && !linkGone; i++) {
    try {
      await tx.ready();
    } catch (e) {
      note(`link: ${(e as { code?: string }).code ?? (e as Error).message}`);
      break;
    }
    sends.push(
      tx.send({ body }).then(
        (o: DeliveryState | undefined) => {
          if (o?.type === 'accepted' || o === undefined) count.accepted++;
          else note(o.type === 'rejected' ? `rejected ${o.error?.condition ?? ''}`.trim() : o.type);
        },
        (e: { code?: string; condition?: string; message: string }) => {
          linkGone = true;
          note(e.condition ?? e.code ?? e.message);
        },
      ),
    );
  }
  await Promise.all(sends);
  return count;
}

/**
 * Reads every message on `addresses`, counting the `match`es, until a receiver has had no match
 * for QUIET_MS (the probe client keeps sending to its own partition, which is never quiet).
 */
async function readAll(
  conn: AmqpConnection,
  addresses: string[],
  match: (body: unknown) => boolean,
  signal: AbortSignal,
): Promise<number> {
  let n = 0;
  await Promise.all(
    addresses.map(async (address) => {
      const rx = await conn.openReceiver({ address, credit: 2000 });
      let lastMatch = performance.now();
      while (performance.now() - lastMatch < QUIET_MS && !signal.aborted) {
        let m;
        try {
          m = await rx.receive({ timeoutMs: QUIET_MS });
        } catch (e) {
          if ((e as { code?: string }).code === 'AMQP_TIMEOUT') break;
          throw e;
        }
        if (!m) break;
        if (match(m.message.body)) {
          n++;
          lastMatch = performance.now();
        }
        m.accept();
      }
      await rx.close();
    }),
  );
  return n;
}

function verdictFor(
  sent: number,
  c: SendCount,
  readable: number,
  what: string,
  flags: string[],
): AttackOutcome {
  const refused = [...c.refused.values()].reduce((a, b) => a + b, 0);
  const lost = c.accepted - readable;
  const text =
    `${sent} sent: ${c.accepted} accepted, ${refused} refused` +
    (refused ? ` (${[...c.refused].map(([w, k]) => `${k}x ${w}`).join('; ')})` : '') +
    `; ${readable} readable back, ${lost} accepted ${what} lost` +
    (flags.length ? ` (server started with ${flags.join(' ')})` : '');
  if (lost > 0) return outcome('lost', 'HOLE', text);
  return outcome(refused > 0 ? 'refused' : 'accepted', refused > 0 ? 'held' : '-', text);
}

const isAttackBody = (b: unknown): boolean => Buffer.isBuffer(b) && b.length === EVENT_SIZE && b[0] === 0x66;

async function partitionFill(ctx: AttackContext): Promise<AttackOutcome> {
  const n = ctx.options.events;
  const body = Buffer.alloc(EVENT_SIZE, 0x66);
  const tx = await connectPlain(ctx.info, devicePlain(ctx.info));
  let c: SendCount;
  try {
    c = await sendAll(tx, telemetryAddress(), n, body, ctx.signal);
  } finally {
    await tx.close().catch(() => {});
  }
  const rx = await connectPlain(ctx.info, servicePlain(ctx.info));
  let readable: number;
  try {
    const parts = Array.from({ length: PARTITIONS }, (_, p) => partitionAddress(ctx.info, p));
    readable = await readAll(rx, parts, isAttackBody, ctx.signal);
  } finally {
    await rx.close().catch(() => {});
  }
  return verdictFor(n, c, readable, 'events', hubLimitArgs());
}

async function queueFill(ctx: AttackContext): Promise<AttackOutcome> {
  const n = ctx.options.queueMessages;
  const conn = await connectPlain(ctx.info, BROKER_AUTH);
  try {
    const c = await sendAll(conn, 'attack-fill', n, Buffer.alloc(EVENT_SIZE, 0x66), ctx.signal);
    const readable = await readAll(conn, ['attack-fill'], isAttackBody, ctx.signal);
    return verdictFor(n, c, readable, 'messages', brokerLimitArgs());
  } finally {
    await conn.close().catch(() => {});
  }
}

const QUEUE_NAMES = 20_000;

/** Receivers attach to and detach from many distinct names: are the unused queues kept? */
async function manyQueues(ctx: AttackContext): Promise<AttackOutcome> {
  const conn = await connectPlain(ctx.info, BROKER_AUTH);
  try {
    const before = ctx.server?.memory();
    let done = 0;
    const BATCH = 200;
    for (let i = 0; i < QUEUE_NAMES && !ctx.signal.aborted; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, QUEUE_NAMES - i) }, async (_, k) => {
          const rx = await conn.openReceiver({ address: `attack-name-${i + k}`, credit: 1 });
          await rx.close();
          done++;
        }),
      );
    }
    const after = ctx.server?.memory();
    const grew =
      before && after ? ((after.rssMiB - before.rssMiB) * 1024 * 1024) / Math.max(1, done) : undefined;
    return outcome(
      'accepted',
      '-',
      `${done} receivers attached to and detached from distinct names, no message sent` +
        (grew === undefined ? '' : `; server RSS ${grew >= 0 ? '+' : ''}${grew.toFixed(0)} B per name`),
    );
  } finally {
    await conn.close().catch(() => {});
  }
}

export const FILL_ATTACKS: Attack[] = [
  {
    name: 'partition-fill',
    family: 'fill',
    target: 'hub',
    title: 'one device sends N small events unpaced; the service reads every partition back',
    timeoutMs: 120_000,
    serverArgs: (_o: RunOptions) => ['--partitions', String(PARTITIONS), ...hubLimitArgs()],
    run: partitionFill,
  },
  {
    name: 'queue-fill',
    family: 'fill',
    target: 'broker',
    title: 'alice sends N small messages to one queue unpaced, then reads them back',
    timeoutMs: 120_000,
    serverArgs: () => brokerLimitArgs(),
    run: queueFill,
  },
  {
    name: 'many-queues',
    family: 'fill',
    target: 'broker',
    title: `alice attaches and detaches receivers on ${QUEUE_NAMES} distinct queue names`,
    timeoutMs: 60_000,
    run: manyQueues,
  },
];
