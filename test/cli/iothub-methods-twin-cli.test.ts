/**
 * `amqp-one iothub invoke-method`, `twin get|update` and `simulate-device` as a user runs them
 * (built CLI, child processes; `npm run build` first) against the emulator: the simulated device
 * answers the methods invoked from the command line and acknowledges a desired update made from
 * it, for a device and for a module; SIGINT and SIGTERM end it cleanly with its summary; the hub's
 * errors exit 1 with their code and IoT Hub's number, bad arguments exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, jsonLines, runCli, type CliRun } from './run-cli.js';
import { startHub, type IotHubEmulator } from '../../src/iothub/emulator/index.js';
import { withoutMetadata } from '../support/twin-metadata.js';

let hub: IotHubEmulator;
const children: ChildProcess[] = [];

const service = (): string[] => [
  '--connection-string',
  hub.serviceConnectionString('iothubowner'),
  '--port',
  String(hub.httpsPort),
];
const run = (args: string[]): Promise<CliRun> =>
  runCli(['iothub', ...args, ...service(), '--ca', hub.caFile!], {}, 30_000);

/** A long-running `simulate-device --json`: its stdout lines as they come, and its exit. */
interface Simulator {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves with the first line that `match` accepts (rejects if the process exits first). */
  line(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function simulate(cs: string, extra: string[] = []): Simulator {
  const child = spawn(process.execPath, [
    CLI,
    'iothub',
    'simulate-device',
    '--json',
    '--interval',
    '600000', // one message, then the pause: the test ends the run
    '--connection-string',
    cs,
    '--ca',
    hub.caFile!,
    ...extra,
  ]);
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts.filter(Boolean)) {
      const l = JSON.parse(p) as Record<string, unknown>;
      lines.push(l);
      for (const w of waiters.splice(0)) w.match(l) ? w.resolve(l) : waiters.push(w);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; stderr: string }>((res) =>
    child.on('close', (code) => res({ code, stderr })),
  );
  return {
    child,
    lines,
    exited,
    line: (match) => {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ match, resolve })),
        exited.then(({ code, stderr: e }) => {
          throw new Error(`simulate-device exited with ${code}: ${e}`);
        }),
      ]);
    },
  };
}

beforeAll(async () => {
  hub = await startHub({ port: 0, tlsPort: 0, httpsPort: 0, devices: ['cli-sim', 'cli-off'] });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await hub?.close();
});

describe('amqp-one iothub invoke-method and twin, against simulate-device', () => {
  test('methods answered, a desired update acknowledged and read back; SIGINT ends it with its summary', async () => {
    const sim = simulate(hub.deviceConnectionString('cli-sim'));
    expect(await sim.line((l) => l.event === 'ready')).toMatchObject({
      deviceId: 'cli-sim',
      desiredVersion: 1,
    });

    const echo = await run(['invoke-method', 'cli-sim', 'echo', '--payload', '{"n":[1,2]}', '--json']);
    expect([echo.code, echo.stderr]).toEqual([0, '']);
    expect(jsonLines(echo.stdout)).toEqual([{ status: 200, payload: { n: [1, 2] } }]);
    const text = await run([
      'invoke-method',
      'cli-sim',
      'echo',
      '--payload',
      '"hi"',
      '--response-timeout',
      '10',
    ]);
    expect([text.code, text.stdout]).toEqual([0, 'status 200\n"hi"\n']);
    // A status the device chose is printed, not an error of the hub.
    const unknown = await run(['invoke-method', 'cli-sim', 'selfDestruct', '--json']);
    expect(unknown.code).toBe(0);
    expect(jsonLines(unknown.stdout)[0]).toMatchObject({ status: 501 });

    const updated = await run(['twin', 'update', 'cli-sim', '--desired', '{"fan":"on"}', '--json']);
    expect(updated.code).toBe(0);
    const twin = jsonLines(updated.stdout)[0] as { etag: string; properties: { desired: unknown } };
    expect(withoutMetadata(twin.properties.desired)).toEqual({ fan: 'on', $version: 2 });
    expect(await sim.line((l) => l.event === 'desired')).toEqual({
      event: 'desired',
      version: 2,
      full: false,
      acknowledged: ['fan'],
    });
    const got = await run(['twin', 'get', 'cli-sim', '--json']);
    expect(got.code).toBe(0);
    expect(jsonLines(got.stdout)[0]).toMatchObject({
      deviceId: 'cli-sim',
      modelId: '',
      properties: {
        desired: { fan: 'on', $version: 2 },
        reported: { fan: { value: 'on', ac: 200, av: 2, ad: 'applied' }, sent: 0 },
      },
    });

    // An etag the twin has moved past: the hub's 412 and its number.
    const stale = await run(['twin', 'update', 'cli-sim', '--tags', '{"floor":1}', '--etag', twin.etag]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /^amqp-one iothub: \[IOTHUB_PRECONDITION_FAILED\] .* \(IoT Hub error 412001\)\n$/,
    );
    const patched = await run(['twin', 'update', 'cli-sim', '--patch', '{"tags":{"floor":2}}', '--json']);
    expect(jsonLines(patched.stdout)[0]).toMatchObject({ tags: { floor: 2 } });

    sim.child.kill('SIGINT');
    const { code, stderr } = await sim.exited;
    expect([code, stderr]).toEqual([0, '']);
    expect(sim.lines.map((l) => l.event ?? 'summary')).toEqual([
      'ready',
      'method',
      'method',
      'desired',
      'summary',
    ]);
    expect(sim.lines.at(-1)).toMatchObject({ sent: 1, methods: 2, desiredUpdates: 1 });
    expect(hub.state.getTwin('cli-sim').properties.reported).toMatchObject({ sent: 1 });
  });

  test('a module: invoke-method and twin on <deviceId>/<moduleId>, its model id shown; SIGTERM ends it', async () => {
    hub.state.registry.addModule('cli-sim', 'mod');
    const cs = `${hub.deviceConnectionString('cli-sim')}`.replace(
      /SharedAccessKey=[^;]+/,
      `ModuleId=mod;SharedAccessKey=${hub.state.registry.getModule('cli-sim', 'mod')!.primaryKey}`,
    );
    const sim = simulate(cs, ['--model-id', 'dtmi:com:example:Thermostat;1']);
    await sim.line((l) => l.event === 'ready');
    const status = await run(['invoke-method', 'cli-sim/mod', 'status', '--json']);
    expect(jsonLines(status.stdout)[0]).toMatchObject({ status: 200, payload: { reboots: 0 } });
    const twin = await run(['twin', 'get', 'cli-sim/mod', '--json']);
    expect(jsonLines(twin.stdout)[0]).toMatchObject({
      deviceId: 'cli-sim',
      moduleId: 'mod',
      modelId: 'dtmi:com:example:Thermostat;1',
    });
    sim.child.kill('SIGTERM');
    expect((await sim.exited).code).toBe(0);
    expect(sim.lines.at(-1)).toMatchObject({ methods: 1 });
  });

  test("the hub's errors: exit 1, the typed code and IoT Hub's number", async () => {
    const nobody = await run(['invoke-method', 'nobody', 'echo']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      /^amqp-one iothub: \[IOTHUB_DEVICE_NOT_FOUND\] .* \(IoT Hub error 404001\)\n$/,
    );
    const offline = await run(['invoke-method', 'cli-off', 'echo', '--json']);
    expect(offline.code).toBe(1);
    expect(JSON.parse(offline.stderr)).toEqual({
      error: {
        code: 'IOTHUB_DEVICE_NOT_ONLINE',
        message: expect.stringContaining('DeviceNotOnline'),
        hubErrorCode: 404103,
      },
    });
    const noTwin = await run(['twin', 'get', 'cli-sim/nomod']);
    expect(noTwin.code).toBe(1);
    expect(noTwin.stderr).toContain('(IoT Hub error 404010)');
    const badJson = await run(['invoke-method', 'cli-sim', 'echo', '--payload', 'not json']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr.split('\n')[0]).toMatch(
      /^amqp-one iothub: \[AMQP_CLI_USAGE\] --payload is not valid JSON/,
    );
  });
});
