/**
 * The simulator's view of a real API server: the objects routing reads (VirtualServices,
 * DestinationRules, Deployments, Services), listed once and then kept current by watches, as a
 * sidecar's control plane keeps its own. `list` answers from that copy at once, so the simulator's
 * tick stays synchronous whether the objects come from the in-process double or a real server.
 */
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { SandboxObjects } from './types.ts';

/** How to reach the API server: base URL, CA, and a bearer token or a client certificate. */
export interface ClusterEndpoint {
  server: string;
  ca: string;
  token?: string;
  cert?: string;
  key?: string;
}

/** Collection paths across all namespaces, by the plural names the simulator lists. */
const COLLECTIONS: Record<string, string> = {
  virtualservices: '/apis/networking.istio.io/v1/virtualservices',
  destinationrules: '/apis/networking.istio.io/v1/destinationrules',
  deployments: '/apis/apps/v1/deployments',
  services: '/api/v1/services',
};

/** A watch that ended without an error is resumed after this pause; a failed one relisted. */
const RETRY_MS = 200;

type KubeObject = Record<string, unknown> & {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
};

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** One resource's copy and the watch that keeps it. */
class Reflector {
  readonly objects = new Map<string, KubeObject>();
  #resourceVersion = '';
  #response: IncomingMessage | undefined;
  #closed = false;
  readonly #endpoint: ClusterEndpoint;
  readonly #path: string;

  constructor(endpoint: ClusterEndpoint, path: string) {
    this.#endpoint = endpoint;
    this.#path = path;
  }

  #options(): RequestOptions {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#endpoint.token) headers.authorization = `Bearer ${this.#endpoint.token}`;
    return { ca: this.#endpoint.ca, cert: this.#endpoint.cert, key: this.#endpoint.key, headers };
  }

  /** Lists the collection, replacing the copy. */
  async relist(): Promise<void> {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(new URL(this.#path, this.#endpoint.server), this.#options(), (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new Error(`list ${this.#path}: HTTP ${res.statusCode} ${text}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
    const list = JSON.parse(body) as { metadata: { resourceVersion: string }; items: KubeObject[] };
    this.objects.clear();
    for (const item of list.items) this.objects.set(keyOf(item), item);
    this.#resourceVersion = list.metadata.resourceVersion;
  }

  /** Watches from the last resourceVersion until closed, relisting when the watch fails. */
  watch(): void {
    if (this.#closed) return;
    const query = `?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.#resourceVersion)}`;
    const req = request(
      new URL(this.#path + query, this.#endpoint.server),
      this.#options(),
      (res) => {
        this.#response = res;
        if (res.statusCode !== 200) {
          res.resume();
          this.#again(true);
          return;
        }
        let buffered = '';
        let failed = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line !== '' && !this.#apply(JSON.parse(line) as WatchEvent)) failed = true;
          }
        });
        res.on('end', () => this.#again(failed));
        res.on('error', () => this.#again(true));
      },
    );
    req.on('error', () => this.#again(true));
    req.end();
  }

  /** Applies one event; false for an ERROR event (the resourceVersion is too old: relist). */
  #apply(event: WatchEvent): boolean {
    if (event.type === 'ERROR') return false;
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (event.type === 'ADDED' || event.type === 'MODIFIED')
      this.objects.set(keyOf(event.object), event.object);
    if (event.type === 'DELETED') this.objects.delete(keyOf(event.object));
    return true;
  }

  #again(relist: boolean): void {
    this.#response = undefined;
    if (this.#closed) return;
    setTimeout(() => {
      if (this.#closed) return;
      (relist ? this.relist() : Promise.resolve()).then(
        () => this.watch(),
        () => this.#again(true),
      );
    }, RETRY_MS).unref();
  }

  close(): void {
    this.#closed = true;
    this.#response?.destroy();
  }
}

/** {@link SandboxObjects} over a real API server. */
export class WatchedObjects implements SandboxObjects {
  readonly #reflectors: Map<string, Reflector>;

  private constructor(reflectors: Map<string, Reflector>) {
    this.#reflectors = reflectors;
  }

  /** Lists every collection the simulator reads and starts watching them. */
  static async start(endpoint: ClusterEndpoint): Promise<WatchedObjects> {
    const reflectors = new Map(
      Object.entries(COLLECTIONS).map(([resource, path]) => [
        resource,
        new Reflector(endpoint, path),
      ]),
    );
    await Promise.all([...reflectors.values()].map((r) => r.relist()));
    for (const reflector of reflectors.values()) reflector.watch();
    return new WatchedObjects(reflectors);
  }

  list(resource: string, namespace?: string): Record<string, unknown>[] {
    const reflector = this.#reflectors.get(resource);
    if (!reflector) throw new Error(`the simulator does not watch ${resource}`);
    return [...reflector.objects.values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)))
      .map((o) => structuredClone(o));
  }

  /** Stops every watch. */
  close(): void {
    for (const reflector of this.#reflectors.values()) reflector.close();
  }
}
