import type { CompositeType, FieldSpec, RestrictedType } from '../../src/codec/spec/types.js';
import type { XmlElement } from './xml.mjs';

/** Where a type is defined: its file, its section and its XML text. */
export interface Origin {
  file: string;
  section: string;
  xml: string;
}

export interface SpecFile {
  file: string;
  raw: string;
  types: { file: string; section: string; el: XmlElement }[];
}

export interface Spec {
  files: SpecFile[];
  composites: (CompositeType & { origin: Origin })[];
  restricted: (RestrictedType & { origin: Origin })[];
  primitives: Map<string, XmlElement>;
  typesFile: Omit<SpecFile, 'file'>;
}

export const TABLE_FILES: string[];
export function readSpecFile(dir: string, file: string): Omit<SpecFile, 'file'>;
export function readSpec(dir: string): Spec;
export function attr(el: XmlElement, name: string): string;
export function camel(name: string): string;
export function childrenOf(el: XmlElement, tag: string): XmlElement[];
export function compositeFromXml(el: XmlElement): CompositeType;
export function restrictedFromXml(el: XmlElement): RestrictedType;
export function resolveToPrimitive(spec: Spec, type: string): string;
export function kindOf(spec: Spec, f: FieldSpec): string;
