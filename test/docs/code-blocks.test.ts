/**
 * The code the docs show compiles against the package as users import it: every ```ts block of
 * README.md and docs/*.md is type-checked with 'amqp-one', 'amqp-one/codec', 'amqp-one/iothub',
 * 'amqp-one/iothub/emulator', 'amqp-one/browser' and 'amqp-one/iothub/browser'
 * mapped to their entry files in src. A renamed export, method or option fails here, with the
 * markdown line of the block. Blocks of other languages (```js: rhea and the Azure SDKs) are not
 * checked. Each block is its own ES module, so it must import what it uses. (The examples are
 * JavaScript and are checked by running them: test/examples/examples.test.ts.) This runs the
 * TypeScript compiler, so it is in the integration tier.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const ENTRIES: Record<string, string> = {
  'amqp-one': 'src/index.ts',
  'amqp-one/codec': 'src/codec/index.ts',
  'amqp-one/iothub': 'src/iothub/index.ts',
  'amqp-one/iothub/emulator': 'src/iothub/emulator/index.ts',
  'amqp-one/browser': 'src/browser.ts',
  'amqp-one/iothub/browser': 'src/iothub/browser.ts',
};
const MARKDOWN = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

interface Block {
  /** Where it came from, for the failure message. */
  source: string;
  /** The markdown line of the block's first code line. */
  line: number;
  code: string;
}

/** The ```ts blocks of a markdown file. */
function tsBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    out.push({ source: file, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'amqp-one-doc-blocks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the docs have code blocks to check', () => {
  const counts = Object.fromEntries(MARKDOWN.map((f) => [f, tsBlocks(f).length]));
  expect(counts['README.md']).toBeGreaterThan(0);
  expect(counts['docs/migrating.md']).toBeGreaterThan(10);
});

test('every ts block of the docs type-checks against the package', () => {
  const files = new Map<string, Block>();
  for (const md of MARKDOWN)
    for (const b of tsBlocks(md)) {
      // .mts: an ES module whatever package.json says, so top-level await is allowed.
      const f = join(dir, `${md.replace(/\W/g, '_')}-${b.line}.mts`);
      writeFileSync(f, b.code);
      files.set(f, b);
    }
  const paths = Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, [join(ROOT, file)]]));
  const program = ts.createProgram([...files.keys()], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.es2024.string.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    paths,
  });
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) {
      problems.push(text);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const block = files.get(resolve(d.file.fileName));
    const where = block
      ? `${block.source}:${block.line + line}`
      : `${relative(ROOT, d.file.fileName)}:${line + 1}`;
    problems.push(`${where}: ${text}`);
  }
  expect(problems).toEqual([]);
});
