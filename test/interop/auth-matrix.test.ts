/**
 * No way in without credentials, on every server of the project: a `listen()` server with PLAIN,
 * the broker with users (library and `amqp-one broker --user`) and the IoT hub emulator. Each is
 * tried with the bare AMQP header, ANONYMOUS, a wrong password and the right one, by our client and
 * by Qpid Proton (Python). The hub keeps taking the bare header (the Node SDKs authenticate by CBS
 * after the open), but such a connection gets no device link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect, type ConnectOptions } from '../../src/client/index.js';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { generateSasToken } from '../../src/iothub/sas.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { runProtonClient, type ProtonClientOptions } from './support/peers.js';

const CLI = resolve(__dirname, '../../dist/cli/main.js');

interface Target {
  port: number;
  address: string;
  user: string;
  password: string;
}

type Attempt = 'bare header' | 'ANONYMOUS' | 'wrong password' | 'right password';
const ATTEMPTS: Attempt[] = ['bare header', 'ANONYMOUS', 'wrong password', 'right password'];

/** Our client: connect, attach a sender, send one message; 'ok' or the error's code. */
async function ours(t: Target, a: Attempt): Promise<string> {
  const o: ConnectOptions = { host: '127.0.0.1', port: t.port, hostname: 'localhost' };
  if (a === 'bare header') o.sasl = 'none';
  else if (a === 'ANONYMOUS') o.sasl = 'ANONYMOUS';
  else
    Object.assign(o, {
      sasl: 'PLAIN',
      username: t.user,
      password: a === 'right password' ? t.password : 'nope',
    });
  try {
    const c = await connect(o);
    try {
      const s = await c.openSender(t.address);
      const outcome = await s.send({ body: 'hello' });
      return outcome?.type === 'accepted' ? 'ok' : `outcome ${outcome?.type}`;
    } finally {
      await c.close().catch(() => undefined);
    }
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** Proton: send one message; 'ok' or the first line of what it printed on failure. */
async function proton(t: Target, a: Attempt): Promise<string> {
  const o: ProtonClientOptions = { url: `amqp://127.0.0.1:${t.port}`, address: t.address, count: 1 };
  if (a === 'bare header') o.noSasl = true;
  else if (a === 'ANONYMOUS') o.mechs = 'ANONYMOUS';
  else Object.assign(o, { user: t.user, password: a === 'right password' ? t.password : 'nope' });
  const r = await runProtonClient('send', o);
  if (r.code === 0 && r.stdout.includes('sent 1 accepted 1')) return 'ok';
  return `exit ${r.code}: ${r.stderr.split('\n')[0]}`;
}

const plainCheck = (u: string, p: string): boolean => u === 'alice' && p === 's3cret';
const refusedAtHandshake = {
  ours: {
    'bare header': 'AMQP_SASL_REQUIRED',
    ANONYMOUS: 'AMQP_SASL_NO_MECHANISM',
    'wrong password': 'AMQP_SASL_AUTH_FAILED',
    'right password': 'ok',
  },
  // Proton sees the SASL header it did not ask for, or the SASL outcome: a transport error.
  proton: {
    'bare header': /^exit 1: transport error: .*amqp:connection:framing-error/,
    ANONYMOUS: /^exit 1: transport error: .*amqp:unauthorized-access/,
    'wrong password': /^exit 1: transport error: .*amqp:unauthorized-access/,
    'right password': /^ok$/,
  },
};

let server: AmqpServer;
let broker: Broker;
let cli: ChildProcess;
let cliPort: number;
let hub: IotHubEmulator;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  server = await listen({
    port: 0,
    sasl: { plain: plainCheck },
    onLink: (l) => {
      const r = l.acceptReceiver();
      void (async () => {
        for await (const m of r) m.accept();
      })().catch(() => undefined);
    },
  });
  broker = await startBroker({ port: 0, users: { alice: 's3cret' } });
  cli = spawn(process.execPath, [CLI, 'broker', '--port', '0', '--json', '--user', 'alice:s3cret']);
  cliPort = await new Promise<number>((res, rej) => {
    let buf = '';
    cli.stdout!.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (line) res((JSON.parse(line) as { port: number }).port);
    });
    cli.on('exit', (code) => rej(new Error(`broker exited with ${code}`)));
  });
  hub = await startHub({ devices: ['d1'] });
});

afterAll(async () => {
  cli?.kill('SIGTERM');
  await Promise.all([server?.close(), broker?.close(), hub?.close()]);
});

describe.each([
  [
    'listen() with PLAIN',
    (): Target => ({ port: server.port, address: 'q', user: 'alice', password: 's3cret' }),
  ],
  [
    'startBroker({ users })',
    (): Target => ({ port: broker.port, address: 'q', user: 'alice', password: 's3cret' }),
  ],
  [
    'amqp-one broker --user',
    (): Target => ({ port: cliPort, address: 'q', user: 'alice', password: 's3cret' }),
  ],
])('%s', (_name, target) => {
  it.each(ATTEMPTS)('our client, %s', async (a) => {
    expect(await ours(target(), a)).toBe(refusedAtHandshake.ours[a]);
  });
  it.each(ATTEMPTS)('Proton, %s', { timeout: 30_000 }, async (a) => {
    expect(await proton(target(), a)).toMatch(refusedAtHandshake.proton[a]);
  });
});

describe('the IoT hub emulator', () => {
  const target = (): Target => ({
    port: hub.port,
    address: '/devices/d1/messages/events',
    user: `d1@sas.${hub.hubName}`,
    password: generateSasToken({
      resourceUri: `localhost:${hub.port}/devices/d1`,
      key: hub.state.registry.getDevice('d1')!.primaryKey,
    }),
  });
  // The handshake lets the bare header and ANONYMOUS through (CBS follows); the device link does not.
  const expected = {
    ours: {
      'bare header': 'AMQP_UNAUTHORIZED_ACCESS',
      ANONYMOUS: 'AMQP_UNAUTHORIZED_ACCESS',
      'wrong password': 'AMQP_SASL_AUTH_FAILED',
      'right password': 'ok',
    },
    proton: {
      'bare header': /^exit 1: link error: .*amqp:unauthorized-access/,
      ANONYMOUS: /^exit 1: link error: .*amqp:unauthorized-access/,
      'wrong password': /^exit 1: transport error: .*amqp:unauthorized-access/,
      'right password': /^ok$/,
    },
  };
  it.each(ATTEMPTS)('our client, %s', async (a) => {
    expect(await ours(target(), a)).toBe(expected.ours[a]);
  });
  it.each(ATTEMPTS)('Proton, %s', { timeout: 30_000 }, async (a) => {
    expect(await proton(target(), a)).toMatch(expected.proton[a]);
  });
});
