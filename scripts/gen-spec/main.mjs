/**
 * npm run gen:spec: regenerates src/codec/spec/ from spec/amqp-1.0/*.bare.xml.
 * `node scripts/gen-spec/main.mjs <dir>` writes into <dir> instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = resolve(process.argv[2] ?? join(root, 'src/codec/spec'));
const files = await generate(join(root, 'spec/amqp-1.0'));
mkdirSync(out, { recursive: true });
for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
console.log(`wrote ${Object.keys(files).join(', ')} to ${out}`);
