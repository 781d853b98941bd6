/**
 * The IoT Hub round trip from the command line alone: `amqp-one hub` in one child process and each
 * step a child process of the built CLI (dist/: `npm run build` first). Every step ends by itself
 * (--count), and each assertion reads the JSON line the step printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, jsonLines, runCli, type CliRun } from './run-cli.js';

interface HubSummary {
  port: number;
  tlsPort: number;
  caFile: string;
  serviceConnectionStrings: Record<string, string>;
  deviceConnectionStrings: Record<string, string>;
}

let hub: ChildProcess;
let summary: HubSummary;

const run = (args: string[]): Promise<CliRun> => runCli([...args, '--ca', summary.caFile], {}, 30_000);

const lines = jsonLines;

const device = (): string => summary.deviceConnectionStrings['flow-1']!;
const service = (): string => summary.serviceConnectionStrings.iothubowner!;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  hub = spawn(process.execPath, [
    CLI,
    'hub',
    '--port',
    '0',
    '--tls-port',
    '0',
    '--device',
    'flow-1',
    '--feedback-delay-ms',
    '100',
    '--json',
  ]);
  // The first stdout line is the startup summary: wait for it, not for a time.
  summary = await new Promise<HubSummary>((res, rej) => {
    let buf = '';
    hub.stdout!.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (line) res(JSON.parse(line) as HubSummary);
    });
    hub.on('exit', (code) => rej(new Error(`amqp-one hub exited with ${code}`)));
  });
});

afterAll(async () => {
  if (!hub || hub.exitCode !== null) return;
  const exited = new Promise((r) => hub.once('exit', r));
  hub.kill('SIGTERM');
  await exited;
});

describe('the IoT Hub round trip from the CLI alone', () => {
  test('simulate-device, monitor-events, send-c2d with ack, receive-c2d (complete), feedback: Success', async () => {
    const sim = await run([
      'iothub',
      'simulate-device',
      '--count',
      '3',
      '--interval',
      '0',
      '--json',
      '--connection-string',
      device(),
    ]);
    expect(sim.stderr).toBe('');
    expect(sim.code).toBe(0);
    expect(lines(sim.stdout)).toEqual([
      expect.objectContaining({ event: 'ready', deviceId: 'flow-1' }),
      expect.objectContaining({ sent: 3 }),
    ]);

    const mon = await run([
      'iothub',
      'monitor-events',
      '--from',
      'earliest',
      '--count',
      '3',
      '--json',
      '--connection-string',
      service(),
    ]);
    expect(mon.code).toBe(0);
    const events = lines(mon.stdout).map((l) => l.event as { origin: string; properties: { seq: string } });
    expect(events.map((e) => e.origin)).toEqual(['flow-1', 'flow-1', 'flow-1']);
    expect(events.map((e) => e.properties.seq).sort()).toEqual(['0', '1', '2']);

    const sent = await run([
      'iothub',
      'send-c2d',
      '--device',
      'flow-1',
      '--body',
      'reboot',
      '--ack',
      'full',
      '--json',
      '--connection-string',
      service(),
    ]);
    expect(sent.code).toBe(0);
    const { messageId } = lines(sent.stdout)[0] as { messageId: string };
    expect(messageId).toMatch(/\S/);

    const got = await run([
      'iothub',
      'receive-c2d',
      '--count',
      '1',
      '--action',
      'complete',
      '--json',
      '--connection-string',
      device(),
    ]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(lines(got.stdout)).toEqual([
      expect.objectContaining({ messageId, action: 'complete', body: 'reboot', ack: 'full' }),
    ]);

    const fb = await run(['iothub', 'feedback', '--count', '1', '--json', '--connection-string', service()]);
    expect(fb.code).toBe(0);
    expect(lines(fb.stdout)).toEqual([
      expect.objectContaining({ statusCode: 'Success', originalMessageId: messageId, deviceId: 'flow-1' }),
    ]);
  });

  test('receive-c2d --action reject gives Rejected feedback for that message', async () => {
    const sent = await run([
      'iothub',
      'send-c2d',
      '--device',
      'flow-1',
      '--body',
      'bad',
      '--ack',
      'negative',
      '--json',
      '--connection-string',
      service(),
    ]);
    const { messageId } = lines(sent.stdout)[0] as { messageId: string };
    const got = await run([
      'iothub',
      'receive-c2d',
      '--count',
      '1',
      '--action',
      'reject',
      '--json',
      '--connection-string',
      device(),
    ]);
    expect(got.code).toBe(0);
    expect(lines(got.stdout)).toEqual([expect.objectContaining({ messageId, action: 'reject' })]);
    const fb = await run(['iothub', 'feedback', '--count', '1', '--json', '--connection-string', service()]);
    expect(lines(fb.stdout)).toEqual([
      expect.objectContaining({ statusCode: 'Rejected', originalMessageId: messageId }),
    ]);
  });

  test('receive-c2d --action abandon puts the message back: the next receive-c2d gets it again', async () => {
    const sent = await run([
      'iothub',
      'send-c2d',
      '--device',
      'flow-1',
      '--body',
      'again',
      '--json',
      '--connection-string',
      service(),
    ]);
    const { messageId } = lines(sent.stdout)[0] as { messageId: string };
    const receive = (action: string) =>
      run([
        'iothub',
        'receive-c2d',
        '--count',
        '1',
        '--action',
        action,
        '--json',
        '--connection-string',
        device(),
      ]);
    const first = await receive('abandon');
    expect(lines(first.stdout)).toEqual([expect.objectContaining({ messageId, action: 'abandon' })]);
    const { deliveryCount } = lines(first.stdout)[0] as { deliveryCount: number };
    const second = await receive('complete');
    const again = lines(second.stdout);
    expect(again).toEqual([expect.objectContaining({ messageId, action: 'complete', body: 'again' })]);
    // Abandon counts a delivery; so may the first process's close, if the hub had already sent the
    // message back to it (prefetch) before it closed.
    expect((again[0] as { deliveryCount: number }).deliveryCount).toBeGreaterThan(deliveryCount);
  });

  test('receive-c2d --count with nothing to receive ends at --timeout with AMQP_TIMEOUT, exit 1', async () => {
    const r = await run([
      'iothub',
      'receive-c2d',
      '--count',
      '1',
      '--timeout',
      '1500',
      '--connection-string',
      device(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      'amqp-one iothub: [AMQP_TIMEOUT] 0 of 1 C2D message(s) within 1500 ms',
    );
  });

  test('a wrong device key is one JSON line on stderr with IOTHUB_UNAUTHORIZED, exit 1', async () => {
    const wrong = device().replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${Buffer.alloc(32).toString('base64')}`,
    );
    const r = await run(['iothub', 'receive-c2d', '--count', '1', '--json', '--connection-string', wrong]);
    expect(r.code).toBe(1);
    const [line, ...more] = r.stderr.trim().split('\n');
    expect(more).toEqual([]);
    expect(JSON.parse(line!)).toMatchObject({
      error: { code: 'IOTHUB_UNAUTHORIZED', message: expect.stringMatching(/invalid signature/) },
    });
  });
});
