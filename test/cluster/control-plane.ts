/**
 * A control plane like a cluster's, on loopback: etcd, kube-apiserver with RBAC, Istio's
 * validation webhook, Istio's networking CRDs and the Gateway API CRDs, and the identity
 * examples/rbac.yaml grants. There is no kubelet and no controller manager: Deployments get their
 * readiness from whoever writes their status subresource (the test harness).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { binaryPath, ensureBinaries, MODULES_DIR, type BuildResult } from './binaries.ts';
import { generatePki, type ControlPlanePki } from './pki.ts';
import { freePort, startProcess, tail, waitFor, type Managed } from './processes.ts';
import { createOrReplace, expectStatus, ResourcePaths } from './resources.ts';
import { rest, type Credentials } from './rest.ts';
import { crdManifests } from './crds.ts';

/** The namespace examples/rbac.yaml grants the pipeline. */
export const PIPELINE_NAMESPACE = 'shop';
/** The ServiceAccount examples/rbac.yaml binds. */
export const PIPELINE_SERVICE_ACCOUNT = 'istio-canary';

const RBAC_MANIFEST = resolve(MODULES_DIR, '../../examples/rbac.yaml');

/** A running control plane. */
export interface ControlPlane {
  /** Base URL of kube-apiserver. */
  server: string;
  pki: ControlPlanePki;
  /** The admin identity (client certificate, group system:masters). */
  admin: Credentials;
  /** The ServiceAccount examples/rbac.yaml grants, with a token from the TokenRequest API. */
  pipeline: Credentials;
  /** A kubeconfig with contexts `admin` (current) and `istio-canary` (namespace shop). */
  kubeconfig: string;
  /** Which binaries were rebuilt, and how long that took. */
  builds: BuildResult[];
  /** A token for another ServiceAccount of `namespace`, created if needed. */
  serviceAccountToken(namespace: string, name: string): Promise<string>;
  /** Stops every process and removes the temporary folder. */
  stop(): Promise<void>;
}

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  log?: (line: string) => void;
}

function write(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** Starts everything and returns once every CRD is established and the webhook answers. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => undefined);
  const builds = await ensureBinaries({ log });
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-cluster-'));
  const processes: Managed[] = [];
  let failure: string | undefined;
  const onExit = (message: string) => {
    failure ??= message;
    log(message);
  };
  const stop = async () => {
    for (const p of processes.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = await generatePki();
    const files = {
      ca: write(dir, 'ca.crt', pki.caCert),
      apiserverCert: write(dir, 'apiserver.crt', pki.apiserverCert),
      apiserverKey: write(dir, 'apiserver.key', pki.apiserverKey),
      webhookCert: write(dir, 'webhook.crt', pki.webhookCert),
      webhookKey: write(dir, 'webhook.key', pki.webhookKey),
      saKey: write(dir, 'sa.key', pki.serviceAccountKey),
      saPub: write(dir, 'sa.pub', pki.serviceAccountPublicKey),
    };
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    mkdirSync(join(dir, 'etcd'), { mode: 0o700 });
    processes.push(
      startProcess(
        'etcd',
        binaryPath('etcd'),
        [
          '--name=test',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
          // A throwaway store: durability buys nothing here and fsync is slow on shared disks.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        join(dir, 'etcd.log'),
        onExit,
      ),
    );
    const portFile = join(dir, 'webhook.port');
    processes.push(
      startProcess(
        'istio-validation',
        binaryPath('istio-validation'),
        [
          '--listen=127.0.0.1:0',
          `--tls-cert=${files.webhookCert}`,
          `--tls-key=${files.webhookKey}`,
          `--port-file=${portFile}`,
        ],
        join(dir, 'istio-validation.log'),
        onExit,
      ),
    );
    processes.push(
      startProcess(
        'kube-apiserver',
        binaryPath('kube-apiserver'),
        [
          `--etcd-servers=http://127.0.0.1:${etcdClient}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          `--cert-dir=${join(dir, 'apiserver-certs')}`,
          `--tls-cert-file=${files.apiserverCert}`,
          `--tls-private-key-file=${files.apiserverKey}`,
          `--client-ca-file=${files.ca}`,
          `--service-account-key-file=${files.saPub}`,
          `--service-account-signing-key-file=${files.saKey}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          '--authorization-mode=Node,RBAC',
          '--service-cluster-ip-range=10.96.0.0/16',
          // No kubernetes Service endpoints: its address would be loopback, which the server rejects.
          '--endpoint-reconciler-type=none',
          '--profiling=false',
          '--v=0',
        ],
        join(dir, 'kube-apiserver.log'),
        onExit,
      ),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const admin: Credentials = { server, ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
    log('waiting for kube-apiserver');
    await waitFor(
      async () => {
        if (failure) throw new Error(failure);
        return (await rest(admin, 'GET', '/readyz', { timeoutMs: 2000 })).status === 200;
      },
      180_000,
      () =>
        failure ??
        `kube-apiserver was not ready in 180 s:\n${tail(join(dir, 'kube-apiserver.log'))}`,
    );
    if (failure) throw new Error(failure);
    const webhookPort = Number(readFileSync(portFile, 'utf8'));
    const paths = new ResourcePaths(admin);
    await bootstrap(admin, paths, pki, webhookPort, log);
    const serviceAccountToken = (namespace: string, name: string) =>
      tokenFor(admin, paths, namespace, name);
    const pipelineToken = await serviceAccountToken(PIPELINE_NAMESPACE, PIPELINE_SERVICE_ACCOUNT);
    const pipeline: Credentials = { server, ca: pki.caCert, token: pipelineToken };
    return {
      server,
      pki,
      admin,
      pipeline,
      kubeconfig: kubeconfigFor(server, pki, pipelineToken),
      builds,
      serviceAccountToken,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function bootstrap(
  admin: Credentials,
  paths: ResourcePaths,
  pki: ControlPlanePki,
  webhookPort: number,
  log: (line: string) => void,
): Promise<void> {
  const manifest = parseAllDocuments(readFileSync(RBAC_MANIFEST, 'utf8'))
    .map((doc) => doc.toJS() as Record<string, unknown> | null)
    .filter((object) => object !== null);
  // Every namespace the manifest grants in (a dependent's namespace too), as a cluster has them.
  const namespaces = new Set([PIPELINE_NAMESPACE, 'istio-system']);
  for (const object of manifest) {
    const namespace = (object.metadata as { namespace?: string }).namespace;
    if (namespace !== undefined) namespaces.add(namespace);
  }
  for (const name of namespaces)
    await createOrReplace(admin, paths, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  const crds = await crdManifests();
  log(`installing ${crds.length} CRDs`);
  for (const crd of crds) await createOrReplace(admin, paths, crd);
  await waitFor(
    async () => {
      const res = await rest(
        admin,
        'GET',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      );
      const items = (res.body as { items: CrdStatus[] }).items ?? [];
      return crds.every((crd) =>
        items.some((i) => i.metadata.name === nameOf(crd) && established(i)),
      );
    },
    60_000,
    () => 'the CRDs were not established in 60 s',
  );
  paths.reset();
  for (const object of manifest) await createOrReplace(admin, paths, object);
  await createOrReplace(admin, paths, webhookConfiguration(pki.caCert, webhookPort));
  await waitForWebhook(admin);
}

interface CrdStatus {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function nameOf(object: Record<string, unknown>): string {
  return (object.metadata as { name: string }).name;
}

function established(crd: CrdStatus): boolean {
  return (crd.status?.conditions ?? []).some(
    (c) => c.type === 'Established' && c.status === 'True',
  );
}

/**
 * The registration istiod makes for itself, narrowed to what the tool writes: every create and
 * update of a VirtualService or DestinationRule goes to the webhook, and a webhook that cannot be
 * reached fails the write (failurePolicy Fail), so nothing slips past unjudged.
 */
function webhookConfiguration(caCert: string, port: number): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'istio-validation' },
    webhooks: [
      {
        name: 'validation.istio.io',
        clientConfig: {
          url: `https://127.0.0.1:${port}/validate`,
          caBundle: Buffer.from(caCert).toString('base64'),
        },
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: ['networking.istio.io'],
            apiVersions: ['*'],
            resources: ['virtualservices', 'destinationrules'],
          },
        ],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
      },
    ],
  };
}

/**
 * A webhook configuration takes effect a moment after it is stored; until a dry-run create of an
 * invalid VirtualService is refused by it, the control plane is not ready.
 */
async function waitForWebhook(admin: Credentials): Promise<void> {
  const probe = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'webhook-probe', namespace: PIPELINE_NAMESPACE },
    spec: {
      hosts: ['probe'],
      // RE2, which Envoy and Istio use, has no lookahead: Istio rejects this, a schema cannot.
      http: [
        { match: [{ uri: { regex: '^(?=/probe)' } }], route: [{ destination: { host: 'probe' } }] },
      ],
    },
  };
  await waitFor(
    async () => {
      const res = await rest(
        admin,
        'POST',
        `/apis/networking.istio.io/v1/namespaces/${PIPELINE_NAMESPACE}/virtualservices?dryRun=All`,
        { body: probe },
      );
      return res.status === 400 && res.text.includes('admission webhook');
    },
    60_000,
    () => 'the Istio validation webhook did not start judging VirtualServices in 60 s',
  );
}

async function tokenFor(
  admin: Credentials,
  paths: ResourcePaths,
  namespace: string,
  name: string,
): Promise<string> {
  await createOrReplace(admin, paths, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace },
  });
  const res = expectStatus(
    await rest(admin, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 24 * 60 * 60 },
      },
    }),
    [201],
    `token for ${namespace}/${name}`,
  );
  return (res.body as { status: { token: string } }).status.token;
}

function kubeconfigFor(server: string, pki: ControlPlanePki, pipelineToken: string): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'test-cluster', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } },
    ],
    users: [
      {
        name: 'admin',
        user: {
          'client-certificate-data': b64(pki.adminCert),
          'client-key-data': b64(pki.adminKey),
        },
      },
      { name: 'istio-canary', user: { token: pipelineToken } },
    ],
    contexts: [
      { name: 'admin', context: { cluster: 'test-cluster', user: 'admin', namespace: 'default' } },
      {
        name: 'istio-canary',
        context: { cluster: 'test-cluster', user: 'istio-canary', namespace: PIPELINE_NAMESPACE },
      },
    ],
    'current-context': 'admin',
  });
}
