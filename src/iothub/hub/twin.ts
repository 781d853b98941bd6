/**
 * Device and module twins (contract section 12) as pure logic: tags, desired and reported
 * properties, each of desired and reported with its own `$version`, the twin's version and etag,
 * JSON merge patches (null removes a key), and the desired-property subscribers that each change
 * is pushed to. Identities are keyed as in methods.ts (`deviceId` or `deviceId/moduleId`); whether
 * the identity exists is the caller's check (HubState).
 *
 * With a state directory every twin is kept in `twins.json`, rewritten atomically (0600, like the
 * registry: a twin may hold a device's configuration secrets) after each change, the writes of
 * changes made meanwhile coalesced into one; `saved()` resolves once everything changed so far is
 * on disk, and the emulator answers a PATCH only then.
 *
 * Each of desired and reported carries IoT Hub's `$metadata` when read: a tree shaped as the
 * properties, each node with `$lastUpdated` (ISO 8601 UTC) and, in desired, `$lastUpdatedVersion`
 * (the desired `$version` of the change that last wrote it), as the service shows them. A patch
 * stamps the root, every object on its path and each key it sets; a replace stamps everything.
 *
 * Bounds, IoT Hub's: desired and reported at most 32 KiB of JSON each, tags 16 KiB, objects nested
 * at most 10 deep, keys at most 1 KiB without `.`, `$`, space or control characters. The metadata is
 * not counted, as the service does not count it; it has one node per key (about 70 bytes), so a
 * GET of desired and reported both full, in the shortest keys, stays under 600 KiB.
 */
import * as path from 'node:path';
import { HubError } from './errors.js';
import { PRIVATE_FILE_MODE, tightenFile } from './private-files.js';
import { readJsonFile, writeFileAtomic } from './store.js';
import { KeyedListeners } from '../../util/keyed-listeners.js';

/** A JSON object, as twins hold them. */
export type TwinObject = { [key: string]: unknown };

/** The whole twin as the service sees it (REST `GET /twins/{id}`). */
export interface TwinDocument {
  etag: string;
  version: number;
  tags: TwinObject;
  properties: { desired: TwinObject; reported: TwinObject };
}

/** A desired-property change pushed to subscribers: the delta with `$version`. */
export type DesiredListener = (delta: TwinObject, version: number) => void;

export const MAX_PROPERTIES_BYTES = 32 * 1024;
export const MAX_TAGS_BYTES = 16 * 1024;
export const MAX_TWIN_DEPTH = 10;
export const MAX_TWIN_KEY_LENGTH = 1024;

/**
 * A `$metadata` node: its stamp, and its children under the keys of the object it describes
 * (property keys never start with `$`, so the two cannot collide).
 */
type MetadataNode = { $lastUpdated: string; $lastUpdatedVersion?: number; [key: string]: unknown };

interface Twin {
  version: number;
  tags: TwinObject;
  desired: TwinObject;
  desiredVersion: number;
  reported: TwinObject;
  reportedVersion: number;
  // Absent in a twins.json written before metadata was kept: made on first read.
  desiredMetadata?: MetadataNode;
  reportedMetadata?: MetadataNode;
}

interface TwinsFile {
  version: 1;
  twins: ({ key: string } & Twin)[];
}

export interface TwinStoreOptions {
  stateDir?: string;
  /** Epoch ms, for `$lastUpdated` (default Date.now). */
  now?: () => number;
}

export class TwinStore {
  private readonly twins = new Map<string, Twin>();
  private readonly listeners = new KeyedListeners<Parameters<DesiredListener>>();
  private save: Promise<void> = Promise.resolve();
  private dirty = false;
  private error: HubError | undefined;
  private closed = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly now: () => number,
  ) {}

  static async open(o: TwinStoreOptions = {}): Promise<TwinStore> {
    const file = o.stateDir === undefined ? undefined : path.join(o.stateDir, 'twins.json');
    const store = new TwinStore(file, o.now ?? Date.now);
    if (file !== undefined) {
      await tightenFile(file);
      const stored = (await readJsonFile(file)) as TwinsFile | undefined;
      for (const t of stored?.twins ?? []) {
        const { key, ...twin } = t;
        store.twins.set(key, twin);
      }
    }
    return store;
  }

  /** The twin as the device's GET reads it: `{ desired, reported }`, each with `$metadata` and `$version`. */
  deviceView(key: string): { desired: TwinObject; reported: TwinObject } {
    const t = this.twin(key);
    t.desiredMetadata ??= stampAll(t.desired, this.stamp(t.desiredVersion));
    t.reportedMetadata ??= stampAll(t.reported, this.stamp());
    return {
      desired: withVersion(t.desired, t.desiredVersion, t.desiredMetadata),
      reported: withVersion(t.reported, t.reportedVersion, t.reportedMetadata),
    };
  }

  /** The whole twin, with etag and version. */
  document(key: string): TwinDocument {
    const t = this.twin(key);
    const v = this.deviceView(key);
    return { etag: etagOf(t.version), version: t.version, tags: clone(t.tags), properties: v };
  }

  /** A device's PATCH of its reported properties; returns the new reported `$version`. */
  patchReported(key: string, patch: unknown): number {
    const t = this.twin(key);
    const p = checkPatch(patch, 'reported');
    const next = mergePatch(t.reported, p);
    checkSize(next, MAX_PROPERTIES_BYTES, 'reported properties');
    t.reported = next;
    t.reportedVersion++;
    t.reportedMetadata = stampPatch(
      t.reportedMetadata ?? stampAll(t.reported, this.stamp()),
      p,
      this.stamp(),
    );
    t.version++;
    this.changed();
    return t.reportedVersion;
  }

  /**
   * The service's update of desired properties (and tags): a merge patch, or with `replace` the
   * new contents. With `etag`, the twin must still have it (HUB_PRECONDITION_FAILED otherwise;
   * `*` matches any). Desired changes are pushed to subscribers with the new `$version`.
   */
  update(
    key: string,
    change: { tags?: unknown; desired?: unknown },
    o: { etag?: string; replace?: boolean } = {},
  ): TwinDocument {
    const t = this.twin(key);
    if (o.etag !== undefined && o.etag !== '*' && o.etag !== etagOf(t.version))
      throw new HubError(
        'HUB_PRECONDITION_FAILED',
        `the twin of ${key} has changed: its etag is not ${o.etag}`,
      );
    const tags = change.tags === undefined ? undefined : checkPatch(change.tags, 'tags');
    const desired = change.desired === undefined ? undefined : checkPatch(change.desired, 'desired');
    const nextTags = tags && (o.replace ? withoutNulls(tags) : mergePatch(t.tags, tags));
    const nextDesired = desired && (o.replace ? withoutNulls(desired) : mergePatch(t.desired, desired));
    if (nextTags) checkSize(nextTags, MAX_TAGS_BYTES, 'tags');
    if (nextDesired) checkSize(nextDesired, MAX_PROPERTIES_BYTES, 'desired properties');
    if (nextTags) t.tags = nextTags;
    if (nextDesired) {
      t.desired = nextDesired;
      t.desiredVersion++;
      const stamp = this.stamp(t.desiredVersion);
      t.desiredMetadata =
        o.replace || !t.desiredMetadata
          ? stampAll(nextDesired, stamp)
          : stampPatch(t.desiredMetadata, desired!, stamp);
    }
    if (nextTags || nextDesired) {
      t.version++;
      this.changed();
    }
    if (nextDesired) {
      // A replace pushes the whole new document, a patch the delta as applied (nulls included).
      const delta = o.replace ? nextDesired : desired!;
      this.listeners.emit(key, withVersion(delta, t.desiredVersion), t.desiredVersion);
    }
    return this.document(key);
  }

  /** Pushes each desired change of the identity to `cb` until the returned function is called. */
  subscribeDesired(key: string, cb: DesiredListener): () => void {
    return this.listeners.add(key, cb);
  }

  /** Desired subscribers of the identity. */
  subscriberCount(key: string): number {
    return this.listeners.count(key);
  }

  /** Forgets the twins of a device and of its modules (the identity was deleted). */
  removeDevice(deviceId: string): void {
    let any = false;
    for (const key of [...this.twins.keys()])
      if (key === deviceId || key.startsWith(`${deviceId}/`)) any = this.twins.delete(key) || any;
    if (any) this.changed();
  }

  /** Forgets one twin (a module was deleted). */
  remove(key: string): void {
    if (this.twins.delete(key)) this.changed();
  }

  /** The first write failure, if one happened. */
  get storeError(): HubError | undefined {
    return this.error;
  }

  /** Resolves once every change made so far is on disk (at once without a state directory). */
  saved(): Promise<void> {
    return this.save;
  }

  async close(): Promise<void> {
    await this.save;
    this.closed = true;
  }

  private twin(key: string): Twin {
    let t = this.twins.get(key);
    if (!t) {
      t = {
        version: 1,
        tags: {},
        desired: {},
        desiredVersion: 1,
        reported: {},
        reportedVersion: 1,
        desiredMetadata: this.stamp(1),
        reportedMetadata: this.stamp(),
      };
      this.twins.set(key, t);
    }
    return t;
  }

  /** A metadata node stamped now; with the desired `$version` of the change for desired ones. */
  private stamp(version?: number): MetadataNode {
    const $lastUpdated = new Date(this.now()).toISOString();
    return version === undefined ? { $lastUpdated } : { $lastUpdated, $lastUpdatedVersion: version };
  }

  private changed(): void {
    const file = this.file;
    if (file === undefined || this.closed || this.dirty) return;
    this.dirty = true;
    this.save = this.save.then(async () => {
      this.dirty = false;
      const doc: TwinsFile = { version: 1, twins: [...this.twins].map(([key, t]) => ({ key, ...t })) };
      try {
        await writeFileAtomic(file, JSON.stringify(doc) + '\n', { mode: PRIVATE_FILE_MODE });
      } catch (e) {
        this.error ??= new HubError('HUB_STORE_FAILED', `cannot write ${file}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    });
  }
}

/** The etag of a twin version: base64 of its 8 bytes, as IoT Hub's etags look. */
export function etagOf(version: number): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(version));
  return b.toString('base64');
}

function isObject(v: unknown): v is TwinObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Checks a patch's shape and keys; drops the metadata keys (`$version`, `$metadata`) at its top. */
function checkPatch(patch: unknown, what: string): TwinObject {
  if (!isObject(patch)) throw new HubError('HUB_BAD_ARGUMENT', `a ${what} patch is a JSON object`);
  const out: TwinObject = {};
  for (const [k, v] of Object.entries(patch)) if (k !== '$version' && k !== '$metadata') put(out, k, v);
  checkKeys(out, what, 1);
  return out;
}

function checkKeys(o: TwinObject, what: string, depth: number): void {
  if (depth > MAX_TWIN_DEPTH)
    throw new HubError('HUB_BAD_ARGUMENT', `${what} nest deeper than ${MAX_TWIN_DEPTH} levels`);
  for (const [k, v] of Object.entries(o)) {
    // eslint-disable-next-line no-control-regex
    if (k.length === 0 || k.length > MAX_TWIN_KEY_LENGTH || /[.$ \u0000-\u001f\u007f-\u009f]/.test(k))
      throw new HubError('HUB_BAD_ARGUMENT', `${what}: ${JSON.stringify(k.slice(0, 64))} is not a valid key`);
    if (isObject(v)) checkKeys(v, what, depth + 1);
    else if (Array.isArray(v)) checkArray(v, what, depth + 1);
  }
}

function checkArray(a: unknown[], what: string, depth: number): void {
  if (depth > MAX_TWIN_DEPTH)
    throw new HubError('HUB_BAD_ARGUMENT', `${what} nest deeper than ${MAX_TWIN_DEPTH} levels`);
  for (const v of a)
    if (isObject(v)) checkKeys(v, what, depth + 1);
    else if (Array.isArray(v)) checkArray(v, what, depth + 1);
}

function checkSize(o: TwinObject, max: number, what: string): void {
  const n = Buffer.byteLength(JSON.stringify(o));
  if (n > max)
    throw new HubError('HUB_BAD_ARGUMENT', `${what} would be ${n} bytes, over the ${max}-byte limit`);
}

/** Sets an own property, even `__proto__` (JSON.parse makes it one): never the prototype. */
function put(o: TwinObject, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** RFC 7396 merge patch into a copy of `target`. */
function mergePatch(target: TwinObject, patch: TwinObject): TwinObject {
  const out: TwinObject = {};
  for (const [k, v] of Object.entries(target)) put(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    const old = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    if (v === null) delete out[k];
    else if (isObject(v)) put(out, k, mergePatch(isObject(old) ? old : {}, v));
    else put(out, k, clone(v));
  }
  return out;
}

function withVersion(o: TwinObject, version: number, metadata?: MetadataNode): TwinObject {
  const out = clone(o);
  if (metadata !== undefined) put(out, '$metadata', clone(metadata));
  put(out, '$version', version);
  return out;
}

/** Metadata for a whole document: every object and every key stamped alike. */
function stampAll(o: TwinObject, stamp: MetadataNode): MetadataNode {
  const node: MetadataNode = { ...stamp };
  for (const [k, v] of Object.entries(o)) put(node, k, isObject(v) ? stampAll(v, stamp) : { ...stamp });
  return node;
}

/**
 * `meta` after a merge patch: the node and each object on the patch's paths restamped, keys the
 * patch sets stamped (an object value all through), keys it removes (null) gone with their nodes.
 */
function stampPatch(meta: MetadataNode, patch: TwinObject, stamp: MetadataNode): MetadataNode {
  const node: MetadataNode = { ...stamp };
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith('$')) put(node, k, v);
  for (const [k, v] of Object.entries(patch)) {
    const old = Object.prototype.hasOwnProperty.call(node, k) ? node[k] : undefined;
    if (v === null) delete node[k];
    else if (isObject(v))
      put(node, k, stampPatch(isObject(old) ? (old as MetadataNode) : { ...stamp }, v, stamp));
    else put(node, k, { ...stamp });
  }
  return node;
}

function withoutNulls(o: TwinObject): TwinObject {
  return mergePatch({}, o);
}
