/**
 * What `import { DeviceClient } from 'amqp-one/iothub'` loads: the static import graph of
 * src/iothub/index.ts as the compiler emits it, file by file (an import used only for types is
 * erased, so it loads nothing; a const enum's module still counts, where tsc would inline it, so
 * the count can be one or two above dist's). A device loads the clients and what they stand on, never the emulator, the hub
 * state, the server, the broker, the conformance suite, the benchmarks, the certificate authority
 * or the CLI: those come in through amqp-one/iothub/emulator and the amqp-one command.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../../../src');

const FORBIDDEN = [
  'iothub/emulator/',
  'iothub/hub/',
  'server/',
  'broker/',
  'conformance/',
  'bench/',
  'pki/',
  'cli/',
];

/** The module specifiers a file's emitted JavaScript imports or re-exports, at load time. */
function staticImports(file: string): string[] {
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: file,
  }).outputText;
  const out: string[] = [];
  for (const s of ts.createSourceFile(`${file}.js`, js, ts.ScriptTarget.ES2022).statements) {
    if (!ts.isImportDeclaration(s) && !ts.isExportDeclaration(s)) continue;
    if (s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
  }
  return out;
}

/** Every source module that loading `entry` loads (itself included), as paths under src/. */
function loadedModules(entry: string): string[] {
  const seen = new Set<string>();
  const todo = [path.join(SRC, entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('node:')) continue;
      // The package has no runtime dependencies: anything else is a relative .js path into src.
      if (!spec.startsWith('.')) throw new Error(`${path.relative(SRC, file)} imports ${spec}`);
      todo.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  }
  return [...seen].map((f) => path.relative(SRC, f).split(path.sep).join('/')).sort();
}

const forbidden = (modules: string[]): string[] =>
  modules.filter((m) => FORBIDDEN.some((prefix) => m.startsWith(prefix)));

it('amqp-one/iothub loads the clients and the protocol stack only', () => {
  const modules = loadedModules('iothub/index.ts');
  console.log(`amqp-one/iothub loads ${modules.length} modules`);
  expect(modules).toContain('iothub/client/device-client.ts');
  expect(modules).toContain('iothub/client/service-client.ts');
  expect(modules).toContain('client/connect.ts');
  expect(forbidden(modules)).toEqual([]);
});

it('amqp-one/iothub/emulator is where the hub, the server and the certificate authority load', () => {
  const modules = forbidden(loadedModules('iothub/emulator/index.ts'));
  for (const m of [
    'iothub/emulator/start-hub.ts',
    'iothub/hub/hub.ts',
    'server/server.ts',
    'pki/certificates.ts',
  ])
    expect(modules).toContain(m);
});
