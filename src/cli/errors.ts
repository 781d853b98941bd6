/**
 * What the `amqp-one` command reports when something goes wrong, in two kinds:
 * - a usage error (exit 2): one line, then the command's help, on stderr;
 * - anything else (exit 1): one line with a stable code, no stack.
 * Node reports a port in use, a missing file or a bad port with its own codes (EADDRINUSE, ENOENT,
 * ERR_SOCKET_BAD_PORT) and parseArgs with ERR_PARSE_ARGS_*: `toCliError` turns those into the
 * errors below, so that the user reads a sentence with one of our codes, whichever layer threw.
 */
import { AmqpOneError } from '../codec/errors.js';

/** The code of every usage error; the emulator's `hub` command throws its own with the same code. */
export const USAGE_CODE = 'AMQP_CLI_USAGE';

/** A bad command line: exit 2 and the help (`help`, when a subcommand has its own). */
export class UsageError extends AmqpOneError {
  constructor(
    message: string,
    readonly help?: string,
  ) {
    super(USAGE_CODE, message);
  }
}

export type CliErrorCode =
  | 'AMQP_CLI_ADDRESS_IN_USE'
  | 'AMQP_CLI_ADDRESS_NOT_AVAILABLE'
  | 'AMQP_CLI_PERMISSION_DENIED'
  | 'AMQP_CLI_FILE_NOT_FOUND'
  | 'AMQP_CLI_BAD_FILE'
  | 'AMQP_CLI_BAD_PORT'
  | 'AMQP_CLI_HOST_NOT_FOUND'
  | 'AMQP_CLI_FAILED';

/** A runtime failure of the command itself (exit 1); the original error is its `cause`. */
export class CliError extends AmqpOneError {
  declare readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, cause?: unknown) {
    super(code, message, undefined, { cause });
  }
}

interface NodeSystemError {
  code?: unknown;
  message?: unknown;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

const where = (e: NodeSystemError): string =>
  e.address === undefined ? '' : ` ${e.address}${e.port === undefined ? '' : `:${e.port}`}`;

/** parseArgs' messages, shortened to the option they are about. */
function parseArgsUsage(code: string, message: string): UsageError {
  const option = /'(-[^', ]+)(?:, (--[^' ]+))?/.exec(message);
  const name = option ? (option[2] ?? option[1]) : undefined;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${name ?? message}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(
        / argument missing/.test(message) && name ? `${name} needs a value` : message.split('\n')[0]!,
      );
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(message)?.[1];
      return new UsageError(`unexpected argument ${arg ?? message}`);
    }
    default:
      return new UsageError(message.split('\n')[0]!);
  }
}

/** Any error, as the typed error the command prints. */
export function toCliError(e: unknown): AmqpOneError {
  const err = (typeof e === 'object' && e !== null ? e : {}) as NodeSystemError;
  const code = typeof err.code === 'string' ? err.code : undefined;
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (e instanceof UsageError) return e;
  if (code === USAGE_CODE) return new UsageError(message);
  if (code?.startsWith('ERR_PARSE_ARGS_')) return parseArgsUsage(code, message);
  if (e instanceof AmqpOneError) {
    // A library error that wraps one of the system errors below reads the same as the raw one.
    const cause = (e as { cause?: NodeSystemError }).cause;
    const mapped = typeof cause?.code === 'string' ? systemError(cause.code, cause, cause) : undefined;
    return mapped ?? e;
  }
  return systemError(code, err, e) ?? other(code, message, e);
}

function systemError(code: string | undefined, err: NodeSystemError, e: unknown): CliError | undefined {
  const message = typeof err.message === 'string' ? err.message : String(e);
  switch (code) {
    case 'EADDRINUSE':
      return new CliError(
        'AMQP_CLI_ADDRESS_IN_USE',
        `the address${where(err)} is already in use: another process listens there (pick another port, or 0 for any free port)`,
        e,
      );
    case 'EADDRNOTAVAIL':
      return new CliError(
        'AMQP_CLI_ADDRESS_NOT_AVAILABLE',
        `cannot listen on${where(err)}: not an address of this machine`,
        e,
      );
    case 'EACCES':
    case 'EPERM':
      return new CliError(
        'AMQP_CLI_PERMISSION_DENIED',
        err.path !== undefined
          ? `permission denied: ${err.path}`
          : `permission denied to ${err.syscall ?? 'do that'}${where(err)} (ports below 1024 need privileges)`,
        e,
      );
    case 'ENOENT':
      return new CliError('AMQP_CLI_FILE_NOT_FOUND', `no such file or folder: ${err.path ?? message}`, e);
    case 'EISDIR':
    case 'ENOTDIR':
      return new CliError('AMQP_CLI_BAD_FILE', `not a file: ${err.path ?? message}`, e);
    case 'ERR_SOCKET_BAD_PORT':
      return new CliError('AMQP_CLI_BAD_PORT', `bad port: a port is an integer from 0 to 65535`, e);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError('AMQP_CLI_HOST_NOT_FOUND', `unknown host ${err.hostname ?? message}`, e);
  }
  return undefined;
}

function other(code: string | undefined, message: string, e: unknown): CliError {
  if (e instanceof SyntaxError) return new CliError('AMQP_CLI_BAD_FILE', `not valid JSON: ${message}`, e);
  // Anything else keeps Node's words after our code, on one line.
  const text = message.split('\n')[0]!;
  return new CliError('AMQP_CLI_FAILED', code && !text.includes(code) ? `${text} (${code})` : text, e);
}

/**
 * The one line printed for an error: `amqp-one send: [CODE] message`, or JSON under --json. An IoT
 * Hub REST error adds the hub's own number (`(IoT Hub error 404103)`, `hubErrorCode` in JSON).
 */
export function errorLine(command: string, e: AmqpOneError, json: boolean): string {
  const message = e.message.split('\n')[0]!;
  const hub = (e as { hubErrorCode?: unknown }).hubErrorCode;
  const hubErrorCode = typeof hub === 'number' ? hub : undefined;
  if (json)
    return JSON.stringify({
      error: { code: e.code, message, ...(hubErrorCode === undefined ? {} : { hubErrorCode }) },
    });
  return `${command}: [${e.code}] ${message}${hubErrorCode === undefined ? '' : ` (IoT Hub error ${hubErrorCode})`}`;
}
