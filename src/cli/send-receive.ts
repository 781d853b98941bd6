/** `amqp-one send URL` and `amqp-one receive URL`: print outcomes and messages. AMQP_TRACE=frames shows the frames. */
import { readFileSync } from 'node:fs';
import { connect } from '../client/connect.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../api/deadline.js';
import { int, noPositionals, out, parse, positiveInt, UsageError, urlAndAddress } from './args.js';

const common = {
  count: { type: 'string', short: 'c' },
  address: { type: 'string' },
  proxy: { type: 'string' },
  json: { type: 'boolean' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

const URL_HELP = `  URL is amqp[s]://[user:pass@]host:port/address, or ws[s]://[user:pass@]host:port/path for AMQP
  over WebSockets, whose path is the WebSocket endpoint: the address then comes with --address A.
  --proxy URL goes through an HTTP proxy (http://[user:pass@]host:port), or 'env' for the one
  HTTPS_PROXY or HTTP_PROXY names, unless NO_PROXY lists the host.`;

const TIMEOUT_HELP = `  --timeout MS bounds connecting (TCP, TLS, SASL, open), opening the link and closing
  (default ${DEFAULT_CONNECT_TIMEOUT_MS} ms); past it the command fails with AMQP_TIMEOUT (exit 1).`;

function connectOptions(
  url: string,
  v: { ca?: string; insecure?: boolean; timeout?: string; address?: string; proxy?: string },
) {
  const { url: u, address } = urlAndAddress(url, v.address);
  const tls = u.tls
    ? { ca: v.ca ? readFileSync(v.ca) : undefined, rejectUnauthorized: !v.insecure }
    : undefined;
  const timeout = positiveInt(v.timeout, 'timeout', DEFAULT_CONNECT_TIMEOUT_MS);
  const proxy = v.proxy;
  return { address, options: { url, tls, proxy, connectTimeoutMs: timeout, openTimeoutMs: timeout } };
}

export const SEND_HELP = `amqp-one send URL [--address A] [--proxy URL] [--count N] [--body TEXT | --body-size B] [--presettled] [--json] [--ca FILE] [--insecure] [--timeout MS]
  Sends N messages (default 1) to the address and prints each outcome.
${URL_HELP}
${TIMEOUT_HELP}`;

export async function sendCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    ...common,
    body: { type: 'string' },
    'body-size': { type: 'string' },
    presettled: { type: 'boolean' },
  });
  if (v.help) return (console.log(SEND_HELP), 0);
  const url = positionals[0];
  if (!url) throw new UsageError('send needs a URL');
  noPositionals(positionals.slice(1));
  const count = int(v.count, 'count', 1);
  const size = v['body-size'] === undefined ? undefined : int(v['body-size'], 'body-size', 0);
  const { address, options } = connectOptions(url, v);
  const conn = await connect(options);
  try {
    const sender = await conn.openSender({ address, presettled: v.presettled });
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const body = size !== undefined ? Buffer.alloc(size, 0x61) : (v.body ?? `message ${i}`);
      await sender.ready();
      sends.push(
        sender.send({ properties: { messageId: `m-${i}` }, body }).then((o) => {
          out(v.json ?? false, `${i}: ${o?.type ?? 'sent (presettled)'}`, { index: i, outcome: o ?? null });
        }),
      );
    }
    await Promise.all(sends);
  } finally {
    await conn.close();
  }
  return 0;
}

export const RECEIVE_HELP = `amqp-one receive URL [--address A] [--proxy URL] [--count N] [--json] [--ca FILE] [--insecure] [--timeout MS]
  Receives N messages (default: until interrupted) from the address, prints and accepts them.
${URL_HELP}
${TIMEOUT_HELP}`;

export async function receiveCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, common);
  if (v.help) return (console.log(RECEIVE_HELP), 0);
  const url = positionals[0];
  if (!url) throw new UsageError('receive needs a URL');
  noPositionals(positionals.slice(1));
  const count = v.count === undefined ? Infinity : int(v.count, 'count', 1);
  const { address, options } = connectOptions(url, v);
  const conn = await connect(options);
  let n = 0;
  try {
    const receiver = await conn.openReceiver({ address, credit: Math.min(count, 500) });
    for await (const m of receiver) {
      const msg = m.message;
      const body = Buffer.isBuffer(msg.body) ? msg.body.toString('utf8') : msg.body;
      out(v.json ?? false, `${n}: ${typeof body === 'string' ? body : JSON.stringify(body)}`, {
        index: n,
        properties: msg.properties,
        applicationProperties: msg.applicationProperties,
        messageAnnotations: msg.messageAnnotations,
        body: body instanceof Uint8Array ? Buffer.from(body).toString('base64') : body,
      });
      m.accept();
      if (++n >= count) break;
    }
  } finally {
    await conn.close();
  }
  return 0;
}
