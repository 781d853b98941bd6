/**
 * Structured diagnostics. Every layer that has something to say builds a record only after one
 * cheap check (`Log.enabled`), so an application without a logger pays a couple of comparisons per
 * call site and allocates nothing.
 *
 * Records go to the connection's own `logger` option, or else to the process-wide one set with
 * `setLogger()`; and, independently, to stderr for the categories the DEBUG environment variable
 * names (`DEBUG=amqp-one:*`, see debug-env.ts). A record is a plain object, so pino, winston or
 * console take it without parsing text. Nothing secret is ever put in one: no password, SAS token
 * or key, and SASL frames are shown without their responses.
 */
import { debugEnv, formatDebugLine, parseDebug, writeDebugOutput } from './debug-env.js';

/** A record's severity, from the most to the least urgent. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * What a record is about: the connection (open, close, errors), sessions, links, SASL, every frame
 * (trace level), the IoT Hub clients (CBS, renewal, redirect, reconnect), the server (accepted and
 * closed clients), the broker and the IoT Hub emulator.
 */
export type LogCategory =
  'connection' | 'session' | 'link' | 'sasl' | 'frames' | 'iothub' | 'server' | 'broker' | 'hub';

export const LOG_CATEGORIES: readonly LogCategory[] = [
  'connection',
  'session',
  'link',
  'sasl',
  'frames',
  'iothub',
  'server',
  'broker',
  'hub',
];

/** One structured diagnostic record: plain data a logger can print or forward as it is. */
export interface LogRecord {
  level: LogLevel;
  category: LogCategory;
  message: string;
  /** Plain values only: what the record is about (connection id, link name, condition, ...). */
  fields: Record<string, unknown>;
}

/** A function taking each record. */
export type LogFunction = (record: LogRecord) => void;

/**
 * A function receives records up to 'debug' (frames, at 'trace', are many: ask for them with the
 * object form, `{ level: 'trace', log }`).
 */
export type Logger = LogFunction | { log: LogFunction; level?: LogLevel };

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const DEFAULT_LEVEL: LogLevel = 'debug';

interface Sink {
  log: LogFunction;
  rank: number;
}

/** What is wrong with a `logger` option, or undefined when it is usable (or absent). */
export function loggerProblem(logger: unknown): string | undefined {
  if (logger === undefined || typeof logger === 'function') return undefined;
  if (
    logger === null ||
    typeof logger !== 'object' ||
    typeof (logger as { log?: unknown }).log !== 'function'
  )
    return 'logger must be a function (record) => void or { log(record), level? }';
  const level = (logger as { level?: unknown }).level;
  if (level !== undefined && !Object.hasOwn(RANK, level as string))
    return `logger level must be one of ${Object.keys(RANK).join(', ')}, got ${String(level)}`;
  return undefined;
}

function toSink(logger: Logger | undefined): Sink | undefined {
  const problem = loggerProblem(logger);
  // The API layers check first and throw their typed errors; this is the engine's own guard.
  if (problem) throw new TypeError(problem);
  if (logger === undefined) return undefined;
  if (typeof logger === 'function') return { log: logger, rank: RANK[DEFAULT_LEVEL] };
  return { log: logger.log.bind(logger), rank: RANK[logger.level ?? DEFAULT_LEVEL] };
}

let globalSink: Sink | undefined;
/** The categories DEBUG shows on stderr; read once, at load. */
let debugCategories = parseDebug(debugEnv(), LOG_CATEGORIES);
/** Anything process-wide listening (setLogger, or DEBUG): the first test of every check. */
let globalActive = debugCategories.size > 0;

/**
 * Sends the records of every connection without a `logger` of its own to `logger` (undefined:
 * stop). The package exports it as `setLogger` (api/logging.ts), which checks its argument first.
 */
export function setGlobalLogger(logger: Logger | undefined): void {
  globalSink = toSink(logger);
  globalActive = globalSink !== undefined || debugCategories.size > 0;
}

/** @internal Reads `spec` as the DEBUG variable is read at load (tests; undefined: all off). */
export function setDebug(spec: string | undefined): void {
  debugCategories = parseDebug(spec, LOG_CATEGORIES);
  globalActive = globalSink !== undefined || debugCategories.size > 0;
}

function debugEnabled(category: LogCategory): boolean {
  return debugCategories.size > 0 && debugCategories.has(category);
}

function writeDebugLine(r: LogRecord): void {
  writeDebugOutput(formatDebugLine(r));
}

/** A record source with fields every record carries (the connection's id, say). */
export class Log {
  private own: Sink | undefined;

  constructor(
    logger?: Logger,
    readonly context: Record<string, unknown> = {},
  ) {
    this.own = toSink(logger);
  }

  /** Anything may be wanted (a logger is set, or DEBUG): the cheapest first test. */
  active(): boolean {
    return this.own !== undefined || globalActive;
  }

  /** The one check before a record is built: false costs nothing more. */
  enabled(level: LogLevel, category: LogCategory): boolean {
    if (this.own === undefined && !globalActive) return false;
    const sink = this.own ?? globalSink;
    return (sink !== undefined && RANK[level] <= sink.rank) || debugEnabled(category);
  }

  /** Builds and hands out one record; call it after `enabled` said yes. */
  write(level: LogLevel, category: LogCategory, message: string, fields?: Record<string, unknown>): void {
    const record: LogRecord = { level, category, message, fields: { ...this.context, ...fields } };
    const sink = this.own ?? globalSink;
    if (sink !== undefined && RANK[level] <= sink.rank) {
      try {
        sink.log(record);
      } catch {
        // A logger that throws must not break the protocol.
      }
    }
    if (debugEnabled(category)) writeDebugLine(record);
  }

  /** `enabled` and `write` in one, for call sites whose fields cost nothing to build. */
  log(level: LogLevel, category: LogCategory, message: string, fields?: Record<string, unknown>): void {
    if (this.enabled(level, category)) this.write(level, category, message, fields);
  }

  /** A Log with the same destination and more context fields. */
  child(context: Record<string, unknown>): Log {
    const c = new Log(undefined, { ...this.context, ...context });
    c.own = this.own;
    return c;
  }
}

/** A plain summary of an error: never its cause chain or anything it was built from. */
export function errorFields(e: unknown): Record<string, unknown> | undefined {
  if (e === undefined || e === null) return undefined;
  if (!(e instanceof Error)) return { message: String(e) };
  const { code, condition } = e as { code?: unknown; condition?: unknown };
  return { name: e.name, code, condition, message: e.message };
}
