/**
 * A real kill -9: a child process accepts telemetry and C2D messages as fast as it can and prints
 * each acceptance; it is SIGKILLed mid-stream (group commits in flight), and a fresh hub on the
 * same state directory must hold everything that was reported accepted.
 *
 * The child runs the hub state compiled from src with TypeScript's transpiler (all of src, so that
 * the test does not have to follow what the hub state imports).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { createHubState } from '../../../src/iothub/hub/hub.js';
import { tempDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

async function transpileTree(srcDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const e of await readdir(srcDir, { withFileTypes: true })) {
    const f = e.name;
    if (e.isDirectory()) await transpileTree(path.join(srcDir, f), path.join(outDir, f));
    if (!e.isFile() || !f.endsWith('.ts')) continue;
    const out = ts.transpileModule(await readFile(path.join(srcDir, f), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        preserveConstEnums: true,
        verbatimModuleSyntax: false,
      },
      fileName: f,
    });
    await writeFile(path.join(outDir, f.replace(/\.ts$/, '.js')), out.outputText);
  }
}

const CHILD = `
import { createHubState } from './src/iothub/hub/index.js';
const hub = await createHubState({ hubName: 'crash', stateDir: process.argv[2], devices: ['d1', 'd2', 'd3', 'q'] });
process.stdout.write('READY\\n');
let n = 0;
async function telemetry(dev) {
  for (;;) {
    const id = 't' + n++;
    const e = await hub.sendTelemetry(dev, { properties: { messageId: id }, body: Buffer.alloc(n % 700, 1) });
    process.stdout.write('T ' + e.partition + ' ' + e.sequenceNumber + ' ' + id + '\\n');
  }
}
async function c2d() {
  for (let i = 0; i < 45; i++) {
    const id = 'c' + i;
    await hub.sendC2d({ properties: { messageId: id, to: '/devices/q/messages/devicebound' }, body: Buffer.from(id) });
    process.stdout.write('C ' + id + '\\n');
  }
}
for (const d of ['d1', 'd2', 'd3']) for (let k = 0; k < 8; k++) void telemetry(d);
void c2d();
`;

describe('kill -9', () => {
  test('everything reported accepted before SIGKILL is there after a restart', async () => {
    const work = await tempDir();
    await transpileTree(path.join(ROOT, 'src'), path.join(work, 'src'));
    await writeFile(path.join(work, 'package.json'), '{"type":"module"}');
    await writeFile(path.join(work, 'child.mjs'), CHILD);
    const stateDir = path.join(work, 'state');

    const child = spawn(process.execPath, [path.join(work, 'child.mjs'), stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const accepted = out.split('\n').filter((l) => l.startsWith('T ')).length;
        const c2d = out.split('\n').filter((l) => l.startsWith('C ')).length;
        if (accepted >= 1000 && c2d >= 20) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`child exited early: ${err}`)));
    });
    await exited;

    // The last piece is '' or a line cut by the kill: keep complete lines only.
    const complete = out.split('\n').slice(0, -1);
    const telemetry = complete.filter((l) => l.startsWith('T ')).map((l) => l.split(' '));
    const c2d = complete.filter((l) => l.startsWith('C ')).map((l) => l.split(' ')[1]!);

    const hub = await createHubState({ hubName: 'crash', stateDir });
    const stored = new Map<string, string>();
    for (let p = 0; p < 4; p++) {
      const c = hub.openEventCursor(p);
      for (let e = c.next(); e; e = c.next())
        stored.set(`${p}/${e.sequenceNumber}`, String(e.message.properties?.messageId));
    }
    for (const [, p, seq, id] of telemetry) expect(stored.get(`${p}/${seq}`), `${p}/${seq}`).toBe(id);
    // Sequence numbers have no holes.
    for (let p = 0; p < 4; p++) {
      const info = hub.partitionInfo(p);
      const n = [...stored.keys()].filter((k) => k.startsWith(`${p}/`)).length;
      expect(n).toBe(info.isEmpty ? 0 : info.lastEnqueuedSequenceNumber + 1);
    }
    const queued: string[] = [];
    for (let d = hub.receiveC2d('q'); d; d = hub.receiveC2d('q'))
      queued.push(String(d.message.properties?.messageId));
    for (const id of c2d) expect(queued).toContain(id);
    expect(stored.size).toBeGreaterThanOrEqual(telemetry.length);
    expect(queued).toEqual([...queued].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
    await hub.close();
  });
});
