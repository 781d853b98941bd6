/**
 * The docs that comments cite are there, and say what the comments claim:
 * - every "contract section N" (also "sections 4-6", "sections 5, 7, 8") and every
 *   "iothub-protocol.md, section N" / "iothub-protocol.md §N" in src and test names a numbered
 *   heading (`## N. ...`) of docs/iothub-protocol.md;
 * - every path to a docs/*.md file in src and test resolves: `./` and `../` paths from the file's
 *   folder, a bare `docs/...` from the repository root;
 * - every relative link in README.md and docs/*.md resolves from the file that holds it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONTRACT = path.join(ROOT, 'docs', 'iothub-protocol.md');
const SELF = fileURLToPath(import.meta.url);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && p !== SELF) out.push(p);
  }
  return out;
}

const NUMBERS = String.raw`\d+(?:\s*[-–]\s*\d+)?(?:\s*(?:,|and)\s*\d+(?:\s*[-–]\s*\d+)?)*`;
const SECTION_REFS = [
  new RegExp(String.raw`contract\s+sections?\s+(${NUMBERS})`, 'gi'),
  new RegExp(String.raw`iothub-protocol\.md(?:,?\s*sections?\s+|\s*§\s*)(${NUMBERS})`, 'gi'),
];

/** The section numbers a list such as "4-6", "5, 7, 8" or "1 and 3" names. */
function sectionNumbers(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(/,|and/)) {
    const m = /^\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let n = from; n <= to; n++) out.push(n);
  }
  return out;
}

/** Every section reference in `text`, with its line number. */
function sectionReferences(text: string): { section: number; line: number; quote: string }[] {
  const out: { section: number; line: number; quote: string }[] = [];
  for (const re of SECTION_REFS) {
    for (const m of text.matchAll(re)) {
      const line = text.slice(0, m.index).split('\n').length;
      for (const section of sectionNumbers(m[1]!)) out.push({ section, line, quote: m[0] });
    }
  }
  return out;
}

/** The numbers of the `## N. Title` headings of a markdown text, in order. */
function numberedHeadings(markdown: string): number[] {
  return [...markdown.matchAll(/^##\s+(\d+)\.\s/gm)].map((m) => Number(m[1]));
}

const DOC_PATH = /(?<![\w/.:-])((?:\.{1,2}\/)*docs\/[\w.-]+\.md)/g;

/** Paths to docs/*.md in a source file, and where each must lead. */
function docPaths(text: string, file: string): { written: string; resolved: string }[] {
  return [...text.matchAll(DOC_PATH)].map((m) => {
    const written = m[1]!;
    const base = written.startsWith('.') ? path.dirname(file) : ROOT;
    return { written, resolved: path.resolve(base, written) };
  });
}

/** Relative link targets of a markdown file, anchors dropped, resolved from its folder. */
function markdownLinks(markdown: string, file: string): { written: string; resolved: string }[] {
  const out: { written: string; resolved: string }[] = [];
  for (const m of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const written = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(written) || written.startsWith('#')) continue;
    out.push({ written, resolved: path.resolve(path.dirname(file), written.replace(/#.*$/, '')) });
  }
  return out;
}

const sources = [...sourceFiles(path.join(ROOT, 'src')), ...sourceFiles(path.join(ROOT, 'test'))];
const rel = (p: string): string => path.relative(ROOT, p);

describe('the readers of references', () => {
  test('a list of sections is read as numbers and ranges', () => {
    expect(sectionNumbers('4-6')).toEqual([4, 5, 6]);
    expect(sectionNumbers('5, 7, 8')).toEqual([5, 7, 8]);
    expect(sectionNumbers('1 and 3')).toEqual([1, 3]);
  });

  test('both spellings are found, on their lines', () => {
    const text =
      'a\n * Links (contract sections 4-5): x\n * (../docs/iothub-protocol.md §2) and (iothub-protocol.md, section 9)\n';
    expect(sectionReferences(text).map((r) => [r.section, r.line])).toEqual([
      [4, 2],
      [5, 2],
      [2, 3],
      [9, 3],
    ]);
  });

  test('doc paths resolve from the file when relative, from the root when bare', () => {
    const file = path.join(ROOT, 'src', 'iothub', 'sas.ts');
    const text = 'see ../../docs/iothub-protocol.md and docs/security.md, not https://x.org/docs/a.md';
    expect(docPaths(text, file).map((p) => rel(p.resolved))).toEqual([
      path.join('docs', 'iothub-protocol.md'),
      path.join('docs', 'security.md'),
    ]);
  });
});

describe('references to docs/iothub-protocol.md', () => {
  const headings = existsSync(CONTRACT) ? numberedHeadings(readFileSync(CONTRACT, 'utf8')) : [];

  test('the contract exists and its sections are numbered 1, 2, 3, ...', () => {
    expect(existsSync(CONTRACT)).toBe(true);
    expect(headings.length).toBeGreaterThan(0);
    expect(headings).toEqual(headings.map((_, i) => i + 1));
  });

  test('every section a comment names is a heading of the contract', () => {
    const refs = sources.flatMap((f) =>
      sectionReferences(readFileSync(f, 'utf8')).map((r) => ({ ...r, file: rel(f) })),
    );
    // The comments of src/iothub cite it throughout; finding none means the reader broke.
    expect(refs.length).toBeGreaterThan(20);
    const dangling = refs
      .filter((r) => !headings.includes(r.section))
      .map((r) => `${r.file}:${r.line} "${r.quote}" -> section ${r.section}`);
    expect(dangling).toEqual([]);
  });
});

describe('paths to docs', () => {
  test('every docs/*.md path in src and test leads to a file', () => {
    const paths = sources.flatMap((f) =>
      docPaths(readFileSync(f, 'utf8'), f).map((p) => ({ ...p, file: rel(f) })),
    );
    expect(paths.length).toBeGreaterThan(0);
    const missing = paths.filter((p) => !existsSync(p.resolved)).map((p) => `${p.file}: ${p.written}`);
    expect(missing).toEqual([]);
  });

  test('every relative link in README.md and docs/*.md leads to a file', () => {
    const docsDir = path.join(ROOT, 'docs');
    const files = [
      path.join(ROOT, 'README.md'),
      ...readdirSync(docsDir)
        .filter((n) => n.endsWith('.md'))
        .map((n) => path.join(docsDir, n)),
    ];
    const links = files.flatMap((f) =>
      markdownLinks(readFileSync(f, 'utf8'), f).map((l) => ({ ...l, file: rel(f) })),
    );
    expect(links.length).toBeGreaterThan(0);
    const missing = links.filter((l) => !existsSync(l.resolved)).map((l) => `${l.file}: ${l.written}`);
    expect(missing).toEqual([]);
  });
});
