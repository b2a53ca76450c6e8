/**
 * The ground the end-to-end tests stand on, chosen by ISTIO_CANARY_GROUND: `double` (default) is
 * the in-process API server; `cluster` is a real kube-apiserver, reached through the kubeconfig in
 * ISTIO_CANARY_CLUSTER_KUBECONFIG (which `npm run test:cluster` starts and sets). The same test
 * files run on either: both give the tests a {@link Sandbox} with the same `api` methods.
 */
import type { ApiServer } from '../../src/sandbox/apiserver.ts';
import { startSandbox as startDouble, type SandboxOptions } from '../../src/sandbox/sandbox.ts';
import type { Sandbox as DoubleSandbox } from '../../src/sandbox/sandbox.ts';

/** What the tests use of the API server, on either ground. */
export type GroundApi = Pick<
  ApiServer,
  | 'requests'
  | 'readOnlyToken'
  | 'kubeconfig'
  | 'identityKubeconfig'
  | 'injectFault'
  | 'onBeforeWrite'
  | 'put'
  | 'get'
  | 'delete'
>;

/** A running ground: as the sandbox, with `api` narrowed to what both grounds offer. */
export interface Sandbox extends Omit<DoubleSandbox, 'api'> {
  api: GroundApi;
  /** Which ground this is. */
  ground: 'double' | 'cluster';
}

/**
 * `manifest` (examples/rbac.yaml, or part of it) granted to the ServiceAccount `account` instead of
 * the one it names: every ServiceAccount, Role, ClusterRole and binding takes the name `account`
 * and the bindings' subjects and roles follow, so that applying it next to the original clobbers
 * nothing on a real server.
 */
export function asAccount(manifest: readonly unknown[], account: string): unknown[] {
  return manifest.map((doc) => {
    const object = structuredClone(doc) as Record<string, unknown> & {
      metadata: { name: string };
      subjects?: { kind: string; name: string }[];
      roleRef?: { name: string };
    };
    object.metadata.name = account;
    for (const subject of object.subjects ?? [])
      if (subject.kind === 'ServiceAccount') subject.name = account;
    if (object.roleRef) object.roleRef.name = account;
    return object;
  });
}

/** The ground ISTIO_CANARY_GROUND asks for. */
export function groundName(env: NodeJS.ProcessEnv = process.env): 'double' | 'cluster' {
  const value = env.ISTIO_CANARY_GROUND ?? 'double';
  if (value !== 'double' && value !== 'cluster')
    throw new Error(`ISTIO_CANARY_GROUND must be double or cluster, got ${value}`);
  return value;
}

/** Sorts object keys at every depth, as kube-apiserver serializes a custom resource. */
export function sortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortedKeys) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  ) as T;
}

/**
 * A custom resource's content as the chosen ground stores it, for byte-for-byte comparisons: the
 * double keeps the key order it was given; kube-apiserver keeps custom resources as JSON objects
 * and writes their keys sorted. So on the real ground "byte for byte" means the bytes the real
 * server returns for what the user wrote.
 */
export function asStored<T>(value: T): T {
  return groundName() === 'cluster' ? sortedKeys(value) : value;
}

/**
 * Starts the chosen ground. `servedIstioVersions` is a property of the double only (a real server
 * serves what its CRDs say), so a test asking for it gets the double on either ground.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  if (groundName() === 'cluster' && options.servedIstioVersions === undefined) {
    const { startClusterSandbox } = await import('./cluster-ground.ts');
    return startClusterSandbox(options);
  }
  const sandbox = await startDouble(options);
  return { ...sandbox, ground: 'double' };
}
