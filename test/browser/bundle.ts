/**
 * Builds browser bundles from src with esbuild, as a user's bundler would for a web page: platform
 * 'browser' and no Node polyfills. Any import of a Node module fails the build, `node:` prefixed
 * or bare (a bare 'buffer' or 'events' would otherwise resolve to an npm look-alike in node_modules).
 */
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const NODE_MODULES = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Fails the build on any Node module, naming who imports it. */
export const noNodeModules: Plugin = {
  name: 'no-node-modules',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const p = args.path;
      if (!p.startsWith('node:') && !NODE_MODULES.has(p) && !NODE_MODULES.has(p.split('/')[0]!))
        return undefined;
      return { errors: [{ text: `${args.importer} imports the Node module ${p}` }] };
    });
  },
};

export interface BrowserBundle {
  /** The bundle's JavaScript. */
  code: Uint8Array;
  /** The source files it holds, relative to the repository. */
  inputs: string[];
  /** The names the bundle exports (format 'esm'). */
  exports: string[];
}

/** Bundles `entry` for a browser; rejects with esbuild's errors (a Node import among them). */
export async function bundleForBrowser(
  entry: string,
  options: { format?: 'esm' | 'iife'; minify?: boolean; keepNames?: boolean } = {},
): Promise<BrowserBundle> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: options.format ?? 'esm',
    target: 'es2022',
    minify: options.minify ?? false,
    keepNames: options.keepNames ?? false,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeModules],
  });
  const out = Object.values(r.metafile.outputs)[0]!;
  return { code: r.outputFiles[0]!.contents, inputs: Object.keys(r.metafile.inputs), exports: out.exports };
}

/** Bytes of `code` minified as it is, and gzipped at zlib's default level. */
export function gzippedSize(code: Uint8Array): number {
  return gzipSync(code).length;
}
