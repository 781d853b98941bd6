/**
 * The packed tarball, installed into throw-away projects the way users install it:
 * - plain CommonJS (`require`);
 * - TypeScript CommonJS: `module: commonjs`, and `module: nodenext` in a CommonJS package;
 * - ESM TypeScript under `node16`;
 * - ESM TypeScript under `bundler` resolution, bundled by esbuild.
 * Each type-checks against the shipped declarations with skipLibCheck off, loads every entry point
 * of package.json's `exports`, and sends and receives one message each way against listen().
 * Runs against dist/, so build first (`npm test` does).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const execFileAsync = promisify(execFile);

/** execFile whose failure shows what the command printed (tsc reports its errors on stdout). */
async function run(file: string, args: string[], options: { cwd: string }) {
  try {
    return await execFileAsync(file, args, options);
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}
const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(import.meta.dirname, 'consumers');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const ESBUILD = join(ROOT, 'node_modules/esbuild/bin/esbuild');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: object };

let work = '';
let tarball = '';

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  work = mkdtempSync(join(tmpdir(), 'amqp-one-consumers-'));
  // --ignore-scripts: prepack would rebuild dist/ under the other tests that are using it.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
  });
  tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh project from the fixture folder with the tarball installed, as `npm install <tgz>` does. */
async function project(name: string, withMain: boolean): Promise<string> {
  const dir = join(work, name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  if (withMain) cpSync(join(FIXTURES, 'main.ts'), join(dir, 'main.ts'));
  await run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], { cwd: dir });
  // Node's types, which any TypeScript project on Node has; the package's own types need them.
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'));
  return dir;
}

/** Runs a built consumer and returns what it printed, failing on any output to stderr. */
async function consume(dir: string, file: string): Promise<unknown> {
  const { stdout, stderr } = await run(process.execPath, [file], { cwd: dir });
  expect(stderr).toBe('');
  return JSON.parse(stdout);
}

const expected = {
  entries: Object.fromEntries(Object.keys(pkg.exports).map((entry) => [entry, 'function'])),
  roundTrip: 'codec',
  device: 'd1',
  outcome: 'accepted',
  serverGot: 'from the client',
  clientGot: 'from the server',
};

describe('the packed tarball in consumer projects', () => {
  test('plain CommonJS requires every entry point and sends and receives', async () => {
    const dir = await project('cjs', false);
    expect(await consume(dir, 'main.cjs')).toEqual(expected);
  });

  test.each(['ts-commonjs', 'ts-nodenext-cjs', 'esm-node16'])(
    '%s type-checks against the shipped declarations and runs',
    async (name) => {
      const dir = await project(name, true);
      await run(process.execPath, [TSC, '-p', '.'], { cwd: dir });
      expect(await consume(dir, 'out/main.js')).toEqual(expected);
    },
  );

  test('ESM TypeScript under bundler resolution type-checks, bundles with esbuild and runs', async () => {
    const dir = await project('esm-bundler', true);
    await run(process.execPath, [TSC, '-p', '.'], { cwd: dir });
    // esbuild's bin is its native executable, not a script for node.
    await run(ESBUILD, ['main.ts', '--bundle', '--platform=node', '--format=esm', '--outfile=out/main.mjs'], {
      cwd: dir,
    });
    expect(await consume(dir, 'out/main.mjs')).toEqual(expected);
  });
});
