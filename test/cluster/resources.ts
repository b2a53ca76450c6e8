/**
 * From an object's apiVersion and kind to its REST path, through the server's own discovery (so a
 * CRD's plural is the one its definition gives), and create-or-replace on top of that.
 */
import { rest, type Credentials, type RestResponse } from './rest.ts';

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Paths of one server's resources, from discovery, cached per group version. */
export class ResourcePaths {
  readonly #credentials: Credentials;
  readonly #cache = new Map<string, ApiResource[]>();

  constructor(credentials: Credentials) {
    this.#credentials = credentials;
  }

  async #resources(apiVersion: string): Promise<ApiResource[]> {
    const cached = this.#cache.get(apiVersion);
    if (cached) return cached;
    const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await rest(this.#credentials, 'GET', prefix);
    if (res.status !== 200)
      throw new Error(`discovery of ${apiVersion}: ${res.status} ${res.text}`);
    const list = (res.body as { resources: ApiResource[] }).resources.filter(
      (r) => !r.name.includes('/'),
    );
    this.#cache.set(apiVersion, list);
    return list;
  }

  /** Forgets what discovery said (after CRDs were added). */
  reset(): void {
    this.#cache.clear();
  }

  /** The collection path of `kind` (in `namespace` when namespaced), and the plural. */
  async collection(
    apiVersion: string,
    kind: string,
    namespace?: string,
  ): Promise<{ path: string; plural: string; namespaced: boolean }> {
    const resource = (await this.#resources(apiVersion)).find((r) => r.kind === kind);
    if (!resource) throw new Error(`the server does not serve ${apiVersion} ${kind}`);
    const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = resource.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
    return {
      path: `${prefix}${ns}/${resource.name}`,
      plural: resource.name,
      namespaced: resource.namespaced,
    };
  }

  /** The path of one object. */
  async object(object: Record<string, unknown>): Promise<string> {
    const metadata = object.metadata as { name: string; namespace?: string };
    const { path } = await this.collection(
      String(object.apiVersion),
      String(object.kind),
      metadata.namespace,
    );
    return `${path}/${encodeURIComponent(metadata.name)}`;
  }
}

/** Fails with the server's answer unless its status is one of `ok`. */
export function expectStatus(res: RestResponse, ok: number[], what: string): RestResponse {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.text}`);
  return res;
}

/**
 * Creates the object, or replaces it when it exists (with the current resourceVersion, retried
 * on a conflict), as `kubectl apply` of a whole object would end. Returns the stored object.
 */
export async function createOrReplace(
  credentials: Credentials,
  paths: ResourcePaths,
  object: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const metadata = object.metadata as { name: string; namespace?: string };
  const { path } = await paths.collection(
    String(object.apiVersion),
    String(object.kind),
    metadata.namespace,
  );
  const objectPath = `${path}/${encodeURIComponent(metadata.name)}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await rest(credentials, 'GET', objectPath);
    if (current.status === 404) {
      const created = await rest(credentials, 'POST', path, { body: object });
      if (created.status === 409) continue;
      return expectStatus(created, [201], `create ${objectPath}`).body as Record<string, unknown>;
    }
    expectStatus(current, [200], `read ${objectPath}`);
    const resourceVersion = (current.body as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    const replacement = structuredClone(object);
    (replacement.metadata as Record<string, unknown>).resourceVersion = resourceVersion;
    const replaced = await rest(credentials, 'PUT', objectPath, { body: replacement });
    if (replaced.status === 409) continue;
    return expectStatus(replaced, [200], `replace ${objectPath}`).body as Record<string, unknown>;
  }
  throw new Error(`${objectPath} kept conflicting`);
}
