/**
 * The DEBUG environment variable, read as the `debug` package reads it (without depending on it):
 * names separated by commas or spaces, `*` as a wildcard, a leading `-` to exclude. Ours are
 * `amqp-one:<category>`, so `DEBUG=amqp-one:*` shows every category on stderr and
 * `DEBUG=amqp-one:*,-amqp-one:frames` all but the frames. One line per record.
 */

// Node's process and util.inspect where they exist; in a browser there is no DEBUG variable and
// values are shown as JSON. Nothing here is imported statically, so a browser bundle has no node:*.
const nodeProcess = typeof process === 'undefined' ? undefined : process;
const inspect = nodeProcess?.getBuiltinModule?.('node:util')?.inspect;

/** The DEBUG environment variable (undefined where there is no environment, as in a browser). */
export function debugEnv(): string | undefined {
  return nodeProcess?.env?.DEBUG;
}

/** Writes one formatted line: stderr under Node, else the console's debug level. */
export function writeDebugOutput(line: string): void {
  if (nodeProcess?.stderr) nodeProcess.stderr.write(line);
  else console.debug(line.replace(/\n$/, ''));
}

export const DEBUG_PREFIX = 'amqp-one:';

function patternOf(name: string): RegExp {
  const escaped = name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?');
  return new RegExp(`^${escaped}$`);
}

/** The categories a DEBUG value turns on, of those given. */
export function parseDebug<C extends string>(spec: string | undefined, categories: readonly C[]): Set<C> {
  const on = new Set<C>();
  if (!spec) return on;
  const names = spec.split(/[\s,]+/).filter((n) => n.length > 0);
  const include = names.filter((n) => !n.startsWith('-')).map(patternOf);
  const exclude = names.filter((n) => n.startsWith('-')).map((n) => patternOf(n.slice(1)));
  for (const c of categories) {
    const name = DEBUG_PREFIX + c;
    if (include.some((p) => p.test(name)) && !exclude.some((p) => p.test(name))) on.add(c);
  }
  return on;
}

function show(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]*$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
  if (inspect)
    return inspect(v, { depth: 4, breakLength: Infinity, maxStringLength: 200, maxArrayLength: 20 });
  return showPlain(v);
}

/** A value as JSON, with what JSON cannot hold made readable (bigints, bytes, errors, cycles). */
function showPlain(v: unknown): string {
  try {
    const json = JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'bigint'
        ? `${x}n`
        : x instanceof Uint8Array
          ? `<${x.length} bytes>`
          : x instanceof Error
            ? `${x.name}: ${x.message}`
            : x,
    );
    return json ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * `<time> amqp-one:<category> <level> <message> key=value ...`. A frame's message is already the
 * frame, as AMQP_TRACE=frames shows it, so its fields are not repeated.
 */
export function formatDebugLine(
  r: { level: string; category: string; message: string; fields: Record<string, unknown> },
  now = new Date(),
): string {
  let line = `${now.toISOString()} ${DEBUG_PREFIX}${r.category} ${r.level} ${r.message}`;
  if (r.category !== 'frames') {
    for (const k of Object.keys(r.fields)) {
      const v = r.fields[k];
      if (v !== undefined) line += ` ${k}=${show(v)}`;
    }
  }
  return line + '\n';
}
