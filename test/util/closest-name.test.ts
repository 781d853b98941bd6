/** The "did you mean" of option checks: edit distance with transpositions, and what counts as close. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../src/util/closest-name.js';

describe('editDistance', () => {
  it('counts inserts, deletes, substitutions and swaps of neighbours as one edit each', () => {
    expect(editDistance('host', 'host')).toBe(0);
    expect(editDistance('hst', 'host')).toBe(1);
    expect(editDistance('hoost', 'host')).toBe(1);
    expect(editDistance('hosk', 'host')).toBe(1);
    expect(editDistance('hots', 'host')).toBe(1);
    expect(editDistance('', 'port')).toBe(4);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('is symmetric, zero only for equal strings, and between the length difference and the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(b, a)).toBe(d);
        expect(d === 0).toBe(a === b);
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe('closestName', () => {
  const names = ['host', 'port', 'tls', 'connectTimeoutMs', 'idleTimeoutMs', 'maxQueued'];

  it('finds typos and other casings', () => {
    expect(closestName('hots', names)).toBe('host');
    expect(closestName('Host', names)).toBe('host');
    expect(closestName('prot', names)).toBe('port');
    expect(closestName('connectTimeoutMS', names)).toBe('connectTimeoutMs');
    expect(closestName('idleTimeout', names)).toBe('idleTimeoutMs');
    expect(closestName('maxqueue', names)).toBe('maxQueued');
  });

  it('prefers a name that begins with the one given over a near typo', () => {
    expect(closestName('expiresIn', ['expiresAt', 'expiresInSeconds'])).toBe('expiresInSeconds');
  });

  it('prefers a name that contains the one given over one it contains', () => {
    expect(closestName('resourcePrefix', ['resource', 'expectedResourcePrefix'])).toBe(
      'expectedResourcePrefix',
    );
    expect(closestName('tlsOptions', ['tls', 'port'])).toBe('tls');
  });

  it('finds a longer name that contains the one given, the shortest first', () => {
    expect(closestName('timeout', names)).toBe('idleTimeoutMs');
    expect(closestName('queued', names)).toBe('maxQueued');
  });

  it('suggests nothing that is too far to be a typo', () => {
    expect(closestName('certificate', names)).toBeUndefined();
    expect(closestName('ab', names)).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });

  it('a name in the list is its own closest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1 }),
        fc.nat(),
        (ns, i) => {
          const n = ns[i % ns.length]!;
          const found = closestName(n, ns);
          expect(found?.toLowerCase()).toBe(n.toLowerCase());
        },
      ),
    );
  });
});
