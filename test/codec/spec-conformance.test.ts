/**
 * The oracle for src/codec/spec/types.ts and src/codec/spec/records.ts: reads the vendored AMQP 1.0
 * XML (spec/amqp-1.0/*.bare.xml) with the generator's reader (scripts/gen-spec) and checks the
 * generated tables against it, entry by entry, in both directions. test/codec/spec-generated.test.ts
 * checks that the files are what the generator writes; this checks that what it writes is the spec.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  compositeByCode,
  compositeTypes,
  restrictedTypes,
  type CompositeType,
  type FieldSpec,
  type RestrictedType,
} from '../../src/codec/spec/types.js';
import type { CompositeName, Open, RecordOf } from '../../src/codec/spec/records.js';
import { parseXml } from '../../scripts/gen-spec/xml.mjs';
import {
  TABLE_FILES,
  attr,
  camel,
  childrenOf,
  compositeFromXml,
  readSpecFile,
  restrictedFromXml,
} from '../../scripts/gen-spec/spec.mjs';

const SPEC_DIR = new URL('../../spec/amqp-1.0/', import.meta.url).pathname;
const readSpecXml = (file: string) => readSpecFile(SPEC_DIR, file);

const specFiles = TABLE_FILES.map((f) => ({ file: f, ...readSpecXml(f) }));
const allXmlTypes = specFiles.flatMap((s) => s.types);
const xmlComposites = allXmlTypes
  .filter((t) => attr(t.el, 'class') === 'composite')
  .map((t): CompositeType => compositeFromXml(t.el));
const xmlRestricted = allXmlTypes
  .filter((t) => attr(t.el, 'class') === 'restricted')
  .map((t): RestrictedType => restrictedFromXml(t.el));
const xmlCompositeByName = new Map(xmlComposites.map((c) => [c.name, c]));
const xmlRestrictedByName = new Map(xmlRestricted.map((r) => [r.name, r]));

const typesXml = readSpecXml('types');
const primitives = new Map(typesXml.types.map((t) => [attr(t.el, 'name'), t.el]));

// ---------------------------------------------------------------------------------------------
// Comparison: a list of human-readable problems, empty when the table matches the XML.

function describeValue(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}n` : x));
}

function compareEntry(what: string, actual: object, expected: object): string[] {
  const problems: string[] = [];
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
  for (const k of keys) {
    if (k === 'fields' && Array.isArray(a[k]) && Array.isArray(e[k])) {
      const af = a[k] as unknown[];
      const ef = e[k] as unknown[];
      for (let i = 0; i < Math.max(af.length, ef.length); i++) {
        if (!isDeepStrictEqual(af[i], ef[i])) {
          problems.push(
            `${what}.fields[${i}]: table has ${describeValue(af[i])}, spec has ${describeValue(ef[i])}`,
          );
        }
      }
    } else if (!isDeepStrictEqual(a[k], e[k])) {
      problems.push(`${what}.${k}: table has ${describeValue(a[k])}, spec has ${describeValue(e[k])}`);
    }
  }
  return problems;
}

function compareTable<T extends { name: string }>(
  kind: string,
  table: Readonly<Record<string, T>>,
  spec: readonly T[],
): string[] {
  const problems: string[] = [];
  const specNames = new Set(spec.map((s) => s.name));
  for (const s of spec) {
    const entry = Object.prototype.hasOwnProperty.call(table, s.name) ? table[s.name] : undefined;
    if (!entry) problems.push(`${kind} ${s.name}: missing from the table`);
    else problems.push(...compareEntry(`${kind} ${s.name}`, entry, s));
  }
  for (const [key, entry] of Object.entries(table)) {
    if (!specNames.has(key)) problems.push(`${kind} ${key}: in the table but not in the spec`);
    else if (entry.name !== key) problems.push(`${kind} ${key}: keyed under ${key} but named ${entry.name}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

describe('the XML reader', () => {
  it('sees every <type> and <field> in the files', () => {
    for (const { file, raw, types } of specFiles) {
      const text = raw.replace(/<!--[\s\S]*?-->/g, '');
      expect(types.length, file).toBe(text.split('<type ').length - 1);
      const fields = types.reduce((n, t) => n + childrenOf(t.el, 'field').length, 0);
      expect(fields, file).toBe(text.split('<field ').length - 1);
      const choices = types.reduce((n, t) => n + childrenOf(t.el, 'choice').length, 0);
      expect(choices, file).toBe(text.split('<choice ').length - 1);
    }
    expect(typesXml.types.length).toBe(typesXml.raw.split('<type ').length - 1);
  });

  it('reads attributes, self-closing and nested elements, and rejects what it does not understand', () => {
    const text = '<?xml version="1.0"?><!-- c --><a x="1 &amp; 2"><b y="z"/><c></c></a>';
    const root = parseXml(text, 't');
    expect(root).toEqual({
      tag: 'a',
      attrs: { x: '1 & 2' },
      children: [
        { tag: 'b', attrs: { y: 'z' }, children: [], start: 48, end: 58 },
        { tag: 'c', attrs: {}, children: [], start: 58, end: 65 },
      ],
      start: 31,
      end: 69,
    });
    expect(text.slice(root.children[0]!.start, root.children[0]!.end)).toBe('<b y="z"/>');
    expect(() => parseXml("<a x='1'/>", 't')).toThrow(/unexpected content/);
    expect(() => parseXml('<a>text</a>', 't')).toThrow(/unexpected content/);
    expect(() => parseXml('<a><b></a>', 't')).toThrow(/closes/);
    expect(() => parseXml('<a>', 't')).toThrow(/never closed/);
  });

  it('finds the classes it expects, and only those', () => {
    for (const t of allXmlTypes)
      expect(['composite', 'restricted'], t.el.attrs['name']).toContain(t.el.attrs['class']);
    for (const t of typesXml.types) expect(t.el.attrs['class'], t.el.attrs['name']).toBe('primitive');
    expect(xmlComposites.length + xmlRestricted.length).toBe(allXmlTypes.length);
    // No name is defined twice across the four files.
    expect(new Set(allXmlTypes.map((t) => attr(t.el, 'name'))).size).toBe(allXmlTypes.length);
  });
});

describe('compositeTypes', () => {
  it.each(xmlComposites.map((c) => [c.name, c] as const))('%s matches the spec', (_, spec) => {
    expect(compareEntry(spec.name, compositeTypes[spec.name] ?? {}, spec)).toEqual([]);
  });

  it('has every composite of the four files and nothing else', () => {
    expect(compareTable('composite', compositeTypes, xmlComposites)).toEqual([]);
    expect(Object.keys(compositeTypes).sort()).toEqual(xmlComposites.map((c) => c.name).sort());
  });

  it('uses the camelCase of the field name as the key, unique within each type', () => {
    for (const c of Object.values(compositeTypes)) {
      for (const f of c.fields) expect(f.key, `${c.name}.${f.name}`).toBe(camel(f.name));
      expect(new Set(c.fields.map((f) => f.key)).size, c.name).toBe(c.fields.length);
      expect(
        c.fields.map((f) => f.key),
        c.name,
      ).not.toContain('type');
    }
  });

  it('is frozen, down to the fields', () => {
    expect(Object.isFrozen(compositeTypes)).toBe(true);
    expect(Object.isFrozen(compositeTypes['open']!.fields[0])).toBe(true);
    expect(Object.isFrozen(restrictedTypes['role']!.choices)).toBe(true);
  });

  it('spells the descriptor name as amqp:<name>:list', () => {
    for (const c of Object.values(compositeTypes)) expect(c.descriptorName).toBe(`amqp:${c.name}:list`);
  });
});

describe('restrictedTypes', () => {
  it.each(xmlRestricted.map((r) => [r.name, r] as const))('%s matches the spec', (_, spec) => {
    expect(compareEntry(spec.name, restrictedTypes[spec.name] ?? {}, spec)).toEqual([]);
  });

  it('has every restricted type of the four files and nothing else', () => {
    expect(compareTable('restricted', restrictedTypes, xmlRestricted)).toEqual([]);
    expect(Object.keys(restrictedTypes).sort()).toEqual(xmlRestricted.map((r) => r.name).sort());
  });

  it('spells a described restricted type as amqp:<name>:<primitive it resolves to>', () => {
    const described = Object.values(restrictedTypes).filter((r) => r.code !== undefined);
    expect(described.map((r) => r.name).sort()).toEqual(
      xmlRestricted
        .filter((r) => r.code !== undefined)
        .map((r) => r.name)
        .sort(),
    );
    for (const r of described)
      expect(r.descriptorName).toBe(`amqp:${r.name}:${resolveToPrimitive(r.source)}`);
  });
});

describe('compositeByCode', () => {
  it('maps every descriptor code to its composite, and nothing else', () => {
    for (const spec of xmlComposites) expect(compositeByCode.get(spec.code)?.name, spec.name).toBe(spec.name);
    for (const c of Object.values(compositeTypes)) expect(compositeByCode.get(c.code)).toBe(c);
    expect(compositeByCode.size).toBe(xmlComposites.length);
  });

  it('has no code shared with a described restricted type', () => {
    for (const r of xmlRestricted)
      if (r.code !== undefined) expect(compositeByCode.has(r.code), r.name).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-references, checked against types.bare.xml.

function resolveToPrimitive(type: string, seen: string[] = []): string {
  if (type === '*' || primitives.has(type)) return type;
  const r = xmlRestrictedByName.get(type);
  if (!r) throw new Error(`${type} is neither a primitive nor a restricted type`);
  if (seen.includes(type)) throw new Error(`restricted types loop: ${[...seen, type].join(' -> ')}`);
  return resolveToPrimitive(r.source, [...seen, type]);
}

describe('cross-references (with types.bare.xml)', () => {
  it('finds the primitives the codec needs', () => {
    for (const p of [
      'null',
      'boolean',
      'uint',
      'ulong',
      'binary',
      'string',
      'symbol',
      'list',
      'map',
      'array',
    ]) {
      expect(primitives.has(p), p).toBe(true);
    }
  });

  it('defines no composite or restricted type under a primitive name', () => {
    for (const name of [...Object.keys(compositeTypes), ...Object.keys(restrictedTypes)]) {
      expect(primitives.has(name), name).toBe(false);
    }
  });

  it('resolves every restricted source to a primitive (or *)', () => {
    for (const r of xmlRestricted) expect(() => resolveToPrimitive(r.source), r.name).not.toThrow();
  });

  it('gives every field a known type', () => {
    for (const c of xmlComposites) {
      for (const f of c.fields) {
        const known = f.type === '*' || xmlCompositeByName.has(f.type) || !!resolveToPrimitive(f.type);
        expect(known, `${c.name}.${f.name}`).toBe(true);
        if (f.type === '*') expect(f.requires, `${c.name}.${f.name}: * without requires`).toBeDefined();
      }
    }
  });

  it('has a provider for every required archetype except global-tx-id', () => {
    const provided = new Set([...xmlComposites, ...xmlRestricted].flatMap((t) => t.provides));
    const required = new Set(xmlComposites.flatMap((c) => c.fields.flatMap((f) => f.requires ?? [])));
    // The spec leaves global-tx-id (declare.global-id) to distributed-transaction extensions.
    expect([...required].filter((r) => !provided.has(r))).toEqual(['global-tx-id']);
  });
});

// ---------------------------------------------------------------------------------------------
// The comparison really fails: feed it mutated copies of the spec itself (built from the XML, so
// these tests check the comparison alone, whatever state the real table is in).

const specCompositeTable = Object.fromEntries(xmlComposites.map((c) => [c.name, c]));
const specRestrictedTable = Object.fromEntries(xmlRestricted.map((r) => [r.name, r]));

function mutated<T>(
  table: Readonly<Record<string, T>>,
  change: (t: Record<string, T>) => void,
): Record<string, T> {
  const copy = structuredClone(table) as Record<string, T>;
  change(copy);
  return copy;
}

describe('the comparison catches mistakes', () => {
  it('finds nothing in an unchanged copy', () => {
    expect(
      compareTable(
        'composite',
        mutated(specCompositeTable, () => {}),
        xmlComposites,
      ),
    ).toEqual([]);
    expect(
      compareTable(
        'restricted',
        mutated(specRestrictedTable, () => {}),
        xmlRestricted,
      ),
    ).toEqual([]);
  });

  it('a swapped field order', () => {
    const t = mutated(specCompositeTable, (c) => {
      const f = c['flow']!.fields;
      [f[1], f[2]] = [f[2]!, f[1]!];
    });
    const problems = compareTable('composite', t, xmlComposites);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^composite flow\.fields\[1\]: .*next-outgoing-id.*incoming-window/);
  });

  it('a wrong mandatory, multiple, requires or default', () => {
    const t = mutated(specCompositeTable, (c) => {
      c['attach']!.fields[2]!.mandatory = false;
      c['open']!.fields[5]!.multiple = false;
      delete c['transfer']!.fields[7]!.requires;
      c['source']!.fields[1]!.default = 'configuration';
    });
    expect(compareTable('composite', t, xmlComposites).map((p) => p.split(':')[0])).toEqual([
      'composite open.fields[5]',
      'composite attach.fields[2]',
      'composite transfer.fields[7]',
      'composite source.fields[1]',
    ]);
  });

  it('a wrong code, descriptor name or provides', () => {
    const t = mutated(specCompositeTable, (c) => {
      c['end']!.code = 0x18n;
      c['close']!.descriptorName = 'amqp:end:list';
      c['declared']!.provides = ['delivery-state'];
    });
    expect(compareTable('composite', t, xmlComposites)).toEqual([
      expect.stringMatching(/^composite end\.code/),
      expect.stringMatching(/^composite close\.descriptorName/),
      expect.stringMatching(/^composite declared\.provides/),
    ]);
  });

  it('a missing, extra or misnamed entry', () => {
    const t = mutated(specCompositeTable, (c) => {
      delete c['accepted'];
      c['bogus'] = { ...c['released']!, name: 'bogus' };
      c['released']!.name = 'release';
    });
    expect(compareTable('composite', t, xmlComposites)).toEqual([
      'composite accepted: missing from the table',
      expect.stringMatching(/^composite released\.name/),
      'composite released: keyed under released but named release',
      'composite bogus: in the table but not in the spec',
    ]);
  });

  it('a wrong restricted source, choice or descriptor', () => {
    const t = mutated(specRestrictedTable, (r) => {
      r['delivery-number']!.source = 'uint';
      r['sasl-code']!.choices!.pop();
      delete r['footer']!.code;
      r['handle']!.provides = ['frame'];
    });
    expect(compareTable('restricted', t, xmlRestricted).map((p) => p.split(':')[0])).toEqual([
      'restricted handle.provides',
      'restricted delivery-number.source',
      'restricted footer.code',
      'restricted sasl-code.choices',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// records.ts: one interface per composite, fields in spec order, typed by the rules in its header.

const recordsSource = readFileSync(new URL('../../src/codec/spec/records.ts', import.meta.url), 'utf8');

interface TsProp {
  key: string;
  optional: boolean;
  type: string;
}

const tsInterfaces = new Map<string, TsProp[]>();
for (const m of recordsSource.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
  const props = m[2]!
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const p = /^ {2}(\w+)(\?)?: (.+);$/.exec(line);
      if (!p) throw new Error(`records.ts ${m[1]}: cannot read ${JSON.stringify(line)}`);
      return { key: p[1]!, optional: p[2] === '?', type: p[3]! };
    });
  tsInterfaces.set(m[1]!, props);
}

const tsUnions = new Map<string, string[]>();
for (const m of recordsSource.matchAll(/^export type (\w+) =([^;]*);/gm)) {
  tsUnions.set(
    m[1]!,
    m[2]!
      .split('|')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

function interfaceName(composite: string): string {
  if (composite === 'error') return 'AmqpErrorRecord';
  return composite
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

const FIELDS_LIKE = new Set(['fields', 'node-properties', 'annotations', 'filter-set']);
const PRIMITIVE_TS: Record<string, string> = {
  boolean: 'boolean',
  ubyte: 'number',
  ushort: 'number',
  uint: 'number',
  ulong: 'number | bigint',
  symbol: 'string',
  string: 'string',
  binary: 'Buffer',
  timestamp: 'Date',
  map: 'AmqpMap',
};
const REQUIRES_TS: Record<string, string> = {
  'delivery-state': 'DeliveryState',
  outcome: 'Outcome',
  source: 'Source',
  target: 'Target | Coordinator',
  'txn-id': 'Buffer',
};

function tsTypeOf(type: string): string {
  if (FIELDS_LIKE.has(type)) return 'Fields';
  if (xmlCompositeByName.has(type)) return interfaceName(type);
  const r = xmlRestrictedByName.get(type);
  if (r) return tsTypeOf(r.source);
  const ts = PRIMITIVE_TS[type];
  if (!ts) throw new Error(`no JS type rule for ${type}`);
  return ts;
}

function expectedTsType(f: FieldSpec): string {
  const base = f.type === '*' ? (REQUIRES_TS[f.requires ?? ''] ?? 'AmqpValue') : tsTypeOf(f.type);
  if (!f.multiple) return base;
  return base.includes('|') ? `(${base})[]` : `${base}[]`;
}

function providers(archetype: string): string[] {
  return xmlComposites.filter((c) => c.provides.includes(archetype)).map((c) => interfaceName(c.name));
}

describe('records.ts', () => {
  it.each(xmlComposites.map((c) => [c.name, c] as const))(
    '%s has an interface matching the spec',
    (_, spec) => {
      const props = tsInterfaces.get(interfaceName(spec.name));
      expect(props, interfaceName(spec.name)).toBeDefined();
      expect(props!).toEqual([
        { key: 'type', optional: false, type: `'${spec.name}'` },
        ...spec.fields.map((f) => ({ key: f.key, optional: !f.mandatory, type: expectedTsType(f) })),
      ]);
    },
  );

  it('has no record interface for a type the spec does not define', () => {
    const recordNames = [...tsInterfaces].filter(([, p]) => p[0]?.key === 'type').map(([n]) => n);
    expect(recordNames.sort()).toEqual(xmlComposites.map((c) => interfaceName(c.name)).sort());
  });

  it.each([
    ['DeliveryState', 'delivery-state'],
    ['Outcome', 'outcome'],
    ['Performative', 'frame'],
    ['SaslFrameBody', 'sasl-frame'],
    ['LifetimePolicy', 'lifetime-policy'],
  ])('%s is the union of the composites providing %s', (union, archetype) => {
    expect(tsUnions.get(union)?.slice().sort()).toEqual(providers(archetype).sort());
  });

  it('CompositeRecord is the union of every composite', () => {
    expect(tsUnions.get('CompositeRecord')?.slice().sort()).toEqual(
      xmlComposites.map((c) => interfaceName(c.name)).sort(),
    );
  });

  it('type-checks a minimal record', () => {
    // Compile-time: RecordOf picks the interface by spec name, and mandatory fields are required.
    const open: RecordOf<'open'> = { type: 'open', containerId: 'c' } satisfies Open;
    const name: CompositeName = open.type;
    expect(compositeTypes[name]?.fields.filter((f) => f.mandatory).map((f) => f.key)).toEqual([
      'containerId',
    ]);
  });
});
