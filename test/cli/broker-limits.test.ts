/** `amqp-one broker`'s limit flags, on the built CLI (dist/: `npm run build` first). */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';

const CLI = resolve(__dirname, '../../dist/cli/main.js');
let broker: ChildProcess | undefined;
const conns: AmqpConnection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  broker?.kill('SIGTERM');
});

function startCli(args: string[]): Promise<number> {
  broker = spawn(process.execPath, [CLI, 'broker', '--port', '0', '--json', ...args]);
  return new Promise<number>((res, rej) => {
    let buf = '';
    broker!.stdout!.on('data', (d) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.includes('listening'));
      if (line) res((JSON.parse(line) as { port: number }).port);
    });
    broker!.on('exit', (code) => rej(new Error(`broker exited with ${code}`)));
  });
}

test('--max-message-size, --idle-timeout-ms and --max-connections reach the broker', async () => {
  const port = await startCli([
    '--max-message-size',
    '1000',
    '--idle-timeout-ms',
    '30000',
    '--max-connections',
    '1',
  ]);
  const c = await connect({ host: '127.0.0.1', port });
  conns.push(c);
  expect(c.remoteOpen?.idleTimeOut).toBe(15_000); // half of the threshold is announced
  const s = await c.openSender('q');
  expect(Number(s.link.remoteAttach?.maxMessageSize)).toBe(1000);
  await expect(s.send({ body: Buffer.alloc(2000) })).rejects.toMatchObject({
    code: 'AMQP_MESSAGE_TOO_LARGE',
  });
  expect(await s.send({ body: 'small' })).toEqual({ type: 'accepted' });
  const second = await connect({ host: '127.0.0.1', port, sasl: 'none' }).catch((e: unknown) => e);
  expect(second).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
});
