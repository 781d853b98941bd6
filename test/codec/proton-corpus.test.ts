/**
 * Replays Qpid Proton's libFuzzer corpus for pn_message_decode (../shared/fuzz/qpid-proton/
 * fuzz-message-decode: corpus/, crash/ and the minimized-* files) into decodeMessage. Each input
 * either decodes or throws a DecodeError, nothing else, with work linear in its size; which of the
 * two, and with which code, is recorded per file in __snapshots__/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decodeComposite,
  decodeMessage,
  decodeValue,
  encodeMessage,
  type Message,
} from '../../src/codec/index.js';
import { metered, workBound } from './decode-work.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CORPUS_ROOT = path.resolve(here, '../../../shared/fuzz/qpid-proton/fuzz-message-decode');

interface Input {
  name: string;
  bytes: Buffer;
}

function loadCorpus(): Input[] {
  if (!existsSync(CORPUS_ROOT)) {
    throw new Error(`Proton fuzz corpus folder is missing: ${CORPUS_ROOT}`);
  }
  const inputs: Input[] = [];
  const add = (file: string): void => {
    inputs.push({ name: path.relative(CORPUS_ROOT, file), bytes: readFileSync(file) });
  };
  for (const entry of readdirSync(CORPUS_ROOT).sort()) {
    const full = path.join(CORPUS_ROOT, entry);
    if (statSync(full).isDirectory()) {
      for (const f of readdirSync(full).sort()) {
        const file = path.join(full, f);
        if (statSync(file).isFile()) add(file);
      }
    } else if (entry.startsWith('minimized-')) {
      add(full);
    }
  }
  return inputs;
}

const inputs = loadCorpus();

describe('Qpid Proton fuzz-message-decode corpus', () => {
  it('is there: corpus/, crash/ and minimized-* (about 320 inputs)', () => {
    const bySource = (prefix: string): number => inputs.filter((i) => i.name.startsWith(prefix)).length;
    expect(bySource('corpus/')).toBeGreaterThan(250);
    expect(bySource('crash/')).toBeGreaterThan(0);
    expect(bySource('minimized-')).toBeGreaterThan(0);
    expect(inputs.length).toBeGreaterThanOrEqual(300);
    expect(inputs.length).toBeLessThanOrEqual(400);
  });

  it('every input decodes or throws a DecodeError, as recorded per file, within linear work', async () => {
    // The outcome of each input ('decoded' or the DecodeError code) is checked in: a change in
    // what we accept or how we refuse it shows here, file by file.
    const outcomes: Record<string, string> = {};
    const failures: string[] = [];
    const roundTrips: string[] = [];
    for (const { name, bytes } of inputs) {
      const o = metered(() => decodeMessage(bytes), workBound(bytes.length));
      if (o.ok) {
        outcomes[name] = 'decoded';
        // Whatever decoded must be a message we can work with: re-encoding it must not throw.
        try {
          encodeMessage(o.value as Message);
        } catch (e) {
          roundTrips.push(`${name}: ${(e as Error).message}`);
        }
      } else if (isTypedDecodeError(o.error)) {
        outcomes[name] = o.error.code;
      } else {
        failures.push(`${name}: ${explain(o.error)}`);
      }
    }
    expect(failures).toStrictEqual([]);
    expect(roundTrips).toStrictEqual([]);
    const counts = tally(Object.values(outcomes));
    console.log(`proton fuzz-message-decode: ${inputs.length} inputs; ${summary(counts)}`);
    // Both kinds occur: the corpus holds real messages as well as broken ones.
    expect(counts.get('decoded')).toBeGreaterThan(0);
    expect(inputs.length - (counts.get('decoded') ?? 0)).toBeGreaterThan(0);
    await expect(`${JSON.stringify(outcomes, null, 2)}\n`).toMatchFileSnapshot(
      './__snapshots__/proton-corpus.outcomes.json',
    );
  });

  it('from every offset (first 256 bytes), into every decoder: return or DecodeError, as recorded', async () => {
    // Most inputs are not messages from their first byte; starting further in reaches the value,
    // array and composite decoders with Proton's hostile bytes.
    const failures: string[] = [];
    const decoders: [string, (b: Buffer) => unknown][] = [
      ['decodeMessage', (b) => decodeMessage(b)],
      ['decodeValue', (b) => decodeValue(b)],
      ['decodeComposite', (b) => decodeComposite(b)],
    ];
    const byDecoder: Record<string, Record<string, number>> = {};
    for (const [dname, decode] of decoders) {
      const outcomes: string[] = [];
      for (const { name, bytes } of inputs) {
        for (let off = 0; off < Math.min(bytes.length, 256); off++) {
          const sub = bytes.subarray(off);
          const o = metered(() => decode(sub), workBound(sub.length));
          if (o.ok) outcomes.push('decoded');
          else if (isTypedDecodeError(o.error)) outcomes.push(o.error.code);
          else failures.push(`${dname}(${name} @${off}): ${explain(o.error)}`);
        }
      }
      const counts = tally(outcomes);
      console.log(`proton corpus at every offset, ${dname}: ${outcomes.length} calls; ${summary(counts)}`);
      byDecoder[dname] = Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    expect(failures).toStrictEqual([]);
    await expect(`${JSON.stringify(byDecoder, null, 2)}\n`).toMatchFileSnapshot(
      './__snapshots__/proton-corpus.offsets.json',
    );
  });

  it('the crash inputs (which once crashed Proton) each end as recorded', async () => {
    const crashes = inputs.filter((i) => !i.name.startsWith('corpus/'));
    expect(crashes.length).toBeGreaterThan(0);
    const outcomes: Record<string, string> = {};
    for (const { name, bytes } of crashes) {
      const o = metered(() => decodeMessage(bytes), workBound(bytes.length));
      outcomes[name] = o.ok ? 'decoded' : isTypedDecodeError(o.error) ? o.error.code : explain(o.error);
    }
    const recorded = JSON.parse(
      readFileSync(path.join(here, '__snapshots__/proton-corpus.outcomes.json'), 'utf8'),
    ) as Record<string, string>;
    expect(outcomes).toEqual(Object.fromEntries(crashes.map(({ name }) => [name, recorded[name]])));
  });
});

function isTypedDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError && e.code.startsWith('AMQP_DECODE_') && e.condition === 'amqp:decode-error';
}

function explain(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

function tally(outcomes: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

function summary(counts: Map<string, number>): string {
  return [...counts]
    .sort()
    .map(([c, n]) => `${c}=${n}`)
    .join(', ');
}
