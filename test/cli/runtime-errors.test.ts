/**
 * Runtime failures reach the user as one line with a stable code and exit 1, never a stack or a
 * bare Node code: a port in use, a missing file, a bad port. The built CLI (dist/) in child
 * processes for what a user meets; toCliError itself for the mapping of Node's real errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, runCli, type CliRun } from './run-cli.js';
import { AmqpOneError } from '../../src/codec/errors.js';
import { CliError, toCliError, UsageError } from '../../src/cli/errors.js';

const MISSING = resolve(__dirname, 'no-such-folder/no-such-file.pem');

const run = (args: string[]): Promise<CliRun> => runCli(args);

/** The error a real failing call raised. */
function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

let taken: net.Server;
let port = 0;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  port = (taken.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => taken?.close(r));
});

const inUse = (): string =>
  `[AMQP_CLI_ADDRESS_IN_USE] the address 127.0.0.1:${port} is already in use: another process listens there (pick another port, or 0 for any free port)`;

describe('a port already in use', () => {
  test.each([
    ['broker', () => ['broker', '--port', String(port)]],
    ['hub', () => ['hub', '--port', String(port), '--no-tls']],
    ['conformance', () => ['conformance', '--listen', String(port)]],
  ])('amqp-one %s: one line, AMQP_CLI_ADDRESS_IN_USE, exit 1', async (name, argv) => {
    const r = await run(argv());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`amqp-one ${name}: ${inUse()}\n`);
  });

  test('with --json the line is a JSON object', async () => {
    const r = await run(['broker', '--port', String(port), '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'AMQP_CLI_ADDRESS_IN_USE', message: inUse().replace('[AMQP_CLI_ADDRESS_IN_USE] ', '') },
    });
  });
});

describe('a missing file named by a flag', () => {
  test.each([
    ['send', ['send', 'amqps://127.0.0.1:1/q', '--ca', MISSING]],
    ['broker', ['broker', '--port', '0', '--tls-cert', MISSING, '--tls-key', MISSING]],
    ['hub', ['hub', '--port', '0', '--no-tls', '--registry', MISSING]],
    [
      'iothub',
      [
        'iothub',
        'feedback',
        '--ca',
        MISSING,
        '--connection-string',
        'HostName=h;SharedAccessKeyName=a;SharedAccessKey=a2V5',
      ],
    ],
  ])('amqp-one %s: one line, AMQP_CLI_FILE_NOT_FOUND with the path, exit 1', async (name, argv) => {
    const r = await run(argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`amqp-one ${name}: [AMQP_CLI_FILE_NOT_FOUND] no such file or folder: ${MISSING}\n`);
  });
});

describe('a hub that refuses the connection', () => {
  const key = Buffer.alloc(32).toString('base64');
  const svc = `HostName=127.0.0.1:1;SharedAccessKeyName=a;SharedAccessKey=${key}`;
  const dev = `HostName=127.0.0.1:1;DeviceId=d;SharedAccessKey=${key}`;
  test.each([
    ['monitor-events', svc],
    ['send-c2d --device d', svc],
    ['feedback', svc],
    ['simulate-device', dev],
    ['receive-c2d', dev],
  ])('amqp-one iothub %s: one line, IOTHUB_NOT_CONNECTED, exit 1 (no endless wait)', async (sub, cs) => {
    const r = await run(['iothub', ...sub.split(' '), '--connection-string', cs]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^amqp-one iothub: \[IOTHUB_NOT_CONNECTED\] not connected to the hub: cannot connect to 127\.0\.0\.1:1: [^\n]*\n$/,
    );
  });
});

describe('toCliError on the errors Node really raises', () => {
  test('ERR_SOCKET_BAD_PORT becomes AMQP_CLI_BAD_PORT', () => {
    const e = caught(() => net.createServer().listen(70000));
    expect((e as { code: string }).code).toBe('ERR_SOCKET_BAD_PORT');
    const c = toCliError(e);
    expect(c).toBeInstanceOf(CliError);
    expect([c.code, c.message]).toEqual([
      'AMQP_CLI_BAD_PORT',
      'bad port: a port is an integer from 0 to 65535',
    ]);
    expect(c.cause).toBe(e);
  });

  test('ENOENT becomes AMQP_CLI_FILE_NOT_FOUND naming the path', () => {
    const c = toCliError(caught(() => readFileSync(MISSING)));
    expect([c.code, c.message]).toEqual(['AMQP_CLI_FILE_NOT_FOUND', `no such file or folder: ${MISSING}`]);
  });

  test('ERR_PARSE_ARGS_* become usage errors naming the option', () => {
    const parse = (args: string[]): unknown =>
      caught(() =>
        parseArgs({
          args,
          options: { count: { type: 'string', short: 'c' } },
          strict: true,
          allowPositionals: false,
        }),
      );
    const cases: [string[], string][] = [
      [['--nope'], 'unknown option --nope'],
      [['--count'], '--count needs a value'],
      [['-c'], '--count needs a value'],
      [['extra'], 'unexpected argument extra'],
    ];
    for (const [args, message] of cases) {
      const c = toCliError(parse(args));
      expect(c).toBeInstanceOf(UsageError);
      expect([c.code, c.message]).toEqual(['AMQP_CLI_USAGE', message]);
    }
  });

  test("a library error wrapping EADDRINUSE reads as the CLI's own; other typed errors keep their code", async () => {
    const second = net.createServer();
    const raw = await new Promise<unknown>((r) => {
      second.once('error', r);
      second.listen(port, '127.0.0.1');
    });
    const wrapped = new AmqpOneError('AMQP_LISTEN_FAILED', 'listen failed', undefined, { cause: raw });
    expect(toCliError(wrapped).code).toBe('AMQP_CLI_ADDRESS_IN_USE');
    const typed = new AmqpOneError('AMQP_TIMEOUT', 'too slow');
    expect(toCliError(typed)).toBe(typed);
  });

  test('an error with no code is AMQP_CLI_FAILED on one line', () => {
    const c = toCliError(new Error('first line\nsecond line'));
    expect([c.code, c.message]).toEqual(['AMQP_CLI_FAILED', 'first line']);
  });
});
