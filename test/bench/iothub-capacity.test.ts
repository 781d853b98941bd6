/**
 * bench/iothub-capacity.js as `npm run bench:capacity` runs it (on dist/), with a handful of
 * devices: the emulator in its own process, devices from two client processes, each device with
 * every link open. Checks the shape of what it prints and that the emulator saw every device
 * connected and subscribed; no timing is checked.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

const SCRIPT = resolve(__dirname, '../../bench/iothub-capacity.js');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [SCRIPT], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 50_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

test('one JSON line per N: every device connected with its 8 links, the emulator memory per device', async () => {
  const r = await run({ BENCH_DEVICES: '2,5', BENCH_CLIENTS: '2' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows.map((row) => row.devices)).toEqual([2, 5]);
  for (const row of rows) {
    const n = row.devices as number;
    expect(row).toMatchObject({
      clientProcesses: 2,
      linksPerDevice: 8,
      connected: n,
      failed: 0,
      seen: { connections: n, methodsSubscribed: n, desiredSubscribed: n, c2dDelivered: n },
    });
    // With a handful of devices these are noise (RSS may even shrink): their type is all there is to check.
    for (const k of [
      'connectMs',
      'devicesPerSecond',
      'hubCpuMsPerDevice',
      'clientCpuMsPerDevice',
      'rssPerDeviceKiB',
      'heapPerDeviceKiB',
      'loadAverage1m',
    ])
      expect(typeof row[k]).toBe('number');
    // Megabytes of a live Node process, before and after the devices connected.
    for (const k of ['hubRssBeforeMiB', 'hubRssMiB']) expect(row[k]).toBeGreaterThan(10);
  }
});
