/**
 * The layering of docs/ARCHITECTURE.md, enforced: each folder of src/ imports only the folders it
 * is allowed to, which are all below it, and no files import each other in a circle except the
 * engine's connection, session and link, which are one state machine split into three files.
 */
import { describe, expect, it } from 'vitest';
import { cycles, importGraph } from './import-graph.js';

/** Folders from the bottom up; each may import itself and the folders listed. */
const ENGINE = ['connection', 'session', 'link', 'sasl'];
const CORE = ['util', 'codec', 'protocol', 'frames', ...ENGINE];
const MAY_IMPORT: Record<string, string[]> = {
  util: [],
  codec: ['util'],
  protocol: ['util', 'codec'],
  frames: ['util', 'codec', 'protocol'],
  sasl: ['util', 'codec', 'protocol'],
  connection: CORE,
  session: CORE,
  link: CORE,
  engine: CORE,
  pki: ['util', 'codec'],
  transport: [...CORE, 'engine'],
  api: [...CORE, 'engine', 'transport'],
  client: [...CORE, 'engine', 'transport', 'api'],
  server: [...CORE, 'engine', 'transport', 'api'],
  broker: [...CORE, 'engine', 'transport', 'api', 'server'],
  conformance: [...CORE, 'engine', 'transport', 'api', 'client'],
  bench: [...CORE, 'engine', 'transport', 'api', 'client', 'server'],
  iothub: [...CORE, 'engine'],
  'iothub/hub': [...CORE, 'iothub'],
  'iothub/client': [...CORE, 'engine', 'transport', 'api', 'client', 'iothub'],
  'iothub/emulator': [...CORE, 'engine', 'transport', 'api', 'server', 'pki', 'iothub', 'iothub/hub'],
};
/**
 * The package entries: `amqp-one` (no IoT code), `amqp-one/iothub` and `amqp-one/iothub/browser`
 * (the clients, not the emulator).
 */
MAY_IMPORT['.'] = Object.keys(MAY_IMPORT).filter((f) => !f.startsWith('iothub'));
MAY_IMPORT['iothub/index.ts'] = [...MAY_IMPORT['iothub/client']!, 'iothub/client'];
MAY_IMPORT['iothub/browser.ts'] = MAY_IMPORT['iothub/index.ts'];
/** The command line may use everything. */
MAY_IMPORT.cli = Object.keys(MAY_IMPORT).filter((f) => f.indexOf('.') < 0);

/** The folder a file belongs to for layering: iothub's sub-folders are layers of their own. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return '.';
  if (file === 'iothub/index.ts' || file === 'iothub/browser.ts') return file;
  if (parts[0] === 'iothub' && parts.length > 2) return `iothub/${parts[1]}`;
  return parts[0]!;
}

describe('src layering', () => {
  const graph = importGraph();

  it('every folder of src has a place in the layering', () => {
    const unknown = [...new Set([...graph.keys()].map(folderOf))].filter((f) => !(f in MAY_IMPORT));
    expect(unknown).toEqual([]);
  });

  it('imports point only downward', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const t of targets) {
        const to = folderOf(t);
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) upward.push(`${file} -> ${t}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the only import cycle is the engine core of connection, session and link', () => {
    const engineCore = (f: string) => ['connection', 'session', 'link'].includes(folderOf(f));
    const other = cycles(graph).filter((scc) => !scc.every(engineCore));
    expect(other).toEqual([]);
  });

  it('finds imports at all (a broken reader would pass the checks above vacuously)', () => {
    expect(graph.get('frames/frame-reader.ts')).toContain('protocol/framing-errors.ts');
    expect(graph.size).toBeGreaterThan(100);
  });
});
