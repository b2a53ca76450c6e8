import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  ApiException,
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { ApiServer } from '../../src/sandbox/apiserver.ts';
import {
  PatchApplyError,
  applyJsonPatch,
  applyMergePatch,
} from '../../src/sandbox/apiserver-patch.ts';
import {
  SelectorError,
  matchesLabels,
  parseLabelSelector,
} from '../../src/sandbox/apiserver-selectors.ts';
import {
  formatWebhookErrors,
  virtualServiceWebhookErrors,
} from '../../src/sandbox/istio-schema.ts';

const NS = 'shop';
const GROUP = 'networking.istio.io';

function virtualService(
  name: string,
  labels: Record<string, string> = {},
): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'VirtualService',
    metadata: { name, namespace: NS, labels },
    spec: {
      hosts: ['backend'],
      http: [
        {
          name: 'tester',
          match: [{ headers: { 'x-canary': { exact: 'yes' } } }],
          route: [{ destination: { host: 'backend', subset: 'canary' } }],
        },
        {
          name: 'primary',
          retries: { attempts: 3, perTryTimeout: '2s' },
          route: [{ destination: { host: 'backend', subset: 'stable', port: { number: 8080 } } }],
        },
      ],
    },
  };
}

function deployment(name: string, replicas: number): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: 'backend' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'backend', version: name } },
      template: { metadata: { labels: { app: 'backend', version: name } } },
    },
  };
}

interface Clients {
  custom: CustomObjectsApi;
  apps: AppsV1Api;
  core: CoreV1Api;
  apis: ApisApi;
  config: KubeConfig;
}

function clients(server: ApiServer, token?: string): Clients {
  const config = new KubeConfig();
  config.loadFromString(server.kubeconfig({ token, namespace: NS }));
  return {
    custom: config.makeApiClient(CustomObjectsApi),
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    apis: config.makeApiClient(ApisApi),
    config,
  };
}

interface StatusBody {
  kind: string;
  code: number;
  reason?: string;
  message: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { field?: string; message?: string }[];
  };
}

/** Runs a call that must fail with an ApiException; returns it and its Status body. */
/** The Status in an error body; a plain-text body (a path the server has no route for) as a message. */
function parseStatus(body: unknown): StatusBody {
  if (typeof body !== 'string' || body === '') return body as StatusBody;
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return { message: body } as StatusBody;
  }
}

async function rejection(
  call: Promise<unknown>,
): Promise<{ error: ApiException<unknown>; status: StatusBody }> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ApiException, `expected an ApiException, got ${String(error)}`);
    const body = error.body;
    return { error, status: parseStatus(body) };
  }
  assert.fail('the call succeeded');
}

// Custom objects come back from client-node as untyped JSON; the tests walk into them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const vsRef = (name: string, version = 'v1') => ({
  group: GROUP,
  version,
  namespace: NS,
  plural: 'virtualservices',
  name,
});

describe('sandbox API server with the real client-node', () => {
  let server: ApiServer;
  let admin: Clients;

  before(async () => {
    server = await ApiServer.start();
    admin = clients(server);
  });
  after(async () => {
    await server.stop();
  });

  it('serves TLS with the CA from its kubeconfig, and a client trusting another CA is refused', async () => {
    server.put(virtualService('tls-check'));
    const vs: Obj = await admin.custom.getNamespacedCustomObject(vsRef('tls-check'));
    assert.equal(vs.metadata.name, 'tls-check');

    const other = await ApiServer.start();
    try {
      const config = new KubeConfig();
      config.loadFromString(other.kubeconfig().replace(other.url, server.url));
      const api = config.makeApiClient(CustomObjectsApi);
      await assert.rejects(api.getNamespacedCustomObject(vsRef('tls-check')), (error: Error) => {
        assert.ok(
          !(error instanceof ApiException),
          'the TLS handshake fails before any HTTP answer',
        );
        return true;
      });
    } finally {
      await other.stop();
    }
  });

  it('stores one object and rewrites apiVersion to the version read', async () => {
    const stored = server.put(virtualService('versions'));
    for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
      const vs: Obj = await admin.custom.getNamespacedCustomObject(vsRef('versions', version));
      assert.equal(vs.apiVersion, `${GROUP}/${version}`);
      assert.equal(vs.kind, 'VirtualService');
      assert.equal(vs.metadata.resourceVersion, stored.metadata.resourceVersion);
      assert.equal(vs.metadata.uid, stored.metadata.uid);
      assert.equal(vs.metadata.generation, 1);
      assert.match(String(vs.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it('answers 404 with the real NotFound Status', async () => {
    const { error, status } = await rejection(
      admin.custom.getNamespacedCustomObject(vsRef('missing')),
    );
    assert.equal(error.code, 404);
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'NotFound');
    assert.equal(status.message, 'virtualservices.networking.istio.io "missing" not found');
    assert.deepEqual(status.details, { name: 'missing', group: GROUP, kind: 'virtualservices' });
  });

  it('lists with label selectors and reports the list resourceVersion', async () => {
    server.put(virtualService('sel-a', { team: 'pay', tier: 'web' }));
    server.put(virtualService('sel-b', { team: 'ship', tier: 'api' }));
    server.put(virtualService('sel-c', { team: 'pay' }));
    const names = async (labelSelector: string): Promise<string[]> => {
      const list: Obj = await admin.custom.listNamespacedCustomObject({
        group: GROUP,
        version: 'v1beta1',
        namespace: NS,
        plural: 'virtualservices',
        labelSelector,
      });
      return (list.items as Obj[])
        .map((i) => i.metadata.name as string)
        .filter((n) => n.startsWith('sel-'));
    };
    assert.deepEqual(await names('team=pay'), ['sel-a', 'sel-c']);
    assert.deepEqual(await names('team!=pay'), ['sel-b']);
    assert.deepEqual(await names('team in (ship,other)'), ['sel-b']);
    assert.deepEqual(await names('team=pay,tier'), ['sel-a']);
    assert.deepEqual(await names('team,!tier'), ['sel-c']);
    assert.deepEqual(await names('tier notin (web)'), ['sel-b', 'sel-c']);

    const list: Obj = await admin.custom.listNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'virtualservices',
    });
    assert.equal(list.kind, 'VirtualServiceList');
    assert.equal(list.items[0].apiVersion, `${GROUP}/v1`);
    assert.match(String(list.metadata.resourceVersion), /^\d+$/);
    const highest = Math.max(
      ...(list.items as Obj[]).map((i) => Number(i.metadata.resourceVersion)),
    );
    assert.ok(Number(list.metadata.resourceVersion) >= highest);

    const { error } = await rejection(
      admin.custom.listNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        namespace: NS,
        plural: 'virtualservices',
        labelSelector: 'team in pay',
      }),
    );
    assert.equal(error.code, 400);
  });

  it('lists across namespaces', async () => {
    server.put({
      ...virtualService('elsewhere'),
      metadata: { name: 'elsewhere', namespace: 'other' },
    });
    const all: Obj = await admin.custom.listCustomObjectForAllNamespaces({
      group: GROUP,
      version: 'v1',
      resourcePlural: 'virtualservices',
    });
    const namespaces = new Set((all.items as Obj[]).map((i) => i.metadata.namespace as string));
    assert.ok(namespaces.has('other') && namespaces.has(NS));
    const shopOnly: Obj = await admin.custom.listNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'virtualservices',
    });
    assert.ok((shopOnly.items as Obj[]).every((i) => i.metadata.namespace === NS));
  });

  it('replaces with a matching resourceVersion, bumping it and the generation', async () => {
    server.put(virtualService('replace-ok'));
    const vs: Obj = await admin.custom.getNamespacedCustomObject(vsRef('replace-ok'));
    vs.spec.http[1].route = [
      { destination: { host: 'backend', subset: 'stable', port: { number: 8080 } }, weight: 90 },
      { destination: { host: 'backend', subset: 'canary', port: { number: 8080 } }, weight: 10 },
    ];
    const updated: Obj = await admin.custom.replaceNamespacedCustomObject({
      ...vsRef('replace-ok'),
      body: vs,
    });
    assert.ok(Number(updated.metadata.resourceVersion) > Number(vs.metadata.resourceVersion));
    assert.equal(updated.metadata.generation, 2);
    assert.deepEqual(updated.spec.http[1].retries, { attempts: 3, perTryTimeout: '2s' });
    assert.equal(
      server.get('virtualservices', NS, 'replace-ok')?.metadata.resourceVersion,
      updated.metadata.resourceVersion,
    );

    const again: Obj = await admin.custom.replaceNamespacedCustomObject({
      ...vsRef('replace-ok'),
      body: updated,
    });
    assert.equal(
      again.metadata.resourceVersion,
      updated.metadata.resourceVersion,
      'a no-op write keeps the resourceVersion',
    );
  });

  it('rejects a stale resourceVersion with the real 409 Conflict', async () => {
    server.put(virtualService('backend'));
    const read: Obj = await admin.custom.getNamespacedCustomObject(vsRef('backend'));
    server.put({ ...read, metadata: { ...read.metadata, labels: { touched: 'yes' } } });
    read.spec.http[1].route[0].weight = 100;
    const { error, status } = await rejection(
      admin.custom.replaceNamespacedCustomObject({ ...vsRef('backend'), body: read }),
    );
    assert.equal(error.code, 409);
    assert.equal(status.reason, 'Conflict');
    assert.equal(
      status.message,
      'Operation cannot be fulfilled on virtualservices.networking.istio.io "backend": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('requires a resourceVersion on a custom resource update', async () => {
    server.put(virtualService('no-rv'));
    const read: Obj = await admin.custom.getNamespacedCustomObject(vsRef('no-rv'));
    delete read.metadata.resourceVersion;
    const { error, status } = await rejection(
      admin.custom.replaceNamespacedCustomObject({ ...vsRef('no-rv'), body: read }),
    );
    assert.equal(error.code, 422);
    assert.match(
      status.message,
      /metadata\.resourceVersion: Invalid value: 0: must be specified for an update/,
    );
  });

  it('runs write hooks between the read and the write, so a concurrent edit wins the race', async () => {
    server.put(virtualService('raced'));
    const read: Obj = await admin.custom.getNamespacedCustomObject(vsRef('raced'));
    const seen: string[] = [];
    const remove = server.onBeforeWrite((w) => {
      seen.push(`${w.method} ${w.resource} ${String(w.namespace)}/${w.name}`);
      const current = server.get('virtualservices', NS, 'raced')!;
      (current.spec as Obj).http[0].route[0].destination.subset = 'canary-v2';
      server.put(current);
    });
    try {
      read.spec.http[1].route[0].weight = 100;
      const { error } = await rejection(
        admin.custom.replaceNamespacedCustomObject({ ...vsRef('raced'), body: read }),
      );
      assert.equal(error.code, 409);
    } finally {
      remove();
    }
    assert.deepEqual(seen, [`PUT virtualservices ${NS}/raced`]);
    const after: Obj = server.get('virtualservices', NS, 'raced')!;
    assert.equal(after.spec.http[0].route[0].destination.subset, 'canary-v2');
  });

  it('applies a JSON patch whose test ops hold, and rejects one whose test fails with 422', async () => {
    const stored = server.put(virtualService('jp'));
    const rv = String(stored.metadata.resourceVersion);
    const patched: Obj = await admin.custom.patchNamespacedCustomObject({
      ...vsRef('jp'),
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'test', path: '/spec/http/1/name', value: 'primary' },
        { op: 'add', path: '/metadata/annotations', value: { 'canary/stage': '1' } },
        { op: 'add', path: '/spec/http/1/route/0/weight', value: 100 },
      ],
    });
    assert.equal(patched.metadata.annotations['canary/stage'], '1');
    assert.equal(patched.spec.http[1].route[0].weight, 100);

    const { error, status } = await rejection(
      admin.custom.patchNamespacedCustomObject({
        ...vsRef('jp'),
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: rv },
          { op: 'replace', path: '/spec/http/1/route/0/weight', value: 0 },
        ],
      }),
    );
    assert.equal(error.code, 422);
    assert.equal(status.reason, 'Invalid');
    assert.equal(status.message, 'the server rejected our request due to an error in our request');
    assert.equal(
      (server.get('virtualservices', NS, 'jp')!.spec as Obj).http[1].route[0].weight,
      100,
    );
  });

  it('applies a merge patch: null removes a key, objects merge', async () => {
    server.put({
      ...virtualService('mp'),
      metadata: { name: 'mp', namespace: NS, annotations: { keep: 'a', drop: 'b' } },
    });
    const patched: Obj = await admin.custom.patchNamespacedCustomObject(
      {
        ...vsRef('mp'),
        body: {
          metadata: { annotations: { drop: null, added: 'c' } },
          spec: { gateways: ['mesh'] },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.metadata.annotations, { keep: 'a', added: 'c' });
    assert.deepEqual(patched.spec.gateways, ['mesh']);
    assert.equal(patched.spec.http.length, 2);

    const emptied: Obj = await admin.custom.patchNamespacedCustomObject(
      { ...vsRef('mp'), body: { metadata: { annotations: { keep: null, added: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal('annotations' in emptied.metadata, false, 'an emptied annotations map is dropped');
  });

  it('makes a merge patch carrying a stale resourceVersion conditional', async () => {
    server.put(virtualService('mp-rv'));
    const { error } = await rejection(
      admin.custom.patchNamespacedCustomObject(
        { ...vsRef('mp-rv'), body: { metadata: { resourceVersion: '1', labels: { a: 'b' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    assert.equal(error.code, 409);
  });

  it("denies a negative weight with istiod's webhook message, and takes weights as relative", async () => {
    server.put(virtualService('weights'));
    const vs: Obj = await admin.custom.getNamespacedCustomObject(vsRef('weights'));
    vs.spec.http[1].route = [
      { destination: { host: 'backend', subset: 'stable' }, weight: 100 },
      { destination: { host: 'backend', subset: 'canary' }, weight: -10 },
    ];
    const { error, status } = await rejection(
      admin.custom.replaceNamespacedCustomObject({ ...vsRef('weights'), body: vs }),
    );
    assert.equal(error.code, 400);
    assert.equal(
      status.message,
      'admission webhook "validation.istio.io" denied the request: configuration is invalid: weight -10 < 0',
    );

    // Istio normalizes weights: a split that does not add up to 100 is valid.
    vs.spec.http[1].route[1].weight = 10;
    const relative: Obj = await admin.custom.replaceNamespacedCustomObject({
      ...vsRef('weights'),
      body: vs,
    });
    assert.equal(relative.spec.http[1].route[1].weight, 10);
    vs.metadata.resourceVersion = relative.metadata.resourceVersion;

    vs.spec.http[1].route = [{ destination: { host: 'backend', subset: 'canary' } }];
    const single: Obj = await admin.custom.replaceNamespacedCustomObject({
      ...vsRef('weights'),
      body: vs,
    });
    assert.equal(single.spec.http[1].route.length, 1, 'one destination may omit its weight');
  });

  it('rejects a field of the wrong type against the Istio schema with 422 Invalid', async () => {
    server.put(virtualService('typed'));
    const { error, status } = await rejection(
      admin.custom.patchNamespacedCustomObject({
        ...vsRef('typed', 'v1alpha3'),
        body: [{ op: 'add', path: '/spec/http/1/route/0/weight', value: 'ten' }],
      }),
    );
    assert.equal(error.code, 422);
    assert.equal(status.reason, 'Invalid');
    assert.match(
      status.message,
      /^VirtualService\.networking\.istio\.io "typed" is invalid: \[spec\.http\[1\]\.route\[0\]\.weight: Invalid value: "string".*, <nil>: Invalid value: null: some validation rules were not checked/,
    );
    assert.equal(status.details?.causes?.[0]?.field, 'spec.http[1].route[0].weight');
    assert.equal(
      typeof (server.get('virtualservices', NS, 'typed')!.spec as Obj).http[1].route[0].weight,
      'undefined',
    );
  });

  it('creates, refuses a duplicate with 409 AlreadyExists, drops empty maps, deletes', async () => {
    const body = {
      ...virtualService('created'),
      metadata: { name: 'created', annotations: {}, labels: {} },
    };
    const created: Obj = await admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1beta1',
      namespace: NS,
      plural: 'virtualservices',
      body,
    });
    assert.equal(created.metadata.namespace, NS);
    assert.equal('annotations' in created.metadata, false);
    assert.equal('labels' in created.metadata, false);
    assert.equal('annotations' in server.get('virtualservices', NS, 'created')!.metadata, false);

    const { error, status } = await rejection(
      admin.custom.createNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        namespace: NS,
        plural: 'virtualservices',
        body,
      }),
    );
    assert.equal(error.code, 409);
    assert.equal(status.reason, 'AlreadyExists');
    assert.equal(status.message, 'virtualservices.networking.istio.io "created" already exists');

    await admin.custom.deleteNamespacedCustomObject(vsRef('created'));
    assert.equal(server.get('virtualservices', NS, 'created'), undefined);
  });

  it('answers 401 for an unknown token and 403 (worded like RBAC) for a read-only write', async () => {
    server.put(virtualService('backend'));
    const stranger = clients(server, 'not-a-token');
    const { error: unauthorized } = await rejection(
      stranger.custom.getNamespacedCustomObject(vsRef('backend')),
    );
    assert.equal(unauthorized.code, 401);

    const reader = clients(server, server.readOnlyToken);
    const vs: Obj = await reader.custom.getNamespacedCustomObject(vsRef('backend'));
    const { error, status } = await rejection(
      reader.custom.replaceNamespacedCustomObject({ ...vsRef('backend'), body: vs }),
    );
    assert.equal(error.code, 403);
    assert.equal(status.reason, 'Forbidden');
    assert.equal(
      status.message,
      'virtualservices.networking.istio.io "backend" is forbidden: User "read-only" cannot update resource "virtualservices" in API group "networking.istio.io" in the namespace "shop"',
    );
    const { error: patchError } = await rejection(
      reader.custom.patchNamespacedCustomObject({ ...vsRef('backend'), body: [] }),
    );
    assert.equal(patchError.code, 403);
  });

  it('serves Deployments with a ready status unless one was stored, and Services', async () => {
    server.put(deployment('backend-stable', 3));
    server.put({
      ...deployment('backend-canary', 2),
      status: { replicas: 2, readyReplicas: 0, availableReplicas: 0 },
    });
    server.put({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: NS },
      spec: { selector: { app: 'backend' }, ports: [{ port: 8080, name: 'http' }] },
    });
    const list = await admin.apps.listNamespacedDeployment({
      namespace: NS,
      labelSelector: 'app=backend',
    });
    const byName = new Map(list.items.map((d) => [d.metadata?.name, d]));
    assert.equal(byName.get('backend-stable')?.status?.readyReplicas, 3);
    assert.equal(byName.get('backend-stable')?.status?.availableReplicas, 3);
    assert.equal(byName.get('backend-canary')?.status?.readyReplicas, 0);
    const service = await admin.core.readNamespacedService({ name: 'backend', namespace: NS });
    assert.equal(service.spec?.ports?.[0]?.port, 8080);
  });

  it('proxies to a registered service; 404 for a missing Service, 503 for one without endpoints or that port', async () => {
    const upstream = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, auth: req.headers.authorization ?? null }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const port = (upstream.address() as AddressInfo).port;
      for (const name of ['prometheus', 'grafana'])
        server.put({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: 'istio-system' },
          spec: { ports: [{ name: 'http', port: name === 'prometheus' ? 9090 : 3000 }] },
        });
      server.registerServiceProxy('istio-system', 'prometheus', 9090, `http://127.0.0.1:${port}`);
      const text = await admin.core.connectGetNamespacedServiceProxyWithPath({
        name: 'prometheus:9090',
        namespace: 'istio-system',
        path: 'api/v1/query',
      });
      // client-node parses a JSON answer, so the proxied body arrives as an object.
      const echoed = (typeof text === 'string' ? JSON.parse(text) : text) as {
        url: string;
        auth: string | null;
      };
      assert.equal(echoed.url, '/api/v1/query');
      assert.equal(echoed.auth, null, 'the caller credentials stay at the API server');

      const reader = clients(server, server.readOnlyToken);
      const query = await rawGet(
        reader.config,
        '/api/v1/namespaces/istio-system/services/http:prometheus:9090/proxy/api/v1/query?query=up%7Bjob%3D%22a%22%7D',
      );
      assert.equal(query.status, 200);
      assert.equal(
        (JSON.parse(query.body) as { url: string }).url,
        '/api/v1/query?query=up%7Bjob%3D%22a%22%7D',
      );

      const answer = async (target: string) => {
        const res = await rawGet(
          admin.config,
          `/api/v1/namespaces/istio-system/services/${target}/proxy/`,
        );
        return [res.status, (JSON.parse(res.body) as StatusBody).message];
      };
      assert.deepEqual(await answer('loki:3100'), [404, 'services "loki" not found']);
      assert.deepEqual(await answer('grafana:3000'), [
        503,
        'no endpoints available for service "grafana"',
      ]);
      assert.deepEqual(await answer('prometheus:9091'), [
        503,
        'no service port 9091 found for service "prometheus"',
      ]);
    } finally {
      upstream.close();
    }
  });

  it('validates but stores nothing on dryRun=All', async () => {
    const body = virtualService('dry');
    const answer: Obj = await admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: NS,
      plural: 'virtualservices',
      body,
      dryRun: 'All',
    });
    assert.equal(answer.metadata.name, 'dry');
    assert.equal(server.get('virtualservices', NS, 'dry'), undefined);
  });

  it('answers a Deployment delete with a Success Status and honours delete preconditions', async () => {
    const stored = server.put(deployment('to-delete', 1));
    const { error } = await rejection(
      admin.apps.deleteNamespacedDeployment({
        name: 'to-delete',
        namespace: NS,
        body: { preconditions: { resourceVersion: '1' } },
      }),
    );
    assert.equal(error.code, 409);
    const status = await admin.apps.deleteNamespacedDeployment({
      name: 'to-delete',
      namespace: NS,
      body: { preconditions: { resourceVersion: String(stored.metadata.resourceVersion) } },
    });
    assert.equal(status.status, 'Success');
    assert.equal(server.get('deployments', NS, 'to-delete'), undefined);
  });

  it('answers injected faults with a Status and Retry-After, then recovers', async () => {
    server.put(virtualService('backend'));
    server.injectFault({
      method: 'GET',
      pathPattern: /virtualservices\/backend$/,
      status: 429,
      count: 1,
      retryAfterSeconds: 2,
    });
    const { error, status } = await rejection(
      admin.custom.getNamespacedCustomObject(vsRef('backend')),
    );
    assert.equal(error.code, 429);
    assert.equal(error.headers['retry-after'], '2');
    assert.equal(status.reason, 'TooManyRequests');
    const vs: Obj = await admin.custom.getNamespacedCustomObject(vsRef('backend'));
    assert.equal(vs.metadata.name, 'backend');
    const last = server.requests.slice(-2).map((r) => r.status);
    assert.deepEqual(last, [429, 200]);
  });
});

describe('sandbox API server serving only v1alpha3', () => {
  let server: ApiServer;

  before(async () => {
    server = await ApiServer.start({ servedIstioVersions: ['v1alpha3'] });
  });
  after(async () => {
    await server.stop();
  });

  it('advertises only v1alpha3 in discovery and 404s the other versions', async () => {
    const { apis, custom, config } = clients(server);
    const groups = await apis.getAPIVersions();
    const istio = groups.groups.find((g) => g.name === GROUP);
    assert.deepEqual(
      istio?.versions.map((v) => v.version),
      ['v1alpha3'],
    );
    assert.equal(istio?.preferredVersion?.version, 'v1alpha3');
    assert.ok(groups.groups.some((g) => g.name === 'apps'));

    const resources = await rawGet(config, `/apis/${GROUP}/v1alpha3`);
    const names = (JSON.parse(resources.body) as { resources: { name: string }[] }).resources.map(
      (r) => r.name,
    );
    assert.deepEqual(names.sort(), [
      'destinationrules',
      'destinationrules/status',
      'virtualservices',
      'virtualservices/status',
    ]);
    assert.equal((await rawGet(config, `/apis/${GROUP}/v1`)).status, 404);

    server.put({ ...virtualService('old'), apiVersion: `${GROUP}/v1alpha3` });
    const vs: Obj = await custom.getNamespacedCustomObject(vsRef('old', 'v1alpha3'));
    assert.equal(vs.apiVersion, `${GROUP}/v1alpha3`);
    const { error, status } = await rejection(custom.getNamespacedCustomObject(vsRef('old', 'v1')));
    assert.equal(error.code, 404);
    assert.equal(status.message, '404 page not found\n', 'no route, so plain text as the real mux');
  });
});

describe('JSON patch and merge patch', () => {
  it('applies RFC 6902 operations, escaped pointers and the array end marker', () => {
    const doc = { a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2, 3] };
    const result = applyJsonPatch(doc, [
      { op: 'test', path: '/a', value: { 'd~e': 2, 'b/c': 1 } },
      { op: 'replace', path: '/a/b~1c', value: 10 },
      { op: 'remove', path: '/a/d~0e' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/first', path: '/a/moved' },
    ]);
    assert.deepEqual(result, { a: { 'b/c': 10, moved: 2 }, list: [2, 3, 4] });
    assert.deepEqual(
      doc,
      { a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2, 3] },
      'the input is not modified',
    );
  });

  it('refuses a failed test, a missing path and an out-of-range index', () => {
    const doc = { a: [1] };
    assert.throws(
      () => applyJsonPatch(doc, [{ op: 'test', path: '/a/0', value: 2 }]),
      PatchApplyError,
    );
    assert.throws(
      () => applyJsonPatch(doc, [{ op: 'replace', path: '/b', value: 1 }]),
      PatchApplyError,
    );
    assert.throws(
      () => applyJsonPatch(doc, [{ op: 'add', path: '/a/5', value: 1 }]),
      PatchApplyError,
    );
    assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/1' }]), PatchApplyError);
  });

  it('merges as RFC 7386 says: null deletes, arrays and scalars replace', () => {
    const doc = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] };
    assert.deepEqual(applyMergePatch(doc, { a: 'z', c: { f: null, h: 1 }, list: [3] }), {
      a: 'z',
      c: { d: 'e', h: 1 },
      list: [3],
    });
    assert.deepEqual(applyMergePatch(doc, ['x']), ['x']);
  });
});

describe('label selectors', () => {
  const labels = { app: 'backend', version: 'v2' };

  it('matches equality, set and existence requirements', () => {
    const match = (selector: string) => matchesLabels(parseLabelSelector(selector), labels);
    assert.equal(match(''), true);
    assert.equal(match('app==backend'), true);
    assert.equal(match('app=backend,version!=v2'), false);
    assert.equal(match('version in (v1, v2)'), true);
    assert.equal(match('version notin (v1,v2)'), false);
    assert.equal(match('missing!=x'), true, 'an absent label satisfies !=');
    assert.equal(match('!missing,app'), true);
    assert.equal(match('app='), false);
  });

  it('refuses malformed selectors', () => {
    assert.throws(() => parseLabelSelector('app in backend'), SelectorError);
    assert.throws(() => parseLabelSelector('app=,,'), SelectorError);
    assert.throws(() => parseLabelSelector('bad key=x'), SelectorError);
  });
});

describe("istiod's VirtualService webhook rules", () => {
  const spec = (route: unknown[]) => ({ hosts: ['backend'], http: [{ route }] });
  const to = (subset: string, weight?: number) => ({
    destination: { host: 'backend', subset },
    weight,
  });

  it('refuses a lookahead in a regex match, which RE2 cannot compile, naming the match field', () => {
    const route = [to('a', 100)];
    const match = [
      { uri: { regex: '^/api/(?!internal)' } },
      { headers: { 'x-user': { regex: '(?=admin)' } } },
      { uri: { regex: '^/api/[a-z]+$' } },
    ];
    assert.deepEqual(
      virtualServiceWebhookErrors({ hosts: ['backend'], http: [{ match, route }] }),
      [
        '"uri": error parsing regexp: invalid or unsupported Perl syntax: `(?!`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)',
        '"headers": error parsing regexp: invalid or unsupported Perl syntax: `(?=`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)',
      ],
    );
  });

  it('accepts weights summing to 100 and a lone destination without weight', () => {
    assert.deepEqual(virtualServiceWebhookErrors(spec([to('a', 75), to('b', 25)])), []);
    assert.deepEqual(virtualServiceWebhookErrors(spec([to('a')])), []);
    assert.deepEqual(virtualServiceWebhookErrors(spec([to('a', 0), to('b', 100)])), []);
  });

  it('reports each broken rule, several in the multi-error form', () => {
    assert.deepEqual(virtualServiceWebhookErrors(spec([to('a', 50), to('b')])), []);
    assert.deepEqual(virtualServiceWebhookErrors(spec([to('a', 0), to('b', 0)])), [
      'total destination weight = 0',
    ]);
    const errors = virtualServiceWebhookErrors(spec([to('a', -1), to('b', -50)]));
    assert.deepEqual(errors, ['weight -1 < 0', 'weight -50 < 0']);
    assert.equal(
      formatWebhookErrors(errors),
      '2 errors occurred:\n\t* weight -1 < 0\n\t* weight -50 < 0\n\n',
    );
    assert.deepEqual(virtualServiceWebhookErrors({ http: [{ route: [{}] }] }), [
      'virtual service must have at least one host',
      'destination is required',
    ]);
  });
});

/** GET through the kubeconfig's TLS and credentials, returning status and body text. */
async function rawGet(config: KubeConfig, path: string): Promise<{ status: number; body: string }> {
  const cluster = config.getCurrentCluster()!;
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { method: 'GET' };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
