// node:test registers tests synchronously; the promises describe() and it() return belong to the runner.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { ForbiddenError } from '../../src/errors.ts';
import { createCluster } from '../../src/kube/client.ts';
import { MemoryLogger } from '../../src/logger.ts';
import type { RequestAttributes } from '../../src/sandbox/apiserver-auth.ts';
import { ApiServer } from '../../src/sandbox/apiserver.ts';
import { grantsFor, policyFromManifest } from '../../src/sandbox/apiserver-rbac.ts';

const SA = { namespace: 'shop', name: 'deployer' };
const subject = { kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' };

const MANIFEST = [
  {
    kind: 'Role',
    metadata: { name: 'edit-routes', namespace: 'shop' },
    rules: [{ apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get'] }],
  },
  {
    kind: 'RoleBinding',
    metadata: { name: 'edit-routes', namespace: 'shop' },
    roleRef: { kind: 'Role', name: 'edit-routes' },
    subjects: [subject],
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'proxy' },
    rules: [
      {
        apiGroups: [''],
        resources: ['services/proxy'],
        resourceNames: ['prom:9090'],
        verbs: ['get'],
      },
    ],
  },
  {
    kind: 'RoleBinding',
    metadata: { name: 'proxy', namespace: 'monitoring' },
    roleRef: { kind: 'ClusterRole', name: 'proxy' },
    subjects: [subject],
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'list-routes' },
    rules: [
      { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['list'] },
    ],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'list-routes' },
    roleRef: { kind: 'ClusterRole', name: 'list-routes' },
    subjects: [{ kind: 'Group', name: 'system:serviceaccounts:shop' }],
  },
  {
    kind: 'RoleBinding',
    metadata: { name: 'someone-else', namespace: 'shop' },
    roleRef: { kind: 'Role', name: 'edit-routes' },
    subjects: [{ kind: 'ServiceAccount', name: 'other', namespace: 'shop' }],
  },
];

function attrs(overrides: Partial<RequestAttributes>): RequestAttributes {
  return {
    verb: 'get',
    group: 'networking.istio.io',
    resource: 'virtualservices',
    namespace: 'shop',
    name: 'backend',
    ...overrides,
  };
}

void describe('RBAC from a manifest', () => {
  const policy = policyFromManifest(MANIFEST, SA);

  void it('names the ServiceAccount as the API server does', () => {
    assert.equal(policy.user, 'system:serviceaccount:shop:deployer');
    assert.equal(
      policyFromManifest(MANIFEST, { namespace: 'shop', name: 'other' }).grants.length,
      2,
    );
  });

  void it('grants a Role in its binding’s namespace only', () => {
    assert.equal(grantsFor(policy, attrs({})).length, 1);
    assert.equal(grantsFor(policy, attrs({ namespace: 'payments' })).length, 0);
    assert.equal(grantsFor(policy, attrs({ verb: 'update' })).length, 0);
  });

  void it('grants a ClusterRole bound by a RoleBinding in that namespace, by resource name', () => {
    const proxy = attrs({
      group: '',
      resource: 'services',
      subresource: 'proxy',
      name: 'prom:9090',
    });
    assert.equal(grantsFor(policy, { ...proxy, namespace: 'monitoring' }).length, 1);
    assert.equal(grantsFor(policy, { ...proxy, namespace: 'shop' }).length, 0);
    assert.equal(grantsFor(policy, { ...proxy, namespace: 'monitoring', name: 'prom' }).length, 0);
  });

  void it('grants a ClusterRoleBinding everywhere, the cluster scope included, to a group', () => {
    assert.equal(
      grantsFor(policy, attrs({ verb: 'list', namespace: undefined, name: '' })).length,
      1,
    );
    assert.equal(
      grantsFor(policy, attrs({ verb: 'list', namespace: 'payments', name: '' })).length,
      1,
    );
  });
});

void describe('the sandbox API server under an RBAC policy', () => {
  let api: ApiServer;
  const token = 'deployer-token';

  before(async () => {
    api = await ApiServer.start({
      tokens: { [token]: policyFromManifest(MANIFEST.slice(0, 2), SA) },
    });
    for (const namespace of ['shop', 'payments']) {
      api.put({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'backend', namespace },
        spec: { hosts: ['backend'], http: [{ route: [{ destination: { host: 'backend' } }] }] },
      });
    }
  });
  after(() => api?.stop());

  void it('lists every namespace for a cluster-wide list, and records who asked', async () => {
    const admin = createCluster({
      kubeconfig: api.kubeconfig(),
      clock: systemClock,
      logger: new MemoryLogger(),
    });
    const all = await admin.listAllVirtualServices();
    assert.deepEqual(all.map((vs) => vs.metadata.namespace).sort(), ['payments', 'shop']);
    const last = api.requests.at(-1)!;
    assert.equal(last.user, 'admin');
    assert.deepEqual(last.attributes, {
      verb: 'list',
      group: 'networking.istio.io',
      resource: 'virtualservices',
      namespace: undefined,
      name: '',
    });
  });

  void it('refuses what the policy does not grant, worded like RBAC, naming the ServiceAccount', async () => {
    const cluster = createCluster({
      kubeconfig: api.kubeconfig({ token }),
      clock: systemClock,
      logger: new MemoryLogger(),
    });
    assert.equal((await cluster.getVirtualService('shop', 'backend')).metadata.name, 'backend');
    await assert.rejects(
      () => cluster.listAllVirtualServices(),
      (error: unknown) =>
        error instanceof ForbiddenError &&
        /User "system:serviceaccount:shop:deployer" cannot list resource "virtualservices" in API group "networking.istio.io" at the cluster scope/.test(
          error.message,
        ),
    );
    assert.equal(api.requests.at(-1)!.status, 403);
    assert.equal(api.requests.at(-1)!.user, 'system:serviceaccount:shop:deployer');
  });
});
