/**
 * The real ground: the shop on a real kube-apiserver (the one `npm run test:cluster` starts), the
 * tool writing with the identity examples/rbac.yaml grants, the simulator routing by what it
 * watches on that server, a real Prometheus scraping the simulator, and the default `k8s://`
 * Prometheus URL answered by the server's own services proxy through a test host.
 */
import { stringify } from 'yaml';
import type { KubeconfigOptions } from '../../src/sandbox/apiserver.ts';
import { WatchedObjects } from '../../src/sandbox/cluster-objects.ts';
import { SHOP, shopClients, shopObjects } from '../../src/sandbox/fixtures.ts';
import {
  findPrometheus,
  prometheusUnavailableMessage,
  startPrometheus,
  type RunningPrometheus,
} from '../../src/sandbox/prometheus.ts';
import type { SandboxOptions } from '../../src/sandbox/sandbox.ts';
import { TrafficSimulator } from '../../src/sandbox/simulator.ts';
import { createOrReplace, expectStatus, ResourcePaths } from '../cluster/resources.ts';
import { credentialsFromKubeconfigFile, rest, type Credentials } from '../cluster/rest.ts';
import { startTestHost } from '../cluster/test-host.ts';
import { ClusterSyncClient } from './cluster-sync.ts';
import type { GroundApi, Sandbox } from './ground.ts';
import { RecordingProxy } from './recording-proxy.ts';

/** The ServiceAccount examples/rbac.yaml binds in the shop namespace. */
export const PIPELINE_ACCOUNT = 'istio-canary';
/** A ServiceAccount that may only read the shop's objects. */
export const READ_ONLY_ACCOUNT = 'istio-canary-read-only';

/**
 * The admin credentials of the cluster named by ISTIO_CANARY_CLUSTER_KUBECONFIG: the test control
 * plane's, or a maintainer's kubeconfig (files, tokens and exec plugins, as client-node reads them).
 */
export function clusterAdmin(env: NodeJS.ProcessEnv = process.env): Promise<Credentials> {
  const path = env.ISTIO_CANARY_CLUSTER_KUBECONFIG;
  if (!path)
    throw new Error(
      'ISTIO_CANARY_GROUND=cluster needs ISTIO_CANARY_CLUSTER_KUBECONFIG (npm run test:cluster sets both)',
    );
  return credentialsFromKubeconfigFile(path);
}

/** A token for a ServiceAccount from the TokenRequest API. */
export async function serviceAccountToken(
  admin: Credentials,
  namespace: string,
  name: string,
): Promise<string> {
  const res = expectStatus(
    await rest(admin, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    }),
    [201],
    `a token for ${namespace}/${name} (is examples/rbac.yaml applied?)`,
  );
  return (res.body as { status: { token: string } }).status.token;
}

/** Kinds the tests put in the shop namespace, removed before each suite. */
const SHOP_COLLECTIONS = [
  '/apis/networking.istio.io/v1/namespaces/shop/virtualservices',
  '/apis/networking.istio.io/v1/namespaces/shop/destinationrules',
  '/apis/apps/v1/namespaces/shop/deployments',
];

async function emptyShop(admin: Credentials): Promise<void> {
  for (const path of SHOP_COLLECTIONS)
    expectStatus(await rest(admin, 'DELETE', path), [200], `delete ${path}`);
  // Services have no deletecollection; delete them one by one.
  const services = await rest(admin, 'GET', `/api/v1/namespaces/${SHOP}/services`);
  for (const item of (services.body as { items: { metadata: { name: string } }[] }).items)
    await rest(admin, 'DELETE', `/api/v1/namespaces/${SHOP}/services/${item.metadata.name}`);
}

async function readOnlyIdentity(admin: Credentials, paths: ResourcePaths): Promise<string> {
  const metadata = { name: READ_ONLY_ACCOUNT, namespace: SHOP };
  await createOrReplace(admin, paths, { apiVersion: 'v1', kind: 'ServiceAccount', metadata });
  await createOrReplace(admin, paths, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata,
    rules: [
      {
        apiGroups: ['networking.istio.io'],
        resources: ['virtualservices', 'destinationrules'],
        verbs: ['get', 'list'],
      },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get'] },
    ],
  });
  await createOrReplace(admin, paths, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: READ_ONLY_ACCOUNT },
    subjects: [{ kind: 'ServiceAccount', name: READ_ONLY_ACCOUNT, namespace: SHOP }],
  });
  return serviceAccountToken(admin, SHOP, READ_ONLY_ACCOUNT);
}

/**
 * Points istio-system/prometheus:9090 at `address`: a Service, a Pod with that address and an
 * EndpointSlice naming the Pod. kube-apiserver's services proxy only goes to endpoints whose
 * targetRef is a Pod of the namespace with that IP in its status, so the Pod must exist; with no
 * kubelet it never runs, and its status is written through the status subresource.
 */
async function publishPrometheus(admin: Credentials, paths: ResourcePaths, address: string) {
  const namespace = 'istio-system';
  const port = { name: 'http', port: 9090, protocol: 'TCP' };
  const pod = 'prometheus-0';
  // No controller manager creates the default ServiceAccount a Pod is admitted with.
  await createOrReplace(admin, paths, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default', namespace },
  });
  await createOrReplace(admin, paths, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'prometheus', namespace },
    spec: { ports: [{ ...port, targetPort: 9090 }] },
  });
  // A Pod's spec cannot be replaced; one left by an earlier suite goes first (unscheduled, it
  // is deleted at once).
  await rest(admin, 'DELETE', `/api/v1/namespaces/${namespace}/pods/${pod}`, {
    body: { gracePeriodSeconds: 0 },
  });
  await createOrReplace(admin, paths, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod, namespace, labels: { app: 'prometheus' } },
    spec: { containers: [{ name: 'prometheus', image: 'prom/prometheus' }] },
  });
  expectStatus(
    await rest(admin, 'PATCH', `/api/v1/namespaces/${namespace}/pods/${pod}/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          podIP: address,
          podIPs: [{ ip: address }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      },
    }),
    [200],
    'the status of the Prometheus pod',
  );
  await createOrReplace(admin, paths, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'prometheus',
      namespace,
      labels: { 'kubernetes.io/service-name': 'prometheus' },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: [address],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', namespace, name: pod },
      },
    ],
    ports: [port],
  });
}

/** Starts the shop on the cluster of ISTIO_CANARY_CLUSTER_KUBECONFIG. */
export async function startClusterSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const mode = options.prometheus ?? 'auto';
  const binary = mode === 'off' ? undefined : findPrometheus();
  if (mode === 'required' && !binary) throw new Error(prometheusUnavailableMessage);
  const admin = await clusterAdmin();
  const paths = new ResourcePaths(admin);
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    await emptyShop(admin);
    const sync = await ClusterSyncClient.start(admin);
    cleanups.push(() => sync.close());
    for (const object of shopObjects()) sync.call({ op: 'put', object });
    const pipelineToken = await serviceAccountToken(admin, SHOP, PIPELINE_ACCOUNT);
    const readOnlyToken = await readOnlyIdentity(admin, paths);
    const proxy = await RecordingProxy.start({ server: admin.server, ca: admin.ca });
    cleanups.push(() => proxy.stop());

    const objects = await WatchedObjects.start(admin);
    cleanups.push(() => objects.close());
    const simulator = new TrafficSimulator({
      objects,
      seed: options.seed ?? 1,
      clients: shopClients(options.rps ?? 40),
      behaviours: options.behaviours ?? {},
    });
    const simulatorUrl = await simulator.serve();
    cleanups.push(() => simulator.close());
    simulator.start();
    let prometheus: RunningPrometheus | undefined;
    if (binary) {
      prometheus = await startPrometheus({ targets: [new URL(simulatorUrl).host], binary });
      cleanups.push(() => prometheus!.stop());
    }
    const prometheusUrl = prometheus?.url ?? simulatorUrl;
    const host = await startTestHost(Number(new URL(prometheusUrl).port));
    cleanups.push(() => host.remove());
    await publishPrometheus(admin, paths, host.address);

    const kubeconfig = (o: KubeconfigOptions = {}) =>
      proxyKubeconfig(proxy, o.token ?? pipelineToken, o.namespace ?? 'default', o.context);
    const api: GroundApi = {
      requests: proxy.requests,
      readOnlyToken,
      kubeconfig,
      async identityKubeconfig(manifest, subject) {
        for (const object of manifest)
          await createOrReplace(admin, paths, object as Record<string, unknown>);
        const token = await serviceAccountToken(admin, subject.namespace, subject.name);
        return kubeconfig({ token, namespace: subject.namespace });
      },
      injectFault: (fault) => proxy.injectFault(fault),
      onBeforeWrite: (hook) => proxy.onBeforeWrite(hook),
      put: (object) => sync.call({ op: 'put', object: withNamespace(object) }) as never,
      get: (resource, namespace, name) =>
        sync.call({ op: 'get', resource, namespace, name }) as never,
      delete: (resource, namespace, name) =>
        sync.call({ op: 'delete', resource, namespace, name }) as boolean,
    };
    return {
      api,
      simulator,
      kubeconfig: kubeconfig({ namespace: SHOP }),
      prometheusUrl,
      realPrometheus: prometheus !== undefined,
      namespace: SHOP,
      ground: 'cluster',
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Namespaced objects without a namespace go to `default`, as with the double's put. */
function withNamespace(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  if (metadata.namespace !== undefined || object.kind === 'Namespace') return object;
  return { ...object, metadata: { ...metadata, namespace: 'default' } };
}

function proxyKubeconfig(
  proxy: RecordingProxy,
  token: string,
  namespace: string,
  context = 'cluster',
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'cluster',
        cluster: {
          server: proxy.url,
          'certificate-authority-data': Buffer.from(proxy.caCert).toString('base64'),
        },
      },
    ],
    users: [{ name: 'pipeline', user: { token } }],
    contexts: [{ name: context, context: { cluster: 'cluster', user: 'pipeline', namespace } }],
    'current-context': context,
    preferences: {},
  });
}
