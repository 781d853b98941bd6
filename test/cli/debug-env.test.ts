/**
 * The DEBUG variable as an application meets it: a child process that imports the built package
 * (dist/), runs a server and a client that sends one message, and prints nothing of its own. What
 * reaches stderr is what DEBUG asked for, one line per record.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const ENTRY = resolve(__dirname, '../../dist/index.js');

const SCRIPT = `
const { listen, connect } = await import(${JSON.stringify(pathToFileURL(ENTRY).href)});
const server = await listen({
  port: 0,
  sasl: { plain: (u, p) => u === 'app' && p === 'pa55-w0rd' },
  onLink: (l) => {
    const r = l.acceptReceiver();
    void (async () => { for await (const m of r) m.accept(); })();
  },
});
const conn = await connect({ port: server.port, username: 'app', password: 'pa55-w0rd' });
const sender = await conn.openSender('q');
await sender.send({ body: 'hello' });
await conn.close();
await server.close();
`;

function run(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res, rej) => {
    const childEnv = { ...process.env, ...env };
    if (env.DEBUG === undefined) delete childEnv.DEBUG;
    if (env.AMQP_TRACE === undefined) delete childEnv.AMQP_TRACE;
    const p = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { env: childEnv });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(t);
      res({ code, stderr });
    });
  });
}

const LINE = /^\d{4}-\d\d-\d\dT[\d:.]+Z amqp-one:(\w+) (error|warn|info|debug|trace) \S/;

function categories(stderr: string): Set<string> {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  for (const l of lines) expect(l).toMatch(LINE);
  return new Set(lines.map((l) => LINE.exec(l)![1]!));
}

beforeAll(() => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first`);
});

describe('DEBUG=amqp-one:...', () => {
  test('names the categories shown; nothing without it', async () => {
    const quiet = await run({});
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');

    const some = await run({ DEBUG: 'amqp-one:connection,amqp-one:sasl' });
    expect(some.code).toBe(0);
    expect([...categories(some.stderr)].sort()).toEqual(['connection', 'sasl']);
    expect(some.stderr).toMatch(/ amqp-one:connection info connected /);
    expect(some.stderr).toMatch(/ amqp-one:sasl info SASL succeeded .*mechanism=PLAIN identity=app\n/);
    expect(some.stderr).not.toContain('pa55-w0rd');
  });

  test('wildcards and exclusions; frames on their own', async () => {
    const most = await run({ DEBUG: 'amqp-one:*,-amqp-one:frames' });
    expect(most.code).toBe(0);
    expect([...categories(most.stderr)].sort()).toEqual(['connection', 'link', 'sasl', 'server', 'session']);
    expect(most.stderr).toMatch(/ amqp-one:link debug link attached .*target=q/);

    const frames = await run({ DEBUG: 'amqp-one:frames' });
    expect([...categories(frames.stderr)]).toEqual(['frames']);
    expect(frames.stderr).toMatch(/ amqp-one:frames trace \[client:\w+\]:0 -> \{ type: 'transfer'/);
    expect(frames.stderr).toMatch(/initialResponse: '<\d+ bytes hidden>'/);
    expect(frames.stderr).not.toContain('pa55-w0rd');
  });

  test('AMQP_TRACE=frames shows the SASL frames but not the credentials in them', async () => {
    const r = await run({ AMQP_TRACE: 'frames' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/type: 'sasl-init'.*initialResponse: '<\d+ bytes hidden>'/);
    expect(r.stderr).toMatch(/type: 'transfer'/);
    const password = Buffer.from('pa55-w0rd');
    expect(r.stderr).not.toContain('pa55-w0rd');
    // inspect() shows bytes as hex: the password must not be there in that form either.
    expect(r.stderr.replace(/\s/g, '')).not.toContain(password.toString('hex'));
  });
});
