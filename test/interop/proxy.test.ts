/**
 * Our client through a real HTTP proxy: Debian's tinyproxy (installed by scripts/install-peers.sh),
 * one per case with its own config, in front of our broker over TCP and over TLS. Refusals (407
 * without credentials, 401 for a wrong password, 403 for a port the proxy does not tunnel to) and
 * an unreachable proxy are typed ProxyErrors that name the proxy and never its password.
 * WebSockets (wss://) go through the same tunnel, and `proxy: 'env'` reads HTTPS_PROXY and NO_PROXY.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect } from '../../src/client/connect.js';
import { ProxyError } from '../../src/transport/http-proxy.js';
import { freePort, ManagedProcess, makeTestCertificates, waitForPort } from './support/peers.js';
import { nextMessage } from './support/ours.js';
import { jsonLines, runCli } from '../cli/run-cli.js';

const TINYPROXY = '/usr/bin/tinyproxy';
const PASSWORD = 's3cret-pass.word_9'; // tinyproxy's config takes letters, digits and . - _ only

let broker: Broker;
let tlsBroker: Broker;
let ca: string;
let dir: string;
const proxies: ManagedProcess[] = [];

/** A tinyproxy on a free port that tunnels only to `connectPorts`, with Basic auth if `auth`. */
async function startTinyproxy(
  connectPorts: number[],
  auth?: { user: string; pass: string },
): Promise<number> {
  const port = await freePort();
  const file = path.join(dir, `tinyproxy-${port}.conf`);
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    'Allow 127.0.0.1',
    'LogLevel Info',
    ...connectPorts.map((p) => `ConnectPort ${p}`),
  ];
  if (auth) lines.push(`BasicAuth ${auth.user} ${auth.pass}`);
  await fsp.writeFile(file, lines.join('\n') + '\n');
  const proc = new ManagedProcess(TINYPROXY, ['-d', '-c', file], { name: 'tinyproxy' });
  proxies.push(proc);
  await waitForPort(port, { proc, timeoutMs: 10_000 });
  return port;
}

/** Sends one message through the connection and reads it back from the same queue. */
async function roundTrip(options: Parameters<typeof connect>[0], body: string): Promise<unknown> {
  const conn = await connect(options);
  try {
    const sender = await conn.openSender('proxied');
    const receiver = await conn.openReceiver('proxied');
    expect(await sender.send({ body })).toEqual({ type: 'accepted' });
    const m = await nextMessage(receiver);
    m.accept();
    return m.message.body;
  } finally {
    await conn.close();
  }
}

async function refusal(p: Promise<unknown>): Promise<ProxyError> {
  const err = await p.then(
    () => new Error('expected a ProxyError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProxyError);
  return err as ProxyError;
}

beforeAll(async () => {
  // Fails (rather than skips) where tinyproxy is missing: the peers script installs it.
  await fsp.access(TINYPROXY);
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'amqp-one-tinyproxy-'));
  const certs = await makeTestCertificates();
  ca = certs.ca;
  broker = await startBroker({ port: 0, sasl: { anonymous: true } });
  tlsBroker = await startBroker({
    port: 0,
    sasl: { anonymous: true },
    tls: { cert: certs.serverCert, key: certs.serverKey },
    websocket: { path: '/ws' },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.terminate()));
  await broker?.close();
  await tlsBroker?.close();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
}, 20_000);

describe('through tinyproxy', () => {
  it('sends and receives over plain TCP through the tunnel', async () => {
    const port = await startTinyproxy([broker.port]);
    const body = await roundTrip(
      { host: '127.0.0.1', port: broker.port, proxy: `http://127.0.0.1:${port}` },
      'over tcp',
    );
    expect(body).toBe('over tcp');
  });

  it('sends and receives over TLS inside the tunnel, verifying the target (not the proxy)', async () => {
    const port = await startTinyproxy([tlsBroker.port]);
    const body = await roundTrip(
      {
        host: 'localhost',
        port: tlsBroker.port,
        tls: { ca },
        proxy: new URL(`http://127.0.0.1:${port}`),
      },
      'over tls',
    );
    expect(body).toBe('over tls');
  });

  it('authenticates with Basic and the right password', async () => {
    const port = await startTinyproxy([broker.port], { user: 'amqp', pass: PASSWORD });
    const proxy = `http://amqp:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const body = await roundTrip({ host: '127.0.0.1', port: broker.port, proxy }, 'authenticated');
    expect(body).toBe('authenticated');
  });

  it('no credentials is AMQP_PROXY_REFUSED with status 407, naming the proxy', async () => {
    const port = await startTinyproxy([broker.port], { user: 'amqp', pass: PASSWORD });
    const err = await refusal(
      connect({ host: '127.0.0.1', port: broker.port, proxy: `http://127.0.0.1:${port}` }),
    );
    expect(err.code).toBe('AMQP_PROXY_REFUSED');
    expect(err.status).toBe(407);
    expect(err.proxy).toBe(`127.0.0.1:${port}`);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  // tinyproxy answers wrong credentials with 401 (and none with 407); either way a refusal.
  it("a wrong password is AMQP_PROXY_REFUSED with the proxy's status, and the password is not in the message", async () => {
    const port = await startTinyproxy([broker.port], { user: 'amqp', pass: PASSWORD });
    const wrong = 'not-the-password-42';
    const err = await refusal(
      connect({ host: '127.0.0.1', port: broker.port, proxy: `http://amqp:${wrong}@127.0.0.1:${port}` }),
    );
    expect(err.code).toBe('AMQP_PROXY_REFUSED');
    expect(err.status).toBe(401);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(Buffer.from(`amqp:${wrong}`).toString('base64'));
  });

  it('a port the proxy does not tunnel to is AMQP_PROXY_REFUSED with status 403', async () => {
    const port = await startTinyproxy([tlsBroker.port]);
    const err = await refusal(
      connect({ host: '127.0.0.1', port: broker.port, proxy: `http://127.0.0.1:${port}` }),
    );
    expect(err.code).toBe('AMQP_PROXY_REFUSED');
    expect(err.status).toBe(403);
  });

  it('a proxy port nothing listens on is AMQP_PROXY_UNREACHABLE', async () => {
    const port = await freePort();
    const err = await refusal(
      connect({ host: '127.0.0.1', port: broker.port, proxy: `http://u:hidden@127.0.0.1:${port}` }),
    );
    expect(err.code).toBe('AMQP_PROXY_UNREACHABLE');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).not.toContain('hidden');
  });

  it('wss:// goes through the tunnel with Basic auth: TLS and the upgrade end to end with the target', async () => {
    const port = await startTinyproxy([tlsBroker.port], { user: 'amqp', pass: PASSWORD });
    const body = await roundTrip(
      {
        url: `wss://localhost:${tlsBroker.port}/ws`,
        tls: { ca },
        proxy: `http://amqp:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
      },
      'over wss',
    );
    expect(body).toBe('over wss');
  });

  describe("proxy: 'env'", () => {
    const saved = { ...process.env };
    const setEnv = (vars: Record<string, string | undefined>): void => {
      for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'])
        delete process.env[k];
      Object.assign(process.env, vars);
    };
    afterAll(() => setEnv(saved));

    it('takes HTTPS_PROXY for a TLS target', async () => {
      const port = await startTinyproxy([tlsBroker.port]);
      setEnv({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
      const opts = { host: 'localhost', port: tlsBroker.port, tls: { ca }, proxy: 'env' };
      expect(await roundTrip(opts, 'via env')).toBe('via env');
      // An unreachable proxy in the variable fails the connection: the variable is what is used.
      const closed = await freePort();
      setEnv({ HTTPS_PROXY: `http://127.0.0.1:${closed}` });
      expect((await refusal(connect({ ...opts, reconnect: false }))).code).toBe('AMQP_PROXY_UNREACHABLE');
    });

    it('goes direct for a host NO_PROXY lists, and when no proxy variable is set', async () => {
      const closed = await freePort();
      setEnv({ HTTPS_PROXY: `http://127.0.0.1:${closed}`, NO_PROXY: 'example.com, localhost' });
      const opts = { host: 'localhost', port: tlsBroker.port, tls: { ca }, proxy: 'env' };
      expect(await roundTrip(opts, 'direct')).toBe('direct');
      setEnv({});
      expect(await roundTrip(opts, 'no proxy set')).toBe('no proxy set');
    });
  });

  it('amqp-one send and receive take --proxy, and a refusal is one typed line with exit 1', async () => {
    const port = await startTinyproxy([broker.port], { user: 'amqp', pass: PASSWORD });
    const proxy = `http://amqp:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
    const url = `amqp://127.0.0.1:${broker.port}/cli-proxied`;
    const sent = await runCli(['send', url, '--proxy', proxy, '--body', 'via cli', '--json']);
    expect(sent.code).toBe(0);
    expect(jsonLines(sent.stdout)[0]!.outcome).toEqual({ type: 'accepted' });
    const got = await runCli(['receive', url, '--proxy', proxy, '--count', '1', '--json']);
    expect(jsonLines(got.stdout)[0]!.body).toBe('via cli');
    const refused = await runCli(['send', url, '--proxy', `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AMQP_PROXY_REFUSED');
    expect(refused.stderr).not.toContain(PASSWORD);
  });
});
