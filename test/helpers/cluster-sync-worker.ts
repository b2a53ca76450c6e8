/**
 * The worker behind {@link ClusterSyncClient}: runs each request against the real API server on its
 * own event loop and wakes the waiting thread when the answer is posted.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createOrReplace, ResourcePaths } from '../cluster/resources.ts';
import { rest, type Credentials } from '../cluster/rest.ts';
import type { SyncCall, SyncAnswer } from './cluster-sync.ts';

const { credentials, port } = workerData as { credentials: Credentials; port: MessagePort };
const paths = new ResourcePaths(credentials);
/** Namespaces known to exist, so that a put into a new one creates it once. */
const namespaces = new Set<string>();

/** Group version of each plural the tests name. */
const GROUP_VERSIONS: Record<string, string> = {
  virtualservices: 'networking.istio.io/v1',
  destinationrules: 'networking.istio.io/v1',
  gateways: 'networking.istio.io/v1',
  serviceentries: 'networking.istio.io/v1',
  deployments: 'apps/v1',
  services: 'v1',
  pods: 'v1',
  endpoints: 'v1',
  serviceaccounts: 'v1',
  endpointslices: 'discovery.k8s.io/v1',
};

function collectionPath(resource: string, namespace: string | undefined): string {
  const groupVersion = GROUP_VERSIONS[resource];
  if (!groupVersion) throw new Error(`no group version known for ${resource}`);
  const prefix = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
  return namespace === undefined
    ? `${prefix}/${resource}`
    : `${prefix}/namespaces/${namespace}/${resource}`;
}

/**
 * A Deployment's readiness, as the deployment controller and kubelets would report it for pods
 * that all came up: written through the status subresource, since there is no kubelet.
 */
async function writeDeploymentStatus(
  stored: Record<string, unknown>,
  wanted: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const metadata = stored.metadata as { name: string; namespace: string; generation?: number };
  const replicas = (stored.spec as { replicas?: number }).replicas ?? 1;
  const status = (wanted.status as Record<string, unknown> | undefined) ?? {
    observedGeneration: metadata.generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
  };
  const path = `${collectionPath('deployments', metadata.namespace)}/${metadata.name}/status`;
  const res = await rest(credentials, 'PATCH', path, {
    body: { status },
    contentType: 'application/merge-patch+json',
  });
  if (res.status !== 200) throw new Error(`status of deployment ${metadata.name}: ${res.text}`);
  return res.body as Record<string, unknown>;
}

async function answer(call: SyncCall): Promise<unknown> {
  switch (call.op) {
    case 'put': {
      const object = call.object;
      // The double takes objects in any namespace; a real server needs the namespace first.
      const namespace = (object.metadata as { namespace?: string } | undefined)?.namespace;
      if (namespace !== undefined && !namespaces.has(namespace)) {
        await createOrReplace(credentials, paths, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
        });
        namespaces.add(namespace);
      }
      const stored = await createOrReplace(credentials, paths, object);
      return object.kind === 'Deployment' ? writeDeploymentStatus(stored, object) : stored;
    }
    case 'get': {
      const res = await rest(
        credentials,
        'GET',
        `${collectionPath(call.resource, call.namespace)}/${call.name}`,
      );
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new Error(`get ${call.resource} ${call.name}: ${res.text}`);
      return res.body;
    }
    case 'delete': {
      const res = await rest(
        credentials,
        'DELETE',
        `${collectionPath(call.resource, call.namespace)}/${call.name}`,
      );
      if (res.status === 404) return false;
      if (res.status !== 200 && res.status !== 202)
        throw new Error(`delete ${call.resource} ${call.name}: ${res.text}`);
      return true;
    }
    case 'list': {
      const res = await rest(credentials, 'GET', collectionPath(call.resource, call.namespace));
      if (res.status !== 200) throw new Error(`list ${call.resource}: ${res.text}`);
      return (res.body as { items: unknown[] }).items;
    }
  }
}

port.on('message', (message: { call: SyncCall; done: Int32Array }) => {
  const settle = (result: SyncAnswer) => {
    port.postMessage(result);
    Atomics.store(message.done, 0, 1);
    Atomics.notify(message.done, 0);
  };
  answer(message.call).then(
    (value) => settle({ ok: true, value }),
    (error: unknown) =>
      settle({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
parentPort?.postMessage('ready');
