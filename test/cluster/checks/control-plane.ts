/**
 * What istio-canary relies on from a real control plane, checked with the identity
 * examples/rbac.yaml grants: its reads and writes are allowed, nothing more is, a stale
 * resourceVersion is refused with a Conflict, and Istio's validation judges every write. Runs on the
 * test control plane (`npm run test:cluster`) and on a maintainer's cluster with Istio installed
 * (`KUBECONFIG=... npm run test:cluster`), in a namespace of its own that it deletes after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rest, type RestResponse } from '../rest.ts';
import {
  adminCreate,
  createScratchNamespace,
  pipelineRbac,
  type ScratchNamespace,
} from './scratch-namespace.ts';

interface Status {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { name?: string; group?: string; kind?: string };
}

function virtualService(namespace: string) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'backend', namespace },
    spec: {
      hosts: ['backend'],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: 'backend', subset: 'v1' }, weight: 100 },
            { destination: { host: 'backend', subset: 'v2' }, weight: 0 },
          ],
        },
      ],
    },
  };
}

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The rules of the Roles among `objects`. */
function rolesRules(objects: Record<string, unknown>[]): PolicyRule[] {
  return objects
    .filter((o) => o.kind === 'Role')
    .flatMap((o) => (o as { rules?: PolicyRule[] }).rules ?? []);
}

type Vs = ReturnType<typeof virtualService> & { metadata: { resourceVersion: string } };

describe('the control plane, as the examples/rbac.yaml identity sees it', () => {
  let scratch: ScratchNamespace;
  let vsPath: string;
  before(async () => {
    scratch = await createScratchNamespace();
    vsPath = `/apis/networking.istio.io/v1/namespaces/${scratch.name}/virtualservices/backend`;
    await adminCreate(scratch, virtualService(scratch.name));
    await adminCreate(scratch, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'backend', namespace: scratch.name },
      spec: {
        host: 'backend',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    });
  });
  after(() => scratch?.remove());

  const asPipeline = (method: string, path: string, body?: unknown, contentType?: string) =>
    rest(scratch.pipeline, method, path, { body, contentType });
  const read = async () => (await asPipeline('GET', vsPath)).body as Vs;
  const withWeights = (vs: Vs, v1: number, v2: number): Vs => {
    const next = structuredClone(vs);
    next.spec.http[0].route[0].weight = v1;
    next.spec.http[0].route[1].weight = v2;
    return next;
  };

  test('writes: a conditional PUT, the only write the tool makes, succeeds and moves resourceVersion', async () => {
    const current = await read();
    const put = await asPipeline('PUT', vsPath, withWeights(current, 90, 10));
    assert.equal(put.status, 200, put.text);
    const afterPut = put.body as Vs;
    assert.notEqual(afterPut.metadata.resourceVersion, current.metadata.resourceVersion);
    assert.deepEqual(
      afterPut.spec.http[0].route.map((d) => d.weight),
      [90, 10],
    );
  });

  test('conflicts: a PUT with a resourceVersion another writer replaced is refused with 409 Conflict', async () => {
    const stale = await read();
    const other = await rest(scratch.admin, 'PUT', vsPath, { body: withWeights(stale, 80, 20) });
    assert.equal(other.status, 200, other.text);
    const refused = await asPipeline('PUT', vsPath, withWeights(stale, 70, 30));
    assert.equal(refused.status, 409, refused.text);
    const status = refused.body as Status;
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.details?.name, 'backend');
    assert.equal(status.details?.group, 'networking.istio.io');
    assert.match(status.message, /the object has been modified/);
    assert.deepEqual(
      (await read()).spec.http[0].route.map((d) => d.weight),
      [80, 20],
      "the other writer's change stands",
    );
  });

  test('conflicts: a JSON Patch whose resourceVersion test fails changes nothing', async () => {
    // As the admin: the pipeline may not patch at all (the tool only ever PUTs).
    const current = await read();
    const patch = await rest(scratch.admin, 'PATCH', vsPath, {
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '1' },
        { op: 'replace', path: '/spec/http/0/route/0/weight', value: 0 },
      ],
      contentType: 'application/json-patch+json',
    });
    assert.ok(
      patch.status >= 400 && patch.status < 500 && patch.status !== 403,
      `${patch.status} ${patch.text}`,
    );
    assert.equal((await read()).metadata.resourceVersion, current.metadata.resourceVersion);
  });

  const rejectedByIstio = (res: RestResponse, pattern: RegExp) => {
    assert.equal(res.status, 400, res.text);
    const status = res.body as Status;
    assert.match(status.message, /admission webhook .* denied the request/);
    assert.match(status.message, pattern);
  };

  test('validation: Istio rejects a lookahead in a regex match, which RE2 cannot run', async () => {
    const vs = await read();
    (vs.spec.http[0] as Record<string, unknown>).match = [{ uri: { regex: '^/api/(?!internal)' } }];
    rejectedByIstio(await asPipeline('PUT', vsPath, vs), /regex|regexp/i);
  });

  test('validation: Istio rejects a negative weight, which the CRD schema lets through', async () => {
    rejectedByIstio(
      await asPipeline('PUT', vsPath, withWeights(await read(), 105, -5)),
      /weight -5 < 0/,
    );
  });

  test('RBAC: the verbs examples/rbac.yaml grants are allowed, and the ones it does not are forbidden', async () => {
    const ns = scratch.name;
    const allowed = async (verb: string, group: string, resource: string, name?: string) => {
      const res = await asPipeline(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace: ns, verb, group, resource, name } },
        },
      );
      assert.equal(res.status, 201, res.text);
      return (res.body as { status: { allowed: boolean } }).status.allowed;
    };
    // Every verb the manifest's Role grants is allowed; every other verb on the same resources,
    // and anything on a resource it does not name, is not.
    const everyVerb = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
    const granted = new Set<string>();
    for (const rule of rolesRules(pipelineRbac(ns))) {
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of everyVerb) {
            const grants = rule.verbs.includes(verb);
            if (grants) granted.add(`${verb} ${group}/${resource}`);
            if (!grants && granted.has(`${verb} ${group}/${resource}`)) continue;
            assert.equal(
              await allowed(verb, group, resource),
              grants,
              `${verb} ${group}/${resource}: ${grants ? 'granted' : 'not granted'} by the manifest`,
            );
          }
    }
    assert.ok(
      granted.has('update networking.istio.io/virtualservices'),
      'the manifest grants update',
    );
    for (const [verb, group, resource] of [
      ['update', 'apps', 'deployments'],
      ['get', '', 'secrets'],
    ])
      assert.equal(await allowed(verb, group, resource), false, `${verb} ${resource}`);

    const denied = await asPipeline('DELETE', vsPath);
    assert.equal(denied.status, 403, denied.text);
    const status = denied.body as Status;
    assert.equal(status.reason, 'Forbidden');
    assert.equal(status.details?.name, 'backend');
    assert.equal(status.details?.group, 'networking.istio.io');
    assert.match(status.message, /cannot delete resource "virtualservices"/);
  });
});
