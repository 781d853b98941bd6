/** Small helpers over node:util parseArgs for the CLI commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  readonly code = 'AMQP_CLI_USAGE';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T & typeof HELP; allowPositionals: true; strict: true }>
>;

export function parse<T extends Options>(argv: string[], options: T): Parsed<T> {
  try {
    const all = { ...options, ...HELP } as T & typeof HELP;
    return parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

/** Like int(), for a bound where 0 would mean nothing useful (a limit of none, a zero wait). */
export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  const n = int(value, name, fallback);
  if (n === 0) throw new UsageError(`--${name} must be a positive integer, got 0`);
  return n;
}

/** Prints a line, or a JSON object when --json was given. */
export function out(json: boolean, text: string, obj: unknown): void {
  process.stdout.write(
    json ? `${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n` : `${text}\n`,
  );
}
