/**
 * Options checked at run time, for callers without TypeScript. An unknown key is an
 * InvalidArgumentError that names the valid key it most likely meant: a typo (`hots` for `host`)
 * or a key one level off (`ca` for `tls.ca`); a value of the wrong type is one too. Nothing is
 * silently ignored.
 *
 * Each options interface has its schema next to it, written as
 * `{ ... } satisfies OptionSchema<XOptions>`: a field added to the interface without a rule (or a
 * rule left for a field that is gone) fails to compile, so the two cannot drift apart.
 */
import { closestName } from '../util/closest-name.js';
import { InvalidArgumentError } from './errors.js';

/** What one option may hold. `undefined` is always allowed: it means "the default". */
export interface OptionRule {
  /** For the message: "a number", "true, false or an object". */
  readonly expected: string;
  readonly test: (value: unknown) => boolean;
  /** The keys of a plain object given here, checked in turn (`tls: { ca }`, `limits: {...}`). */
  readonly nested?: AnyOptionSchema;
}

export type AnyOptionSchema = Readonly<Record<string, OptionRule>>;

/** A rule for every key of T, and no other. */
export type OptionSchema<T> = { readonly [K in keyof Required<T>]: OptionRule };

const rule = (expected: string, test: (v: unknown) => boolean): OptionRule => ({ expected, test });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The rules options are made of. */
export const opt = {
  any: rule('anything', () => true),
  number: rule('a number', (v) => typeof v === 'number' && !Number.isNaN(v)),
  /** A count or size given as a number or a bigint (max-message-size is a ulong). */
  numberOrBigint: rule(
    'a number or a bigint',
    (v) => (typeof v === 'number' && !Number.isNaN(v)) || typeof v === 'bigint',
  ),
  /** A count, size or duration: an integer, 0 or more (a negative limit would refuse everything). */
  count: rule('a non-negative integer', (v) => Number.isSafeInteger(v) && (v as number) >= 0),
  boolean: rule('true or false', (v) => typeof v === 'boolean'),
  string: rule('a string', (v) => typeof v === 'string'),
  function: rule('a function', (v) => typeof v === 'function'),
  /** Any object: a class instance, a mechanism, a record whose keys the callee does not own. */
  object: rule('an object', (v) => v !== null && typeof v === 'object'),
  array: rule('an array', (v) => Array.isArray(v)),
  /** PEM text or bytes, or a list of them (TLS `ca`). */
  pem: rule('a string or a Buffer', (v) => typeof v === 'string' || v instanceof Uint8Array),
  buffer: rule('a Buffer', (v) => v instanceof Uint8Array),
  signal: rule(
    'an AbortSignal',
    (v) =>
      v !== null &&
      typeof v === 'object' &&
      typeof (v as AbortSignal).aborted === 'boolean' &&
      typeof (v as AbortSignal).addEventListener === 'function',
  ),
  /** An instance of a class (a RetryPolicy built by the caller). */
  instanceOf(cls: abstract new (...args: never[]) => unknown, expected: string): OptionRule {
    return rule(expected, (v) => v instanceof cls);
  },
  /** One of a few literal values. */
  oneOf(...values: readonly (string | number | boolean)[]): OptionRule {
    return rule(
      `one of ${values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}`,
      (v) => values.includes(v as string),
    );
  },
  /** A plain object with these keys. */
  nested(schema: AnyOptionSchema, expected = 'an object'): OptionRule {
    return { expected, test: isPlainObject, nested: schema };
  },
  /** Any of these (`true` or TLS options); a plain object is checked against the first nested schema. */
  either(...rules: OptionRule[]): OptionRule {
    return {
      expected: rules.map((r) => r.expected).join(' or '),
      test: (v) => rules.some((r) => r.test(v)),
      nested: rules.find((r) => r.nested)?.nested,
    };
  },
  /** This rule, or null (a terminus left out on purpose). */
  orNull(r: OptionRule): OptionRule {
    return { expected: `${r.expected} or null`, test: (v) => v === null || r.test(v), nested: r.nested };
  },
  /** A list whose every element follows `element`. */
  listOf(element: OptionRule): OptionRule {
    return rule(`a list of ${element.expected.replace(/^an? /, '')}s, or one`, (v) =>
      Array.isArray(v) ? v.every((e) => element.test(e)) : element.test(v),
    );
  },
};

/**
 * Checks `value` against `schema` and throws an InvalidArgumentError for the first unknown key or
 * wrong value; `call` names the function in the message (`connect`, `DeviceClient`), `noun` what
 * the keys are ('option', or 'field' of a message). An absent argument (undefined) is the
 * defaults and passes.
 */
export function checkOptions(value: unknown, schema: AnyOptionSchema, call: string, noun = 'option'): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${call}: expected an ${noun}s object, got ${describe(value)}`);
  }
  checkKeys(value as Record<string, unknown>, schema, '', { call, noun, root: schema });
}

/** What every level of one check shares. */
interface CheckContext {
  call: string;
  noun: string;
  root: AnyOptionSchema;
}

function checkKeys(
  value: Record<string, unknown>,
  schema: AnyOptionSchema,
  prefix: string,
  c: CheckContext,
): void {
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    const path = prefix + key;
    const r = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (r === undefined) throw unknownKey(path, key, schema, prefix, c);
    if (!r.test(v)) {
      throw new InvalidArgumentError(
        `${c.call}: ${c.noun} '${path}' must be ${r.expected}, got ${describe(v)}`,
        {
          option: path,
        },
      );
    }
    if (r.nested && isPlainObject(v)) checkKeys(v, r.nested, `${path}.`, c);
  }
}

function unknownKey(
  path: string,
  key: string,
  schema: AnyOptionSchema,
  prefix: string,
  c: CheckContext,
): InvalidArgumentError {
  // Candidates nearest first: this object's keys, then the levels below it, then from the top
  // (a nested key written one level too deep: `tls: { port }`).
  const candidates = [...pathsOf(schema, prefix), ...(prefix === '' ? [] : pathsOf(c.root, ''))];
  const leaves = candidates.map((p) => p.slice(p.lastIndexOf('.') + 1));
  const leaf = closestName(key, leaves);
  const suggestion = leaf === undefined ? undefined : candidates[leaves.indexOf(leaf)]!;
  let message = `${c.call}: unknown ${c.noun} '${path}'`;
  if (suggestion !== undefined) {
    message += `; did you mean '${suggestion}'`;
    if (suggestion.includes('.')) message += `, that is ${shapeOf(suggestion)}`;
    message += '?';
  } else {
    const of = prefix ? ` of '${prefix.slice(0, -1)}'` : '';
    message += ` (known ${c.noun}s${of}: ${Object.keys(schema).join(', ')})`;
  }
  return new InvalidArgumentError(message, { option: path, suggestion });
}

/** Every key path under `schema`, breadth first. */
function pathsOf(schema: AnyOptionSchema, prefix: string): string[] {
  const out: string[] = [];
  const seen = new Set<AnyOptionSchema>();
  let level: [AnyOptionSchema, string][] = [[schema, prefix]];
  while (level.length > 0) {
    const next: [AnyOptionSchema, string][] = [];
    for (const [s, p] of level) {
      if (seen.has(s)) continue;
      seen.add(s);
      for (const [k, r] of Object.entries(s)) {
        out.push(p + k);
        if (r.nested) next.push([r.nested, `${p}${k}.`]);
      }
    }
    level = next;
  }
  return out;
}

/** `tls.ca` -> `{ tls: { ca } }`: how to write it. */
function shapeOf(path: string): string {
  const parts = path.split('.');
  return parts.reduceRight((inner, k) => `{ ${k}: ${inner} }`, '…').replace(/: …/, '');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  // Never the text itself: a string in the wrong option may be a password or a key, and the
  // message ends up in logs.
  if (typeof v === 'string') return `a string of ${v.length} character${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return `${typeof v} ${String(v)}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
