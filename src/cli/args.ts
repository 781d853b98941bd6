/** Small helpers over node:util parseArgs for the CLI commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseAmqpUrl, type ParsedUrl } from '../transport/url.js';
import { toCliError, UsageError } from './errors.js';

export { UsageError };

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
    throw toCliError(e); // parseArgs' ERR_PARSE_ARGS_* become usage errors
  }
}

/** A command that takes no positional argument says so instead of ignoring one. */
export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
}

export function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n))
    throw new UsageError(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

/** Like int(), for a bound where 0 would mean nothing useful (a limit of none, a zero wait). */
export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  const n = int(value, name, fallback);
  if (n === 0) throw new UsageError(`--${name} must be a positive integer, got 0`);
  return n;
}

/** The URL argument: one that does not parse is a usage error, like any other bad argument. */
export function parseUrl(url: string): ParsedUrl {
  try {
    return parseAmqpUrl(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * The URL argument and the address it goes to: an amqp URL's path, or --address, which a ws:// or
 * wss:// URL needs because its path is the WebSocket endpoint. Never both.
 */
export function urlAndAddress(url: string, address: string | undefined): { url: ParsedUrl; address: string } {
  const u = parseUrl(url);
  if (u.websocket !== undefined && address === undefined)
    throw new UsageError('a ws:// or wss:// URL needs --address: its path is the WebSocket endpoint');
  if (u.path !== undefined && address !== undefined)
    throw new UsageError(`the address is given twice: ${u.path} in the URL and ${address} by --address`);
  const a = address ?? u.path;
  if (!a) throw new UsageError('the URL needs an address: amqp://host:port/address');
  return { url: u, address: a };
}

/** A port to listen on: 0 (any free port) to 65535. */
export function port(value: string | undefined, name: string, fallback: number): number {
  const n = int(value, name, fallback);
  if (n > 65535) throw new UsageError(`--${name} must be a port from 0 to 65535, got ${value}`);
  return n;
}

/** Prints a line, or a JSON object when --json was given. */
export function out(json: boolean, text: string, obj: unknown): void {
  process.stdout.write(
    json ? `${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n` : `${text}\n`,
  );
}
