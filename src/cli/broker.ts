/** `amqp-one broker`: the in-memory queue broker. */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_BROKER_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_BROKER_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_MAX_QUEUE_MESSAGES,
  DEFAULT_MAX_QUEUES,
  startBroker,
} from '../broker/index.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS } from '../server/limits.js';
import { int, noPositionals, out, parse, port, positiveInt, UsageError } from './args.js';

export const BROKER_HELP = `amqp-one broker [--host H] [--port P] [--ws-port P] [--tls-cert FILE --tls-key FILE] [--user name:password]... [--json]
               [limits: see below]
  An in-memory queue broker: one queue per address, dynamic nodes, presettled and unsettled
  delivery, rcv-settle-mode second, drain, and every outcome (released and modified messages are
  redelivered). With --user, SASL PLAIN is required: ANONYMOUS and the bare AMQP header are refused.
  Without --user the broker is open: ANONYMOUS and bare AMQP are accepted. An open broker listens
  on loopback only, unless --allow-anonymous says it may listen elsewhere (--host).
  --ws-port P serves AMQP over WebSockets on a second port, at ws://H:P/ (wss:// with --tls-cert),
  with the same queues, users and limits.
  Per client:
    --max-message-size N     largest message a client may send (default ${DEFAULT_BROKER_MAX_MESSAGE_SIZE}; 0 = no limit)
    --idle-timeout-ms MS     close a client silent this long (default ${DEFAULT_IDLE_TIMEOUT_MS}; 0 = never)
    --max-connections N      clients at once (default ${DEFAULT_MAX_CONNECTIONS}; 0 = no limit)
  Queues (a send past them is rejected with amqp:resource-limit-exceeded; unused queues are freed):
    --max-queue-messages N   messages per queue, waiting or unsettled (default ${DEFAULT_MAX_QUEUE_MESSAGES})
    --max-queue-bytes N      bytes per queue (default ${DEFAULT_MAX_QUEUE_BYTES} = 64 MiB)
    --max-total-bytes N      bytes in all queues (default ${DEFAULT_MAX_BROKER_BYTES} = 512 MiB)
    --max-queues N           queues at once; an attach that would create one more is refused (default ${DEFAULT_MAX_QUEUES})`;

export async function brokerCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    'ws-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    user: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    'allow-anonymous': { type: 'boolean' },
    'max-message-size': { type: 'string' },
    'idle-timeout-ms': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-queue-messages': { type: 'string' },
    'max-queue-bytes': { type: 'string' },
    'max-total-bytes': { type: 'string' },
    'max-queues': { type: 'string' },
  });
  if (v.help) return (console.log(BROKER_HELP), 0);
  noPositionals(positionals);
  if (Boolean(v['tls-cert']) !== Boolean(v['tls-key']))
    throw new UsageError('--tls-cert and --tls-key go together');
  const users: Record<string, string> = {};
  for (const u of v.user ?? []) {
    const i = u.indexOf(':');
    if (i <= 0) throw new UsageError(`--user must be name:password, got ${u}`);
    users[u.slice(0, i)] = u.slice(i + 1);
  }
  const host = v.host ?? '127.0.0.1';
  const open = Object.keys(users).length === 0;
  // Anyone who can reach a non-loopback address could use an open broker: that needs saying.
  if (open && !isLoopback(host) && !v['allow-anonymous'])
    throw new UsageError(`an open broker (no --user) on ${host} needs --allow-anonymous; or give --user`);
  const broker = await startBroker({
    host,
    port: port(v.port, 'port', 5672),
    ...(v['ws-port'] === undefined ? {} : { wsPort: port(v['ws-port'], 'ws-port', 0) }),
    tls: v['tls-cert'] ? { cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key']!) } : undefined,
    // No --user: an open broker, as the help says (ANONYMOUS and the bare header).
    ...(open ? { sasl: { anonymous: true } } : { users }),
    idleTimeoutMs: int(v['idle-timeout-ms'], 'idle-timeout-ms', DEFAULT_IDLE_TIMEOUT_MS),
    limits: {
      maxMessageSize: int(v['max-message-size'], 'max-message-size', DEFAULT_BROKER_MAX_MESSAGE_SIZE),
      maxConnections: int(v['max-connections'], 'max-connections', DEFAULT_MAX_CONNECTIONS),
    },
    maxQueueMessages: positiveInt(v['max-queue-messages'], 'max-queue-messages', DEFAULT_MAX_QUEUE_MESSAGES),
    maxQueueBytes: positiveInt(v['max-queue-bytes'], 'max-queue-bytes', DEFAULT_MAX_QUEUE_BYTES),
    maxTotalBytes: positiveInt(v['max-total-bytes'], 'max-total-bytes', DEFAULT_MAX_BROKER_BYTES),
    maxQueues: positiveInt(v['max-queues'], 'max-queues', DEFAULT_MAX_QUEUES),
  });
  const tls = Boolean(v['tls-cert']);
  const ws = broker.wsPort === undefined ? '' : ` and ${tls ? 'wss' : 'ws'}://${host}:${broker.wsPort}/`;
  out(
    v.json ?? false,
    `amqp-one broker listening on ${tls ? 'amqps' : 'amqp'}://${host}:${broker.port}${ws}` +
      (open ? ' (open: no credentials asked)' : ' (SASL PLAIN required)'),
    {
      event: 'listening',
      port: broker.port,
      ...(broker.wsPort === undefined ? {} : { wsPort: broker.wsPort }),
      tls,
      open,
    },
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await broker.close();
  return 0;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
