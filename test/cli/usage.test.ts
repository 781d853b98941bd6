/**
 * Every command's usage errors, on the built CLI (dist/: `npm run build` first): exit 2, nothing on
 * stdout, and on stderr one line `amqp-one <command>: [AMQP_CLI_USAGE] <what>` followed by that
 * command's help. And `--help` prints the same help on stdout with exit 0.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { CLI, runCli, type CliRun } from './run-cli.js';

// No IOTHUB_CONNECTION_STRING from the environment: its absence is one of the cases.
const run = (args: string[]): Promise<CliRun> => runCli(args, { IOTHUB_CONNECTION_STRING: '' });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

const CS = ['--connection-string', 'HostName=localhost:1;SharedAccessKeyName=a;SharedAccessKey=a2V5'];

/** Each command (as typed before its options), a string option and a number option it takes. */
const COMMANDS: { name: string; argv: string[]; value?: string; number?: string }[] = [
  { name: 'demo', argv: ['demo'] },
  { name: 'hub', argv: ['hub'], value: '--hub-name', number: '--port' },
  { name: 'broker', argv: ['broker'], value: '--host', number: '--port' },
  { name: 'send', argv: ['send', 'amqp://127.0.0.1:1/q'], value: '--body', number: '--count' },
  { name: 'receive', argv: ['receive', 'amqp://127.0.0.1:1/q'], value: '--ca', number: '--count' },
  {
    name: 'conformance',
    argv: ['conformance', 'amqp://127.0.0.1:1'],
    value: '--report',
    number: '--timeout',
  },
  { name: 'bench', argv: ['bench', 'amqp://127.0.0.1:1/q'], value: '--mode', number: '--warmup' },
  {
    name: 'iothub monitor-events',
    argv: ['iothub', 'monitor-events', ...CS],
    value: '--from',
    number: '--count',
  },
  {
    name: 'iothub send-c2d',
    argv: ['iothub', 'send-c2d', ...CS, '--device', 'd'],
    value: '--body',
    number: '--expiry-ms',
  },
  { name: 'iothub feedback', argv: ['iothub', 'feedback', ...CS], value: '--ca', number: '--count' },
  {
    name: 'iothub simulate-device',
    argv: ['iothub', 'simulate-device', ...CS],
    value: '--model-id',
    number: '--interval',
  },
  {
    name: 'iothub receive-c2d',
    argv: ['iothub', 'receive-c2d', ...CS],
    value: '--action',
    number: '--count',
  },
  {
    name: 'iothub device',
    argv: ['iothub', 'device', 'create', ...CS, '--device', 'd'],
    value: '--primary-key',
    number: '--port',
  },
  { name: 'iothub device', argv: ['iothub', 'device', 'list', ...CS], value: '--device', number: '--top' },
  {
    name: 'iothub invoke-method',
    argv: ['iothub', 'invoke-method', 'd', 'reboot', ...CS],
    value: '--payload',
    number: '--connect-timeout',
  },
  { name: 'iothub twin', argv: ['iothub', 'twin', 'get', 'd/m', ...CS], value: '--ca', number: '--port' },
  {
    name: 'iothub twin',
    argv: ['iothub', 'twin', 'update', 'd', ...CS, '--desired', '{}'],
    value: '--etag',
    number: '--port',
  },
];

/** [the command's help's first line starts with, argv, the one-line message]. */
const CASES: [string, string[], string][] = [];
for (const c of COMMANDS) {
  const help = `amqp-one ${c.name}`;
  CASES.push([help, [...c.argv, '--bogus'], 'unknown option --bogus']);
  CASES.push([help, [...c.argv, 'stray', 'arguments'], 'unexpected argument stray']);
  if (c.value) CASES.push([help, [...c.argv, c.value], `${c.value} needs a value`]);
  if (c.number)
    CASES.push([help, [...c.argv, c.number, '12x'], `${c.number} must be a non-negative integer, got 12x`]);
}
CASES.push(
  ['amqp-one send', ['send'], 'send needs a URL'],
  ['amqp-one receive', ['receive'], 'receive needs a URL'],
  ['amqp-one conformance', ['conformance'], 'conformance needs a URL, or --listen PORT'],
  [
    'amqp-one send',
    ['send', 'ws://127.0.0.1:1/'],
    'a ws:// or wss:// URL needs --address: its path is the WebSocket endpoint',
  ],
  [
    'amqp-one receive',
    ['receive', 'amqp://127.0.0.1:1/q', '--address', 'r'],
    'the address is given twice: q in the URL and r by --address',
  ],
  [
    'amqp-one bench',
    ['bench', 'wss://127.0.0.1:1/ws'],
    'a ws:// or wss:// URL needs --address: its path is the WebSocket endpoint',
  ],
  ['amqp-one bench', ['bench', '--address', 'q'], '--address goes with a URL'],
  [
    'amqp-one broker',
    ['broker', '--ws-port', '65536'],
    '--ws-port must be a port from 0 to 65535, got 65536',
  ],
  ['amqp-one broker', ['broker', '--port', '65536'], '--port must be a port from 0 to 65535, got 65536'],
  ['amqp-one hub', ['hub', '--tls-port', '70000'], '--tls-port must be a port from 0 to 65535, got 70000'],
  [
    'amqp-one hub',
    ['hub', '--retention-hours', '2501999793'],
    '--retention-hours must be at most 876000, got 2501999793',
  ],
  [
    'amqp-one conformance',
    ['conformance', '--listen', '99999'],
    '--listen must be a port from 0 to 65535, got 99999',
  ],
  [
    'amqp-one iothub simulate-device',
    ['iothub', 'simulate-device', ...CS, '--rate', '12x'],
    '--rate must be a non-negative integer, got 12x',
  ],
  [
    'amqp-one iothub simulate-device',
    ['iothub', 'simulate-device', ...CS, '--rate', '5', '--interval', '200'],
    'give --interval or --rate, not both',
  ],
  ['amqp-one iothub', ['iothub'], 'iothub needs a command'],
  ['amqp-one iothub', ['iothub', 'nope'], 'unknown iothub command nope'],
  ['amqp-one iothub send-c2d', ['iothub', 'send-c2d', ...CS], 'send-c2d needs --device'],
  ['amqp-one iothub device', ['iothub', 'device'], 'device needs create, list or delete'],
  ['amqp-one iothub device', ['iothub', 'device', 'rename', ...CS], 'unknown device command rename'],
  ['amqp-one iothub device', ['iothub', 'device', 'delete', ...CS], 'device delete needs --device'],
  [
    'amqp-one iothub device',
    ['iothub', 'device', 'create', ...CS, '--device', 'd', '--auth', 'self-signed'],
    '--auth self-signed needs --thumbprint',
  ],
  [
    'amqp-one iothub device',
    ['iothub', 'device', 'create', ...CS, '--device', 'd', '--auth', 'psk'],
    '--auth must be sas, self-signed or ca, got psk',
  ],
  [
    'amqp-one iothub device',
    ['iothub', 'device', 'list', ...CS, '--port', '70000'],
    '--port must be a port from 0 to 65535, got 70000',
  ],
  [
    'amqp-one iothub invoke-method',
    ['iothub', 'invoke-method', ...CS],
    'invoke-method needs <deviceId>[/<moduleId>]',
  ],
  [
    'amqp-one iothub invoke-method',
    ['iothub', 'invoke-method', 'd', ...CS],
    'invoke-method needs a method name',
  ],
  [
    'amqp-one iothub invoke-method',
    ['iothub', 'invoke-method', 'd/', 'm', ...CS],
    'invoke-method: d/ is not <deviceId>[/<moduleId>]',
  ],
  [
    'amqp-one iothub invoke-method',
    ['iothub', 'invoke-method', 'd', 'm', ...CS, '--payload', '{a:1}'],
    "--payload is not valid JSON: Expected property name or '}' in JSON at position 1",
  ],
  [
    'amqp-one iothub invoke-method',
    ['iothub', 'invoke-method', 'd', 'm', ...CS, '--response-timeout', '1'],
    '--response-timeout must be 5 to 300 seconds, got 1',
  ],
  ['amqp-one iothub twin', ['iothub', 'twin', 'show', 'd', ...CS], 'unknown twin command show'],
  [
    'amqp-one iothub twin',
    ['iothub', 'twin', 'update', 'd', ...CS],
    'twin update needs --desired JSON, --tags JSON or --patch JSON',
  ],
  [
    'amqp-one iothub twin',
    ['iothub', 'twin', 'update', 'd', ...CS, '--desired', '[1]'],
    '--desired must be a JSON object, got [1]',
  ],
  [
    'amqp-one iothub twin',
    ['iothub', 'twin', 'update', 'd', ...CS, '--patch', '{}', '--desired', '{}'],
    '--patch is the whole patch: give it alone, or --desired and --tags',
  ],
  [
    'amqp-one iothub twin',
    ['iothub', 'twin', 'update', 'd', ...CS, '--patch', '{"properties":{},"etag":"x"}'],
    '--patch holds tags and properties.desired only, not etag',
  ],
  [
    'amqp-one iothub twin',
    ['iothub', 'twin', 'get', 'd', ...CS, '--etag', 'e'],
    'twin get takes no --desired, --tags, --patch, --etag or --replace',
  ],
  [
    'amqp-one iothub feedback',
    ['iothub', 'feedback'],
    'give --connection-string or set IOTHUB_CONNECTION_STRING',
  ],
  [
    'amqp-one iothub receive-c2d',
    ['iothub', 'receive-c2d', ...CS, '--action', 'ignore'],
    '--action must be complete, reject or abandon, got ignore',
  ],
  // Names every object inherits are not actions either.
  [
    'amqp-one iothub receive-c2d',
    ['iothub', 'receive-c2d', ...CS, '--action', 'toString'],
    '--action must be complete, reject or abandon, got toString',
  ],
  [
    'amqp-one iothub receive-c2d',
    ['iothub', 'receive-c2d', ...CS, '--action', 'constructor'],
    '--action must be complete, reject or abandon, got constructor',
  ],
);

const label = (argv: string[]): string => argv.filter((a) => !a.startsWith('HostName=')).join(' ');

describe.concurrent('usage errors exit 2 with one typed line and the help, on stderr', () => {
  test.each(CASES.map(([help, argv, message]) => ({ help, argv, message, line: label(argv) })))(
    'amqp-one $line',
    async ({ help, argv, message }) => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const [first, blank, helpLine] = r.stderr.split('\n');
      const command = help.startsWith('amqp-one iothub')
        ? 'amqp-one iothub'
        : help.split(' ').slice(0, 2).join(' ');
      expect(first).toBe(`${command}: [AMQP_CLI_USAGE] ${message}`);
      expect(blank).toBe('');
      expect(helpLine).toMatch(new RegExp(`^${help}( |$)`));
    },
  );

  test.each([[[]], [['nope']]])('amqp-one %j: the command list', async (argv: string[]) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `amqp-one: [AMQP_CLI_USAGE] ${argv.length ? 'unknown command nope' : 'no command given'}`,
    );
    expect(r.stderr).toContain('\n\namqp-one: AMQP 1.0 tools\n');
  });
});

describe.concurrent('--help prints the help on stdout and exits 0', () => {
  test.each(COMMANDS.map((c) => ({ name: c.name })))('amqp-one $name --help', async ({ name }) => {
    const r = await run([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(`amqp-one ${name}`)).toBe(true);
  });
});
