/**
 * `npm run attack [-- --json] [-- --only NAME[,NAME]] [-- --list] [-- --wait S]`: hostile clients
 * (docs/security.md) against `amqp-one broker` and `amqp-one hub` (children on loopback), as tables of
 * outcome, server RSS before / after / peak, and an honest client's round trip during each.
 *
 *   --only NAME       an attack or family (repeatable, or comma-separated)
 *   --json            one JSON document instead of the tables
 *   --list            the attacks and what each does
 *   --wait S          how long the slow-handshake and idle attacks wait (default 12 s; the client
 *                     attacks wait at most 5 s)
 *   --big-mib N       the big message's size (default 256)
 *   --connections N   sockets in many-connections (default 2000)
 *   --events N        events in partition-fill (default 150000)
 *   --messages N      messages in queue-fill (default 120000)
 *   --rss-cap MIB     stop an attack when the server's RSS passes this (default 4096)
 *
 * Exit code 1 when any attack found a HOLE, so a script can fail on one.
 */
import { parseArgs } from 'node:util';
import { ALL_ATTACKS } from './attacks/index.js';
import { DEFAULT_RUN_OPTIONS } from './attack.js';
import { runAttacks, selectAttacks } from './runner.js';
import { formatJson, formatTables } from './table.js';

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
      wait: { type: 'string' },
      'big-mib': { type: 'string' },
      connections: { type: 'string' },
      events: { type: 'string' },
      messages: { type: 'string' },
      'rss-cap': { type: 'string' },
    },
    strict: true,
  });
  if (v.list) {
    for (const a of ALL_ATTACKS)
      console.log(`${a.name.padEnd(24)} ${a.family.padEnd(12)} ${a.target.padEnd(7)} ${a.title}`);
    return 0;
  }
  const n = (s: string | undefined, dflt: number): number => {
    if (s === undefined) return dflt;
    const x = Number(s);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`not a positive number: ${s}`);
    return x;
  };
  const only = (v.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  selectAttacks(only); // unknown names fail before anything starts
  const rows = await runAttacks({
    only,
    waitSeconds: n(v.wait, DEFAULT_RUN_OPTIONS.waitSeconds),
    bigMessageMiB: n(v['big-mib'], DEFAULT_RUN_OPTIONS.bigMessageMiB),
    connections: n(v.connections, DEFAULT_RUN_OPTIONS.connections),
    events: n(v.events, DEFAULT_RUN_OPTIONS.events),
    queueMessages: n(v.messages, DEFAULT_RUN_OPTIONS.queueMessages),
    rssCapMiB: n(v['rss-cap'], DEFAULT_RUN_OPTIONS.rssCapMiB),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  console.log(v.json ? formatJson(rows) : formatTables(rows));
  return rows.some((r) => r.verdict === 'HOLE') ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`attack: ${(e as Error).message}`);
    process.exitCode = 2;
  },
);
