/**
 * The in-process API server double, checked against kube-apiserver: the same requests go to both
 * and the answers are compared (status code, Status body, object shape; uid, timestamps,
 * resourceVersion values and managedFields aside). Where they differ on purpose, KNOWN says how and
 * why, and the test checks that the difference is exactly that: a known difference that goes away,
 * or a new one, fails here. docs/api-server-double.md lists them for readers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApiServer } from '../../../src/sandbox/apiserver.ts';
import { clusterAdmin, serviceAccountToken } from '../../helpers/cluster-ground.ts';
import { createOrReplace, ResourcePaths } from '../resources.ts';
import { rest, type Credentials, type RestResponse } from '../rest.ts';

/** One server under comparison. */
interface Target {
  name: 'double' | 'real';
  admin: Credentials;
  /** May get and list, nothing more. */
  reader: Credentials;
}

type Json = unknown;

const NS = `diff-${randomBytes(3).toString('hex')}`;
const VS = `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`;
const DEPLOYMENTS = `/apis/apps/v1/namespaces/${NS}/deployments`;
const SERVICES = `/api/v1/namespaces/${NS}/services`;

function virtualService(name: string, labels?: Record<string, string>): Record<string, Json> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
    spec: {
      hosts: ['backend'],
      http: [
        {
          name: 'primary',
          timeout: '5s',
          route: [
            { destination: { host: 'backend', subset: 'v1' }, weight: 90 },
            { destination: { host: 'backend', subset: 'v2' }, weight: 10 },
          ],
        },
      ],
    },
  };
}

function deployment(name: string): Record<string, Json> {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    },
  };
}

/** Sorts keys at every depth, so that key order (which JSON does not fix) is not compared. */
function canonical(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, Json> = {};
  for (const key of Object.keys(value).sort())
    out[key] = canonical((value as Record<string, Json>)[key]);
  return out;
}

const VOLATILE_METADATA = ['uid', 'creationTimestamp', 'managedFields', 'selfLink'];

/** An object without what differs between any two servers (uid, times, resourceVersion values). */
function shape(object: Json): Json {
  if (object === null || typeof object !== 'object') return object;
  const copy = structuredClone(object) as Record<string, Json> & {
    metadata?: Record<string, Json>;
  };
  if (copy.metadata) {
    for (const key of VOLATILE_METADATA) delete copy.metadata[key];
    if (copy.metadata.resourceVersion !== undefined)
      copy.metadata.resourceVersion = typeof copy.metadata.resourceVersion;
  }
  if (Array.isArray(copy.items)) copy.items = copy.items.map(shape);
  return canonical(copy);
}

/** A Status body as compared: identities and the namespace replaced by placeholders. */
function statusShape(body: Json): Json {
  if (body === null || typeof body !== 'object') return body;
  const text = JSON.stringify(body)
    .replace(/User \\"[^"\\]*\\"/g, 'User \\"<user>\\"')
    .replaceAll(NS, '<ns>');
  const status = JSON.parse(text) as Record<string, Json>;
  if (status.metadata && typeof status.metadata === 'object')
    delete (status.metadata as Record<string, Json>).resourceVersion;
  if (status.details && typeof status.details === 'object')
    delete (status.details as Record<string, Json>).uid;
  return canonical(status);
}

/** What one answer is compared by: its code and its body, as an object or as a Status. */
function answer(res: RestResponse): Json {
  const body = res.body as { kind?: string } | string;
  const isStatus = typeof body === 'object' && body?.kind === 'Status';
  return { code: res.status, body: isStatus ? statusShape(body) : shape(body) };
}

/** One comparison: requests sent the same way to a target, and what is compared of the answers. */
interface Case {
  name: string;
  run(target: Target): Promise<Json>;
}

/**
 * A documented difference: `neutral` removes it from both observations; after that they must be
 * equal, and before it they must not be (so a fixed difference is noticed and removed from here).
 */
interface Known {
  why: string;
  neutral(observation: Json, target: Target['name']): Json;
}

const create = (t: Target, path: string, body: Json) => rest(t.admin, 'POST', path, { body });

/** Keeps only the listed resources of an APIResourceList, with the fields compared. */
function resources(body: Json, names: string[]): Json {
  const list = (body as { resources?: Record<string, Json>[] }).resources ?? [];
  return list
    .filter((r) => names.includes(String(r.name)))
    .map((r) => canonical({ ...r, verbs: [...((r.verbs as string[]) ?? [])].sort() }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const CASES: Case[] = [
  {
    name: 'discovery: /api and the core resources the tool uses',
    async run(t) {
      const api = await rest(t.admin, 'GET', '/api');
      const v1 = await rest(t.admin, 'GET', '/api/v1');
      return {
        api: { code: api.status, versions: (api.body as { versions: string[] }).versions },
        v1: {
          code: v1.status,
          resources: resources(v1.body, ['services', 'services/proxy', 'pods', 'namespaces']),
        },
      };
    },
  },
  {
    name: 'discovery: the apps and networking.istio.io groups',
    async run(t) {
      const res = await rest(t.admin, 'GET', '/apis');
      const groups = (res.body as { groups: { name: string }[] }).groups.filter((g) =>
        ['apps', 'networking.istio.io'].includes(g.name),
      );
      return { code: res.status, groups: canonical(groups) };
    },
  },
  {
    name: 'discovery: networking.istio.io/v1 resources',
    async run(t) {
      const res = await rest(t.admin, 'GET', '/apis/networking.istio.io/v1');
      return {
        code: res.status,
        groupVersion: (res.body as { groupVersion: string }).groupVersion,
        resources: resources(res.body, [
          'virtualservices',
          'virtualservices/status',
          'destinationrules',
          'destinationrules/status',
        ]),
      };
    },
  },
  {
    name: 'create then get a VirtualService',
    async run(t) {
      const created = await create(t, VS, virtualService('get-me'));
      const got = await rest(t.admin, 'GET', `${VS}/get-me`);
      return { created: answer(created), got: answer(got) };
    },
  },
  {
    name: '404: get a VirtualService that does not exist',
    run: async (t) => answer(await rest(t.admin, 'GET', `${VS}/nothing-here`)),
  },
  {
    name: '404: a resource the server does not serve',
    run: async (t) =>
      answer(await rest(t.admin, 'GET', `/apis/networking.istio.io/v1/namespaces/${NS}/nothings`)),
  },
  {
    name: '409: create a VirtualService that exists',
    async run(t) {
      await create(t, VS, virtualService('twice'));
      return answer(await create(t, VS, virtualService('twice')));
    },
  },
  {
    name: 'list with label selectors (equality, set-based, existence) and a bad selector',
    async run(t) {
      const labelled: [string, Record<string, string>][] = [
        ['sel-a', { team: 'checkout', tier: 'web' }],
        ['sel-b', { team: 'checkout', tier: 'api', legacy: 'yes' }],
        ['sel-c', { team: 'search', tier: 'web' }],
        ['sel-d', { team: 'search' }],
      ];
      for (const [name, labels] of labelled) await create(t, VS, virtualService(name, labels));
      const selectors = [
        'team=checkout',
        'team!=checkout',
        'tier in (web,api)',
        'tier notin (web)',
        'legacy',
        '!legacy',
        'team=checkout,tier=web',
        'team==search',
      ];
      const out: Record<string, Json> = {};
      for (const selector of selectors) {
        const res = await rest(
          t.admin,
          'GET',
          `${VS}?labelSelector=${encodeURIComponent(selector)}`,
        );
        const body = res.body as {
          kind: string;
          apiVersion: string;
          items: { metadata: { name: string } }[];
        };
        out[selector] = {
          code: res.status,
          kind: body.kind,
          apiVersion: body.apiVersion,
          names: body.items
            .map((i) => i.metadata.name)
            .filter((n) => n.startsWith('sel-'))
            .sort(),
        };
      }
      const bad = await rest(
        t.admin,
        'GET',
        `${VS}?labelSelector=${encodeURIComponent('tier in web')}`,
      );
      out.bad = { code: bad.status, reason: (bad.body as { reason?: string }).reason };
      return out;
    },
  },
  {
    name: '409: put with a stale resourceVersion',
    async run(t) {
      const created = (await create(t, VS, virtualService('stale'))).body as Record<string, Json>;
      const update = structuredClone(created) as { spec: { hosts: string[] } };
      update.spec.hosts = ['backend', 'backend.other'];
      await rest(t.admin, 'PUT', `${VS}/stale`, { body: update });
      return answer(await rest(t.admin, 'PUT', `${VS}/stale`, { body: created }));
    },
  },
  {
    name: 'put without a resourceVersion',
    async run(t) {
      await create(t, VS, virtualService('no-rv'));
      const res = await rest(t.admin, 'PUT', `${VS}/no-rv`, { body: virtualService('no-rv') });
      return answer(res);
    },
  },
  {
    name: 'merge patch',
    async run(t) {
      await create(t, VS, virtualService('merge'));
      const res = await rest(t.admin, 'PATCH', `${VS}/merge`, {
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { patched: 'yes' } }, spec: { hosts: ['backend', 'b2'] } },
      });
      return answer(res);
    },
  },
  {
    name: 'JSON patch with a test that holds, and one that fails',
    async run(t) {
      await create(t, VS, virtualService('json-patch'));
      const path = `${VS}/json-patch`;
      const ok = await rest(t.admin, 'PATCH', path, {
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/spec/http/0/route/0/weight', value: 90 },
          { op: 'replace', path: '/spec/http/0/route/0/weight', value: 50 },
          { op: 'replace', path: '/spec/http/0/route/1/weight', value: 50 },
        ],
      });
      const failed = await rest(t.admin, 'PATCH', path, {
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/spec/http/0/route/0/weight', value: 90 },
          { op: 'replace', path: '/spec/http/0/route/0/weight', value: 0 },
        ],
      });
      return { ok: answer(ok), failed: answer(failed) };
    },
  },
  {
    name: '415: a patch with a content type the server does not take',
    async run(t) {
      await create(t, VS, virtualService('bad-patch'));
      return answer(
        await rest(t.admin, 'PATCH', `${VS}/bad-patch`, { contentType: 'text/plain', body: 'x' }),
      );
    },
  },
  {
    name: '422: a VirtualService the CRD schema rejects',
    async run(t) {
      const vs = virtualService('invalid') as { spec: Record<string, Json> };
      vs.spec.hosts = 'backend';
      return answer(await create(t, VS, vs));
    },
  },
  {
    name: '400: a VirtualService Istio rejects (a negative weight)',
    async run(t) {
      const vs = virtualService('negative') as {
        spec: { http: { route: { weight: number }[] }[] };
      };
      vs.spec.http[0].route[0].weight = 110;
      vs.spec.http[0].route[1].weight = -10;
      return answer(await create(t, VS, vs));
    },
  },
  {
    name: '400: a VirtualService Istio rejects (a lookahead in a regex match)',
    async run(t) {
      const vs = virtualService('lookahead') as { spec: { http: Record<string, Json>[] } };
      vs.spec.http[0].match = [{ uri: { regex: '^/api/(?!internal)' } }];
      return answer(await create(t, VS, vs));
    },
  },
  {
    name: 'schema pruning: unknown fields are dropped, at the top and inside spec',
    async run(t) {
      const vs = virtualService('pruned') as Record<string, Json> & {
        spec: { http: Record<string, Json>[] } & Record<string, Json>;
      };
      vs.extra = 'top';
      vs.spec.unknownField = 'spec';
      vs.spec.http[0].unknownNested = { a: 1 };
      const res = await create(t, VS, vs);
      return { ...(answer(res) as object), warns: res.headers.warning !== undefined };
    },
  },
  {
    name: 'the status subresource of a Deployment',
    async run(t) {
      const created = (await create(t, DEPLOYMENTS, deployment('status-sub'))).body as Record<
        string,
        Json
      >;
      const getStatus = await rest(t.admin, 'GET', `${DEPLOYMENTS}/status-sub/status`);
      const withStatus = {
        ...created,
        status: { replicas: 2, readyReplicas: 2, availableReplicas: 2 },
      };
      const putStatus = await rest(t.admin, 'PUT', `${DEPLOYMENTS}/status-sub/status`, {
        body: withStatus,
      });
      const after = (await rest(t.admin, 'GET', `${DEPLOYMENTS}/status-sub`)).body as Record<
        string,
        Json
      >;
      const ignored = { ...after, status: { replicas: 9, readyReplicas: 0 } };
      const putMain = await rest(t.admin, 'PUT', `${DEPLOYMENTS}/status-sub`, { body: ignored });
      return {
        getStatus: getStatus.status,
        putStatus: putStatus.status,
        statusAfterStatusPut: (after as { status?: Json }).status ?? null,
        statusAfterMainPut: (putMain.body as { status?: Json }).status ?? null,
      };
    },
  },
  {
    name: 'a Deployment created with a status',
    async run(t) {
      const d = { ...deployment('born-ready'), status: { replicas: 2, readyReplicas: 2 } };
      const res = await create(t, DEPLOYMENTS, d);
      return { code: res.status, status: (res.body as { status?: Json }).status ?? null };
    },
  },
  {
    name: 'services proxy: a Service that does not exist, and one without endpoints',
    async run(t) {
      await create(t, SERVICES, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'lonely', namespace: NS },
        spec: { selector: { app: 'lonely' }, ports: [{ name: 'http', port: 80 }] },
      });
      const missing = await rest(t.admin, 'GET', `${SERVICES}/nothing:80/proxy/`);
      const empty = await rest(t.admin, 'GET', `${SERVICES}/lonely:80/proxy/`);
      const noPort = await rest(t.admin, 'GET', `${SERVICES}/lonely:81/proxy/`);
      return { missing: answer(missing), empty: answer(empty), noPort: answer(noPort) };
    },
  },
  {
    name: '403: a reader deletes a VirtualService',
    async run(t) {
      await create(t, VS, virtualService('keep-me'));
      return answer(await rest(t.reader, 'DELETE', `${VS}/keep-me`));
    },
  },
  {
    name: '401: an unknown token',
    run: async (t) =>
      answer(await rest({ ...t.reader, token: 'not-a-token' }, 'GET', `${VS}/keep-me`)),
  },
  {
    name: '404: create in a namespace that does not exist',
    async run(t) {
      const vs = virtualService('homeless') as { metadata: Record<string, Json> };
      vs.metadata.namespace = `${NS}-missing`;
      return answer(
        await create(
          t,
          `/apis/networking.istio.io/v1/namespaces/${NS}-missing/virtualservices`,
          vs,
        ),
      );
    },
  },
  {
    name: 'delete answers: a VirtualService, a Deployment',
    async run(t) {
      await create(t, VS, virtualService('delete-me'));
      await create(t, DEPLOYMENTS, deployment('delete-me'));
      const vs = await rest(t.admin, 'DELETE', `${VS}/delete-me`);
      const dep = await rest(t.admin, 'DELETE', `${DEPLOYMENTS}/delete-me`);
      return { vs: answer(vs), deployment: answer(dep) };
    },
  },
];

/** Removes what discovery says of watch and storage, which the double does not have. */
function withoutWatchAndStorage(observation: Json): Json {
  return JSON.parse(
    JSON.stringify(observation, (key, value: Json) => {
      if (key === 'storageVersionHash') return undefined;
      if (key === 'verbs' && Array.isArray(value))
        return (value as string[]).filter((v) => v !== 'watch' && v !== 'deletecollection');
      return value;
    }),
  ) as Json;
}

const DISCOVERY: Known = {
  why:
    'the double serves no watch and no deletecollection, so its discovery does not list them; ' +
    'storageVersionHash is an opaque hash of the storage version, which only the storage migrator reads',
  neutral: withoutWatchAndStorage,
};

/** Differences kept on purpose, by case name. docs/api-server-double.md explains each. */
const KNOWN: Record<string, Known> = {
  'discovery: /api and the core resources the tool uses': DISCOVERY,
  'discovery: networking.istio.io/v1 resources': DISCOVERY,
  'schema pruning: unknown fields are dropped, at the top and inside spec': {
    why:
      'the double validates Istio objects against schema models that cannot prune, so it keeps ' +
      'unknown fields (and sends no warning); the real server prunes them. The tool writes only fields it read, ' +
      'and the e2e suites on the real ground compare every restored route byte for byte',
    neutral: (o) => {
      const observation = structuredClone(o) as {
        warns: boolean;
        body: { extra?: Json; spec: Record<string, Json> & { http: Record<string, Json>[] } };
      };
      delete observation.body.extra;
      delete observation.body.spec.unknownField;
      delete observation.body.spec.http[0].unknownNested;
      observation.warns = false;
      return observation;
    },
  },
  'a Deployment created with a status': {
    why:
      'the double stands in for the deployment controller and kubelets: a Deployment without ' +
      'status is ready at once; the real server leaves status empty until it is written through ' +
      '/status, which the real ground does for its fixtures',
    neutral: (o) => ({ ...(o as object), status: null }),
  },
  '404: create in a namespace that does not exist': {
    why:
      'the double has no namespace lifecycle: it takes objects in any namespace; the tool never ' +
      'creates objects, so it never meets the real 404',
    neutral: (o, target) => {
      const { code, body } = o as { code: number; body: { reason?: string } };
      return target === 'double' ? code === 201 : code === 404 && body.reason === 'NotFound';
    },
  },
};

async function realTarget(): Promise<Target> {
  const admin = await clusterAdmin();
  const paths = new ResourcePaths(admin);
  await createOrReplace(admin, paths, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  });
  const metadata = { name: 'reader', namespace: NS };
  await createOrReplace(admin, paths, { apiVersion: 'v1', kind: 'ServiceAccount', metadata });
  await createOrReplace(admin, paths, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata,
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list'] }],
  });
  await createOrReplace(admin, paths, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NS }],
  });
  const token = await serviceAccountToken(admin, NS, 'reader');
  return { name: 'real', admin, reader: { server: admin.server, ca: admin.ca, token } };
}

describe('the API server double answers as kube-apiserver does', () => {
  let double: ApiServer;
  let targets: { double: Target; real: Target };
  before(async () => {
    double = await ApiServer.start();
    const base = { server: double.url, ca: double.caCert };
    const doubleTarget: Target = {
      name: 'double',
      admin: { ...base, token: double.adminToken },
      reader: { ...base, token: double.readOnlyToken },
    };
    await create(doubleTarget, '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    targets = { double: doubleTarget, real: await realTarget() };
  });
  after(async () => {
    await double?.stop();
    if (targets) await rest(targets.real.admin, 'DELETE', `/api/v1/namespaces/${NS}`);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const fromDouble = await c.run(targets.double);
      const fromReal = await c.run(targets.real);
      const known = KNOWN[c.name];
      if (!known) {
        assert.deepEqual(fromDouble, fromReal);
        return;
      }
      assert.notDeepEqual(fromDouble, fromReal, `no longer a difference: ${known.why}`);
      assert.deepEqual(
        known.neutral(fromDouble, 'double'),
        known.neutral(fromReal, 'real'),
        known.why,
      );
    });
  }
});
