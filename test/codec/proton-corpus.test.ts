/**
 * Replays Qpid Proton's libFuzzer corpus for pn_message_decode (../shared/fuzz/qpid-proton/
 * fuzz-message-decode: corpus/, crash/ and the minimized-* files) into decodeMessage. Each input
 * either decodes or throws a DecodeError; nothing else, and nothing slow.
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

  it('every input decodes or throws a DecodeError', () => {
    let decoded = 0;
    let errored = 0;
    const codes = new Map<string, number>();
    const failures: string[] = [];
    const roundTrips: string[] = [];
    for (const { name, bytes } of inputs) {
      const t0 = performance.now();
      try {
        const m: Message = decodeMessage(bytes);
        decoded++;
        // Whatever decoded must be a message we can work with: re-encoding it must not throw.
        try {
          encodeMessage(m);
        } catch (e) {
          roundTrips.push(`${name}: ${(e as Error).message}`);
        }
      } catch (e) {
        if (
          e instanceof DecodeError &&
          e.code.startsWith('AMQP_DECODE_') &&
          e.condition === 'amqp:decode-error'
        ) {
          errored++;
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        } else {
          failures.push(`${name}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
        }
      }
      const ms = performance.now() - t0;
      if (ms > 1000) failures.push(`${name}: took ${ms.toFixed(0)} ms`);
    }
    const summary = [...codes]
      .sort()
      .map(([c, n]) => `${c}=${n}`)
      .join(', ');
    console.log(
      `proton fuzz-message-decode: ${inputs.length} inputs, ${decoded} decoded, ${errored} DecodeError (${summary})` +
        (roundTrips.length ? `; ${roundTrips.length} decoded but did not re-encode` : ''),
    );
    for (const r of roundTrips) console.log(`  re-encode failed: ${r}`);
    expect(failures).toStrictEqual([]);
    expect(decoded + errored).toBe(inputs.length);
  });

  it('from every offset (first 256 bytes), into every decoder: return or DecodeError', () => {
    // Most inputs are not messages from their first byte; starting further in reaches the value,
    // array and composite decoders with Proton's hostile bytes.
    let calls = 0;
    let decoded = 0;
    const failures: string[] = [];
    const decoders: [string, (b: Buffer) => unknown][] = [
      ['decodeMessage', (b) => decodeMessage(b)],
      ['decodeValue', (b) => decodeValue(b)],
      ['decodeComposite', (b) => decodeComposite(b)],
    ];
    for (const { name, bytes } of inputs) {
      for (let off = 0; off < Math.min(bytes.length, 256); off++) {
        const sub = bytes.subarray(off);
        for (const [dname, decode] of decoders) {
          calls++;
          const t0 = performance.now();
          try {
            decode(sub);
            decoded++;
          } catch (e) {
            if (!(e instanceof DecodeError) || !e.code.startsWith('AMQP_DECODE_')) {
              failures.push(
                `${dname}(${name} @${off}): ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`,
              );
            }
          }
          const ms = performance.now() - t0;
          if (ms > 1000) failures.push(`${dname}(${name} @${off}): took ${ms.toFixed(0)} ms`);
        }
      }
    }
    console.log(
      `proton corpus at every offset: ${calls} decoder calls, ${decoded} decoded, ${calls - decoded} DecodeError`,
    );
    expect(failures).toStrictEqual([]);
  });

  it('the crash inputs (which once crashed Proton) are handled one by one', () => {
    for (const { name, bytes } of inputs.filter((i) => !i.name.startsWith('corpus/'))) {
      try {
        decodeMessage(bytes);
      } catch (e) {
        expect(e, name).toBeInstanceOf(DecodeError);
      }
    }
  });
});
