/**
 * src/codec/spec/ is generated from the spec XML and checked in: regenerating it into a temporary
 * folder must give the same files, byte for byte. When this fails, run `npm run gen:spec`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADER } from '../../scripts/gen-spec/generate.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const checkedIn = join(root, 'src/codec/spec');
const fresh = mkdtempSync(join(tmpdir(), 'gen-spec-'));
execFileSync(process.execPath, [join(root, 'scripts/gen-spec/main.mjs'), fresh], { stdio: 'pipe' });

afterAll(() => rmSync(fresh, { recursive: true, force: true }));

describe('src/codec/spec', () => {
  it('holds exactly the files the generator writes', () => {
    expect(readdirSync(checkedIn).sort()).toEqual(readdirSync(fresh).sort());
    expect(readdirSync(fresh).sort()).toEqual(['composites.ts', 'records.ts', 'types.ts']);
  });

  it.each(readdirSync(fresh).map((f) => [f]))('%s is what the generator writes', (file) => {
    const generated = readFileSync(join(fresh, file), 'utf8');
    expect(generated.startsWith(`${HEADER}\n`)).toBe(true);
    expect(readFileSync(join(checkedIn, file), 'utf8')).toBe(generated);
  });
});

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('src', () => {
  it('generates no code at run time (works under a CSP)', () => {
    const offenders = sources(join(root, 'src')).filter((f) =>
      /\bnew Function\b|\beval\(/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
