/**
 * The AMQP 1.0 type system as the vendored XML (spec/amqp-1.0/*.bare.xml) says it: every composite
 * and restricted type of the transport, messaging, security and transactions files, checked for
 * anything this reader does not model. The generator writes src/codec/spec/ from this.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXml } from './xml.mjs';

export const TABLE_FILES = ['transport', 'messaging', 'security', 'transactions'];

const KNOWN_ATTRS = {
  type: ['name', 'class', 'source', 'provides'],
  descriptor: ['name', 'code'],
  field: ['name', 'type', 'mandatory', 'multiple', 'requires', 'default'],
  choice: ['name', 'value'],
  encoding: ['name', 'code', 'category', 'width'],
  definition: ['name', 'value'],
  section: ['name'],
};

/** Reads one spec file: its text and its <type> elements, each with the <section> it is in. */
export function readSpecFile(dir, file) {
  const raw = readFileSync(join(dir, `${file}.bare.xml`), 'utf8');
  const root = parseXml(raw, file);
  if (root.tag !== 'amqp' || root.attrs.name !== file)
    throw new Error(`${file}: root is not <amqp name="${file}">`);
  const types = [];
  const check = (el, allowedChildren) => {
    const known = KNOWN_ATTRS[el.tag];
    if (!known) throw new Error(`${file}: unexpected <${el.tag}>`);
    for (const a of Object.keys(el.attrs)) {
      if (!known.includes(a)) throw new Error(`${file}: <${el.tag}> has unmodelled attribute ${a}`);
    }
    for (const c of el.children) {
      if (!allowedChildren.includes(c.tag)) throw new Error(`${file}: <${c.tag}> inside <${el.tag}>`);
    }
  };
  for (const section of root.children) {
    check(section, ['type', 'definition']);
    for (const t of section.children) {
      if (t.tag === 'definition') {
        check(t, []);
        continue;
      }
      check(t, ['descriptor', 'field', 'choice', 'encoding']);
      for (const c of t.children) check(c, []);
      types.push({ file, section: section.attrs.name, el: t });
    }
  }
  return { raw, types };
}

export function attr(el, name) {
  const v = el.attrs[name];
  if (v === undefined) throw new Error(`<${el.tag} name="${el.attrs.name}"> has no ${name}`);
  return v;
}

function flag(el, name) {
  const v = el.attrs[name];
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new Error(`<${el.tag} name="${el.attrs.name}"> ${name}="${v}" is not a boolean`);
}

function descriptorCode(code) {
  const m = /^0x([0-9a-fA-F]{8}):0x([0-9a-fA-F]{8})$/.exec(code);
  if (!m) throw new Error(`bad descriptor code ${code}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

function providesList(el) {
  const p = el.attrs.provides;
  return p === undefined ? [] : p.split(',').map((s) => s.trim());
}

/** The record key of a field name: split on '-', capitalise all but the first part. */
export function camel(name) {
  const [first, ...rest] = name.split('-');
  return first + rest.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

export function childrenOf(el, tag) {
  return el.children.filter((c) => c.tag === tag);
}

function descriptorOf(el) {
  const ds = childrenOf(el, 'descriptor');
  if (ds.length > 1) throw new Error(`${attr(el, 'name')}: more than one descriptor`);
  return ds[0];
}

export function compositeFromXml(el) {
  const name = attr(el, 'name');
  const d = descriptorOf(el);
  if (!d) throw new Error(`composite ${name} has no descriptor`);
  if (childrenOf(el, 'choice').length > 0) throw new Error(`composite ${name} has choices`);
  const source = attr(el, 'source');
  if (source !== 'list') throw new Error(`composite ${name} has source ${source}`);
  return {
    name,
    code: descriptorCode(attr(d, 'code')),
    descriptorName: attr(d, 'name'),
    source,
    provides: providesList(el),
    fields: childrenOf(el, 'field').map((f) => {
      const spec = {
        name: attr(f, 'name'),
        key: camel(attr(f, 'name')),
        type: attr(f, 'type'),
        mandatory: flag(f, 'mandatory'),
        multiple: flag(f, 'multiple'),
      };
      if (f.attrs.requires !== undefined) spec.requires = f.attrs.requires;
      if (f.attrs.default !== undefined) spec.default = f.attrs.default;
      return spec;
    }),
  };
}

export function restrictedFromXml(el) {
  const name = attr(el, 'name');
  if (childrenOf(el, 'field').length > 0) throw new Error(`restricted ${name} has fields`);
  const r = { name, source: attr(el, 'source'), provides: providesList(el) };
  const d = descriptorOf(el);
  if (d) {
    r.code = descriptorCode(attr(d, 'code'));
    r.descriptorName = attr(d, 'name');
  }
  const choices = childrenOf(el, 'choice');
  if (choices.length > 0)
    r.choices = choices.map((c) => ({ name: attr(c, 'name'), value: attr(c, 'value') }));
  return r;
}

/**
 * Reads the whole spec from `dir`: the composites and restricted types in file order (each with
 * the XML it came from), and the primitives of types.bare.xml.
 */
export function readSpec(dir) {
  const files = TABLE_FILES.map((file) => ({ file, ...readSpecFile(dir, file) }));
  const composites = [];
  const restricted = [];
  for (const { raw, types } of files) {
    for (const t of types) {
      const cls = attr(t.el, 'class');
      const origin = { file: t.file, section: t.section, xml: xmlText(raw, t.el) };
      if (cls === 'composite') composites.push({ ...compositeFromXml(t.el), origin });
      else if (cls === 'restricted') restricted.push({ ...restrictedFromXml(t.el), origin });
      else throw new Error(`${t.file}: ${attr(t.el, 'name')} has class ${cls}`);
    }
  }
  const names = [...composites, ...restricted].map((t) => t.name);
  if (new Set(names).size !== names.length) throw new Error('a type name is defined twice');
  const typesFile = readSpecFile(dir, 'types');
  const primitives = new Map(typesFile.types.map((t) => [attr(t.el, 'name'), t.el]));
  for (const [name, el] of primitives)
    if (attr(el, 'class') !== 'primitive') throw new Error(`types: ${name} is not a primitive`);
  return { files, composites, restricted, primitives, typesFile };
}

/** An element's source text, its lines shifted left to the element's own indentation. */
function xmlText(raw, el) {
  const lineStart = raw.lastIndexOf('\n', el.start) + 1;
  const indent = el.start - lineStart;
  return raw
    .slice(el.start, el.end)
    .split('\n')
    .map((l, i) => (i === 0 ? l : l.slice(indent)))
    .join('\n');
}

/** The primitive a type resolves to through restricted sources ('*' stays '*'). */
export function resolveToPrimitive(spec, type, seen = []) {
  if (type === '*' || spec.primitives.has(type)) return type;
  const r = spec.restricted.find((x) => x.name === type);
  if (!r) throw new Error(`${type} is neither a primitive nor a restricted type`);
  if (seen.includes(type)) throw new Error(`restricted types loop: ${[...seen, type].join(' -> ')}`);
  return resolveToPrimitive(spec, r.source, [...seen, type]);
}

const PRIMITIVE_KINDS = new Set([
  'boolean',
  'ubyte',
  'ushort',
  'uint',
  'ulong',
  'symbol',
  'string',
  'binary',
  'timestamp',
  'map',
]);

/**
 * How a field is read and written: a primitive kind, 'fields' (a map keyed by symbols), 'message-id'
 * (one of four types), 'address', 'composite' (one composite type) or 'any'.
 */
export function kindOf(spec, f) {
  if (f.type === '*') {
    if (f.requires === 'message-id') return 'message-id';
    return f.requires === 'address' ? 'address' : 'any';
  }
  if (spec.composites.some((c) => c.name === f.type)) return 'composite';
  let t = f.type;
  for (let i = 0; i < 8; i++) {
    if (t === 'fields' || t === 'annotations' || t === 'filter-set') return 'fields';
    if (PRIMITIVE_KINDS.has(t)) return t;
    const r = spec.restricted.find((x) => x.name === t);
    if (!r) break;
    t = r.source;
  }
  throw new Error(`no codec for spec type ${f.type}`);
}
