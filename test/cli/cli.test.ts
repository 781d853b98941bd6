/**
 * The amqp-one command as a user runs it: the built CLI (dist/, made by `npm install`'s prepare
 * step or `npm run build`) in child processes, over real sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, jsonLines, runCli } from './run-cli.js';

const run = runCli;

let broker: ChildProcess;
let port = 0;
let wsPort = 0;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  broker = spawn(process.execPath, [CLI, 'broker', '--port', '0', '--ws-port', '0', '--json']);
  ({ port, wsPort } = await new Promise<{ port: number; wsPort: number }>((res, rej) => {
    let buf = '';
    broker.stdout!.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (line) res(JSON.parse(line) as { port: number; wsPort: number });
    });
    broker.on('exit', (code) => rej(new Error(`broker exited with ${code}`)));
  }));
});

afterAll(() => {
  broker?.kill('SIGTERM');
});

describe('amqp-one CLI', () => {
  test('send then receive through the broker, with JSON output', async () => {
    const sent = await run([
      'send',
      `amqp://127.0.0.1:${port}/cli-q`,
      '--count',
      '3',
      '--body',
      'hello',
      '--json',
    ]);
    expect(sent.code).toBe(0);
    const outcomes = sent.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { outcome: { type: string } });
    expect(outcomes.map((o) => o.outcome.type)).toEqual(['accepted', 'accepted', 'accepted']);
    const got = await run(['receive', `amqp://127.0.0.1:${port}/cli-q`, '--count', '3', '--json']);
    expect(got.code).toBe(0);
    const bodies = got.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { body: string }).body);
    expect(bodies).toEqual(['hello', 'hello', 'hello']);
  });

  test('send over ws:// with --address, receive over amqp://: the broker serves both ports', async () => {
    expect(wsPort).toBeGreaterThan(0);
    const sent = await run([
      'send',
      `ws://127.0.0.1:${wsPort}/`,
      '--address',
      'cli-ws',
      '--body',
      'over ws',
      '--json',
    ]);
    expect(sent.code).toBe(0);
    expect((JSON.parse(sent.stdout.trim()) as { outcome: { type: string } }).outcome.type).toBe('accepted');
    const got = await run(['receive', `amqp://127.0.0.1:${port}/cli-ws`, '--count', '1', '--json']);
    expect(got.code).toBe(0);
    expect((JSON.parse(got.stdout.trim()) as { body: string }).body).toBe('over ws');
  });

  test('conformance runs its frame-level cases over ws:// as over amqp://', async () => {
    const args = ['--case', 'header.', '--case', 'open.', '--json'];
    const ws = await run(['conformance', `ws://127.0.0.1:${wsPort}/`, ...args]);
    const tcp = await run(['conformance', `amqp://127.0.0.1:${port}`, ...args]);
    expect(ws.code).toBe(0);
    const verdicts = (out: string) =>
      (JSON.parse(out) as { results: { id: string; status: string }[] }).results.map(
        (c) => `${c.id} ${c.status}`,
      );
    expect(verdicts(ws.stdout).length).toBeGreaterThan(3);
    expect(verdicts(ws.stdout)).toEqual(verdicts(tcp.stdout));
  });

  test('bench through the broker over ws:// loses nothing', async () => {
    const r = await run([
      'bench',
      `ws://127.0.0.1:${wsPort}/`,
      '--address',
      'cli-bench',
      '--count',
      '2000',
      '--json',
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.trim()) as { received: number; sent: number };
    expect(result.received).toBe(2000);
  });

  test('bench --websocket runs peer to peer over WebSockets, amqp-one and rhea, and loses nothing', async () => {
    const r = await run(
      [
        'bench',
        '--websocket',
        '--count',
        '2000',
        '--impl',
        'both',
        '--mode',
        'unsettled',
        '--json',
        '--quiet',
      ],
      {},
      60_000,
    );
    expect(r.code).toBe(0);
    const results = jsonLines(r.stdout) as { impl: string; received: number }[];
    expect(results.map((x) => [x.impl, x.received])).toEqual([
      ['amqp-one', 2000],
      ['rhea', 2000],
    ]);
  });

  test('broker --max-queue-messages: sends past it are rejected with amqp:resource-limit-exceeded', async () => {
    const small = spawn(process.execPath, [
      CLI,
      'broker',
      '--port',
      '0',
      '--json',
      '--max-queue-messages',
      '2',
    ]);
    try {
      const smallPort = await new Promise<number>((res, rej) => {
        let buf = '';
        small.stdout.on('data', (d) => {
          buf += d;
          const line = buf.split('\n').find((l) => l.includes('"listening"'));
          if (line) res((JSON.parse(line) as { port: number }).port);
        });
        small.on('exit', (code) => rej(new Error(`broker exited with ${code}`)));
      });
      const sent = await run(['send', `amqp://127.0.0.1:${smallPort}/full`, '--count', '3', '--json']);
      expect(sent.code).toBe(0);
      const outcomes = sent.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { outcome: { type: string; error?: { condition: string } } });
      expect(outcomes.map((o) => o.outcome.type)).toEqual(['accepted', 'accepted', 'rejected']);
      expect(outcomes[2]!.outcome.error?.condition).toBe('amqp:resource-limit-exceeded');
    } finally {
      small.kill('SIGTERM');
    }
    const help = await run(['broker', '--help']);
    for (const flag of ['--max-queue-messages', '--max-queue-bytes', '--max-total-bytes', '--max-queues'])
      expect(help.stdout).toContain(flag);
  });

  test('AMQP_TRACE=frames prints every frame, decoded, to stderr', async () => {
    const r = await run(['send', `amqp://127.0.0.1:${port}/trace-q`, '--count', '1'], {
      AMQP_TRACE: 'frames',
    });
    expect(r.code).toBe(0);
    for (const t of ['open', 'begin', 'attach', 'flow', 'transfer', 'disposition', 'close']) {
      expect(r.stderr).toMatch(new RegExp(`type: '${t}'`));
    }
    expect(r.stderr).toMatch(/->/);
    expect(r.stderr).toMatch(/<-/);
    const quiet = await run(['send', `amqp://127.0.0.1:${port}/trace-q`, '--count', '1']);
    expect(quiet.stderr).toBe('');
  });

  test('the demo runs the whole IoT Hub round trip and ends with Success feedback', async () => {
    const r = await run(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (let i = 1; i <= 7; i++) expect(r.stdout).toContain(`[${i}/7]`);
    const id = /message id ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(r.stdout).toContain(`Success for original message id ${id}`);
  });

  test('hub --help prints the emulator help, and the command list names it', async () => {
    const r = await run(['hub', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('amqp-one hub [options]');
    expect(r.stdout).toContain('--feedback-delay-ms');
    expect((await run(['--help'])).stdout).toContain('\n  amqp-one hub [options]\n');
  });

  test('usage errors exit 2 with the command help; unknown commands too', async () => {
    const r = await run(['send']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/send needs a URL/);
    expect((await run(['nope'])).code).toBe(2);
  });

  test('a zero --timeout is a usage error', async () => {
    const r = await run(['send', 'amqp://127.0.0.1:1/q', '--timeout', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout must be a positive integer/);
  });

  test('an open broker (no --user) off loopback needs --allow-anonymous', async () => {
    const r = await run(['broker', '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --allow-anonymous; or give --user/);
  });

  test('a refused connection exits 1 with a typed error code', async () => {
    const r = await run(['send', 'amqp://127.0.0.1:1/q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AMQP_CONNECT_FAILED/);
  });

  test('send to a port that accepts TCP and never answers exits 1 with AMQP_TIMEOUT (--timeout)', async () => {
    const silent = net.createServer((c) => {
      c.on('error', () => undefined);
      c.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const p = (silent.address() as net.AddressInfo).port;
      const r = await run(['send', `amqp://127.0.0.1:${p}/q`, '--timeout', '300']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /\[AMQP_TIMEOUT\] connecting to 127\.0\.0\.1:\d+ did not complete within 300 ms/,
      );
    } finally {
      silent.close();
    }
  });
});
