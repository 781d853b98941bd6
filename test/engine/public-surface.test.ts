/**
 * The engine's published surface: what `amqp-one` users see in its declarations. The package is
 * built as `npm run build` builds it (tsconfig.build.json), declarations only, into a temporary
 * folder; the checker then reads the entry's exports and the engine classes' members from there.
 * Members marked `@internal` must be gone, the sans-IO methods and the public endpoint methods there.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../..');
let out: string;
let checker: ts.TypeChecker;
let entry: Map<string, ts.Symbol>;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'amqp-one-dts-'));
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  // Declarations only and unchecked (type errors are tsc's to report): what stripInternal keeps.
  const options = {
    ...config.options,
    outDir: out,
    emitDeclarationOnly: true,
    sourceMap: false,
    noCheck: true,
  };
  const emitted = ts.createProgram(config.fileNames, options).emit();
  expect(emitted.emitSkipped).toBe(false);
  const index = join(out, 'index.d.ts');
  const program = ts.createProgram([index], { ...options, noEmit: true, types: [] });
  checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  entry = new Map(checker.getExportsOfModule(module).map((s) => [s.name, s]));
});

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** The non-private instance members of a class the package entry exports, as declared. */
function members(className: string): Set<string> {
  const sym = entry.get(className);
  if (!sym) throw new Error(`${className} is not exported`);
  const cls = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  const names = new Set<string>();
  for (const p of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(cls))) {
    const decl = p.declarations?.[0];
    const flags = decl ? ts.getCombinedModifierFlags(decl) : ts.ModifierFlags.None;
    if (!(flags & ts.ModifierFlags.Private)) names.add(p.name);
  }
  return names;
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.d.ts'))
    .map((name) => join(dir, name));
}

const LINK_PUBLIC = ['attach', 'detach', 'isOpen', 'name', 'handle', 'role', 'local', 'remote', 'error'];
const LINK_INTERNAL = ['flowPending', 'echoPending', 'onRemoteAttach', 'onRemoteDetach', 'flowFields'];
const LINK_INTERNAL_METHODS = ['writeFlow', 'onFlow', 'onAttachSent', 'onRemoteAttachState', 'onDetaching'];

const SURFACE: Record<string, { shown: string[]; hidden: string[] }> = {
  Connection: {
    shown: ['receive', 'takeOutput', 'tick', 'takeEvents', 'hasOutput', 'open', 'close', 'beginSession'],
    hidden: [
      'emit',
      'violation',
      'writeFrame',
      'writeTransfer',
      'outputFull',
      'outputPending',
      'creditRoom',
      'creditReturned',
      'holdsSender',
      'deliveriesForgotten',
      'sessionEnded',
      'unsettledIncoming',
      'reassemblyBytes',
    ],
  },
  Session: {
    shown: ['begin', 'end', 'openSender', 'openReceiver', 'allLinks', 'isOpen', 'unsettledOutgoing'],
    hidden: [
      'writeTransferFrames',
      'assignDeliveryId',
      'write',
      'writeFlow',
      'wantsPump',
      'flush',
      'queueDisposition',
      'linkDetached',
      'fail',
      'onBegin',
      'onAttach',
      'onTransfer',
      'onDisposition',
    ],
  },
  Link: { shown: LINK_PUBLIC, hidden: [...LINK_INTERNAL, ...LINK_INTERNAL_METHODS] },
  Sender: {
    shown: [...LINK_PUBLIC, 'send', 'sendWith', 'abort', 'cancel', 'settle', 'queued', 'sendable'],
    hidden: [...LINK_INTERNAL, ...LINK_INTERNAL_METHODS, 'pump', 'onDisposition'],
  },
  Receiver: {
    shown: [...LINK_PUBLIC, 'setCredit', 'addCredit', 'topUp', 'drainCredit', 'settle', 'disposition'],
    hidden: [...LINK_INTERNAL, ...LINK_INTERNAL_METHODS, 'grantShortfall', 'dropPartial', 'onTransfer'],
  },
  Delivery: {
    shown: ['id', 'tag', 'payload', 'settled', 'state', 'remoteState', 'done', 'link'],
    hidden: [],
  },
};

describe('the published engine surface', () => {
  test('the package entry exports the engine, its vocabulary and the SASL mechanisms', () => {
    const names = [
      'Connection',
      'Session',
      'Link',
      'Sender',
      'Receiver',
      'Delivery',
      'Role',
      'SenderSettleMode',
      'ReceiverSettleMode',
      'ACCEPTED',
      'RELEASED',
      'Condition',
      'ConnectionError',
      'EngineEvent',
      'ConnectionOptions',
      'SessionOptions',
      'LinkOptions',
      'EngineSendOptions',
      'anonymousClient',
      'plainClient',
      'externalClient',
      'anonymousServer',
      'plainServer',
      'externalServer',
    ];
    expect(names.filter((n) => !entry.has(n))).toEqual([]);
  });

  for (const [cls, { shown, hidden }] of Object.entries(SURFACE)) {
    test(`${cls}: public members are declared, internal ones are not`, () => {
      const declared = members(cls);
      expect(shown.filter((m) => !declared.has(m))).toEqual([]);
      expect(hidden.filter((m) => declared.has(m))).toEqual([]);
    });
  }

  test('no engine declaration keeps an internal member, and the frame output is not published', () => {
    const files = ['connection', 'session', 'link'].flatMap((d) => declarationFiles(join(out, d)));
    expect(files.length).toBeGreaterThan(8);
    expect(files.filter((f) => readFileSync(f, 'utf8').includes('@internal'))).toEqual([]);
    expect(readFileSync(join(out, 'connection/output.d.ts'), 'utf8')).not.toMatch(/FrameOutput/);
  });
});
