/**
 * The object store behind the sandbox API server: one storage per resource type, a global
 * resourceVersion counter, and the metadata bookkeeping the real registry does on every write
 * (uid, creationTimestamp, generation, dropping empty label/annotation maps).
 */
import { randomUUID } from 'node:crypto';
import { omit } from './apiserver-json.ts';
import { jsonEqual } from './apiserver-patch.ts';
import { apiVersionOf, type ResourceType } from './apiserver-resources.ts';

/** A stored object: plain JSON with a metadata record. */
export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };

function keyOf(plural: string, namespace: string, name: string): string {
  return `${plural}/${namespace}/${name}`;
}

/** Reads an object's metadata, creating it when absent. */
export function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const meta = object.metadata;
  if (typeof meta === 'object' && meta !== null && !Array.isArray(meta))
    return meta as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  object.metadata = created;
  return created;
}

/** Labels and annotations with no entries are not stored, as Go's `omitempty` drops them. */
function dropEmptyMaps(meta: Record<string, unknown>): void {
  for (const field of ['labels', 'annotations']) {
    const value = meta[field];
    if (value === null || (typeof value === 'object' && Object.keys(value).length === 0)) {
      delete meta[field];
    }
  }
}

/** Everything but metadata and status: what bumps `metadata.generation` when it changes. */
function specPart(object: Record<string, unknown>): Record<string, unknown> {
  return omit(object, ['metadata', 'status']);
}

/**
 * One storage per type, whatever version a client wrote: the stored apiVersion is the preferred
 * served version, and readers get theirs rewritten in.
 */
function withStorageTypeMeta(type: ResourceType, object: Record<string, unknown>): KubeObject {
  return withTypeMeta(object, apiVersionOf(type.group, type.versions[0] ?? 'v1'), type.kind);
}

/** A copy of the object with apiVersion and kind replaced (and first, as servers write them). */
export function withTypeMeta(
  object: Record<string, unknown>,
  apiVersion: string,
  kind: string,
): KubeObject {
  const result: Record<string, unknown> = {
    apiVersion,
    kind,
    ...omit(object, ['apiVersion', 'kind']),
  };
  metadataOf(result);
  return result as KubeObject;
}

/** A Deployment stored without status is given a ready one, standing in for the controller. */
function defaultDeploymentStatus(type: ResourceType, object: KubeObject): void {
  if (type.kind !== 'Deployment' || object.status !== undefined) return;
  const spec = (object.spec ?? {}) as { replicas?: number };
  const replicas = spec.replicas ?? 1;
  object.status = {
    observedGeneration: object.metadata.generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
  };
}

/** In-memory storage with a global resourceVersion counter shared by all types. */
export class ObjectStore {
  readonly #objects = new Map<string, KubeObject>();
  #revision = 0;

  /** The latest resourceVersion handed out (what a list reports). */
  currentRevision(): string {
    return String(this.#revision);
  }

  /** A deep copy of one object, or undefined. */
  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const found = this.#objects.get(keyOf(type.plural, type.namespaced ? namespace : '', name));
    return found === undefined ? undefined : structuredClone(found);
  }

  /** Deep copies of the objects of a type, in one namespace or all, ordered by namespace and name. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix =
      type.namespaced && namespace !== undefined
        ? `${type.plural}/${namespace}/`
        : `${type.plural}/`;
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => structuredClone(object));
  }

  /** Stores a new object with fresh uid, creationTimestamp, generation 1 and the next resourceVersion. */
  create(type: ResourceType, input: Record<string, unknown>, dryRun = false): KubeObject {
    const object = withStorageTypeMeta(type, structuredClone(input));
    const meta = metadataOf(object);
    dropEmptyMaps(meta);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    meta.generation = 1;
    defaultDeploymentStatus(type, object);
    return this.#commit(type, object, dryRun);
  }

  /**
   * Replaces a stored object. Identity fields come from the old object; generation and
   * resourceVersion move only when something changed, as on a real server (a no-op write is free).
   */
  update(
    type: ResourceType,
    old: KubeObject,
    input: Record<string, unknown>,
    dryRun = false,
  ): KubeObject {
    const object = withStorageTypeMeta(type, structuredClone(input));
    const meta = metadataOf(object);
    dropEmptyMaps(meta);
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    const oldGeneration = typeof old.metadata.generation === 'number' ? old.metadata.generation : 1;
    meta.generation = jsonEqual(specPart(old), specPart(object))
      ? oldGeneration
      : oldGeneration + 1;
    meta.resourceVersion = old.metadata.resourceVersion;
    defaultDeploymentStatus(type, object);
    if (jsonEqual(old, object)) return object;
    return this.#commit(type, object, dryRun);
  }

  /** Removes an object; returns it, or undefined when there was none. */
  remove(
    type: ResourceType,
    namespace: string,
    name: string,
    dryRun = false,
  ): KubeObject | undefined {
    const key = keyOf(type.plural, type.namespaced ? namespace : '', name);
    const found = this.#objects.get(key);
    if (found === undefined) return undefined;
    if (!dryRun) {
      this.#objects.delete(key);
      this.#revision++;
    }
    return structuredClone(found);
  }

  #commit(type: ResourceType, object: KubeObject, dryRun: boolean): KubeObject {
    if (dryRun) return object;
    this.#revision++;
    object.metadata.resourceVersion = String(this.#revision);
    const namespace = type.namespaced ? String(object.metadata.namespace) : '';
    this.#objects.set(
      keyOf(type.plural, namespace, String(object.metadata.name)),
      structuredClone(object),
    );
    return object;
  }
}
