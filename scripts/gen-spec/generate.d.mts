import type { FieldSpec } from '../../src/codec/spec/types.js';
import type { Spec } from './spec.mjs';

export const HEADER: string;
/** The generated files by name (types.ts, records.ts, composites.ts), formatted. */
export function generate(specDir: string): Promise<Record<string, string>>;
export function interfaceName(composite: string): string;
export function fieldTsType(spec: Spec, f: FieldSpec): string;
