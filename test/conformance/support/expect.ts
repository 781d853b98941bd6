/** Assertions over conformance results, with the reason and trace in the message when one differs. */
import { expect } from 'vitest';
import { formatEntry } from '../../../src/conformance/trace.js';
import type { CaseStatus, ConformanceResults } from '../../../src/conformance/types.js';

/** Checks one case's status; on a mismatch the message shows its reason and frame trace. */
export function expectCase(results: ConformanceResults, id: string, status: CaseStatus): void {
  const r = results.results.find((x) => x.id === id);
  expect(r, `case ${id} was not run`).toBeDefined();
  const detail = `${id}: ${r!.status} (expected ${status}): ${r!.reason}\n${r!.trace.map(formatEntry).join('\n')}`;
  expect(r!.status, detail).toBe(status);
}

/** Prints the statuses (CONFORMANCE_PRINT=1), for updating the expectations and the docs. */
export function printResults(name: string, results: ConformanceResults): void {
  if (!process.env.CONFORMANCE_PRINT) return;
  const lines = results.results.map((r) => `  ${r.status.padEnd(15)} ${r.id.padEnd(28)} ${r.reason}`);
  console.log(`${name}: ${JSON.stringify(results.summary)} in ${results.durationMs} ms\n${lines.join('\n')}`);
}

/** Where a test writes the results of a run (CONFORMANCE_OUT=dir), for the docs' matrix. */
export async function saveResults(name: string, results: ConformanceResults): Promise<void> {
  const dir = process.env.CONFORMANCE_OUT;
  if (!dir) return;
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${name}.json`, JSON.stringify(results, null, 2));
}

/**
 * The expected status of every server case for one implementation: pass unless listed. Listed
 * failures carry the spec reason in the test file that lists them.
 */
export function expectedStatuses(
  ids: readonly string[],
  except: Record<string, CaseStatus>,
): Record<string, CaseStatus> {
  for (const id of Object.keys(except)) {
    if (!ids.includes(id)) throw new Error(`expected status for unknown case ${id}`);
  }
  return Object.fromEntries(ids.map((id) => [id, except[id] ?? 'pass']));
}
