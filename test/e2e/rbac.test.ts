import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { DestinationRule } from '../../src/istio/types.ts';
import type { RequestAttributes } from '../../src/sandbox/apiserver-auth.ts';
import type { RequestRecord } from '../../src/sandbox/apiserver.ts';
import {
  grantsFor,
  policyFromManifest,
  type RbacPolicy,
} from '../../src/sandbox/apiserver-rbac.ts';
import {
  backendVirtualService,
  hostsVirtualService,
  SHOP,
  shapingObjects,
  shopObjects,
} from '../../src/sandbox/fixtures.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { runAction, type ActionRun } from '../helpers/action-runner.ts';
import { assertExactly } from '../helpers/shop.ts';

const MANIFEST = resolve(import.meta.dirname, '../../examples/rbac.yaml');
const PAYMENTS = 'payments';

/** The manifest's documents, as the API server would receive them. */
function manifest(): unknown[] {
  return parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as unknown);
}

/** `ledger` in payments: a dependent of backend's rollout, in another namespace. */
function ledgerObjects(): Record<string, unknown>[] {
  return [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'ledger', namespace: PAYMENTS },
      spec: {
        host: 'ledger',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'ledger', namespace: PAYMENTS },
      spec: {
        hosts: ['ledger'],
        http: [{ name: 'main', route: [{ destination: { host: 'ledger', subset: 'v1' } }] }],
      },
    },
  ];
}

/** One call as RBAC sees it: `update virtualservices.networking.istio.io shop/backend`. */
function describeCall(a: RequestAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const group = a.group === '' ? '' : `.${a.group}`;
  const where = a.namespace === undefined ? '(cluster)' : a.namespace;
  return `${a.verb} ${resource}${group} ${where}${a.name ? `/${a.name}` : ''}`;
}

/**
 * Every command the tool has, run through dist/ as the pipeline's ServiceAccount with exactly the
 * rules of examples/rbac.yaml: each call must be allowed, and every verb the manifest grants must
 * be used by some call, so the manifest is what the code needs and no more.
 */
describe('examples/rbac.yaml against the calls every command makes (dist/, sandbox)', () => {
  let sandbox: Sandbox;
  let policy: RbacPolicy;
  let kubeconfig: string;
  /** Calls per command, in the order the commands ran. */
  const calls = new Map<string, RequestRecord[]>();

  before(async () => {
    policy = policyFromManifest(manifest(), { namespace: SHOP, name: 'istio-canary' });
    const token = randomBytes(24).toString('base64url');
    sandbox = await startSandbox({ prometheus: 'off', rps: 40, tokens: { [token]: policy } });
    for (const object of [...shapingObjects(), ...ledgerObjects()]) sandbox.api.put(object);
    kubeconfig = sandbox.api.kubeconfig({ token, namespace: SHOP });
  });
  after(() => sandbox?.stop());

  const subsets = { 'virtual-service': 'backend', 'stable-subset': 'v1', 'canary-subset': 'v2' };
  const watch = { duration: '4s', interval: '2s', 'min-requests': '1', 'on-no-data': 'pass' };

  /** Runs one command as the ServiceAccount and files its calls under `label`. */
  async function run(
    label: string,
    inputs: Record<string, string>,
    options: { killWhen?: RegExp; state?: Record<string, string>; entry?: 'main' | 'post' } = {},
  ): Promise<ActionRun & { workdir: string }> {
    const from = sandbox.api.requests.length;
    const result = await runAction(options.entry ?? 'main', {
      inputs: { kubeconfig, ...inputs },
      killWhen: options.killWhen,
      state: options.state,
    });
    calls.set(label, [...(calls.get(label) ?? []), ...sandbox.api.requests.slice(from)]);
    return result;
  }

  function assertPassed(run: ActionRun, label: string): void {
    assert.equal(run.code, 0, `${label}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    assert.doesNotMatch(run.stdout, /forbidden/i, `${label}: a call was forbidden`);
  }

  test('every command passes with the manifest’s rules alone', async () => {
    const dependents = `- {virtual-service: ledger, namespace: ${PAYMENTS}, stable-subset: v1, canary-subset: v2}`;
    const steps: [string, Record<string, string>][] = [
      [
        'step',
        {
          ...subsets,
          ...watch,
          weight: '10',
          dependents,
          'canary-match': '- headers: {x-qa: {exact: "1"}}',
        },
      ],
      ['status', { ...subsets, command: 'status' }],
      ['rollback', { ...subsets, command: 'rollback' }],
      ['step (dry run)', { ...subsets, weight: '10', duration: '0', 'dry-run': 'true' }],
      ['step', { ...subsets, weight: '50', duration: '0', dependents }],
      [
        'promote (dry run, cleanup)',
        { ...subsets, command: 'promote', cleanup: 'true', 'dry-run': 'true' },
      ],
      ['promote (cleanup)', { ...subsets, command: 'promote', cleanup: 'true' }],
    ];
    for (const [label, inputs] of steps) assertPassed(await run(label, inputs), label);
    assert.deepEqual(
      (sandbox.api.get('destinationrules', SHOP, 'backend') as unknown as DestinationRule).spec
        .subsets,
      [{ name: 'v2', labels: { version: 'v2' } }],
      'the clean-up could check every namespace, so it removed v1',
    );

    const hosts = {
      'virtual-service': 'backend-hosts',
      'stable-host': 'backend-stable',
      'canary-host': 'backend-canary',
    };
    assertPassed(
      await run('step (host canary)', { ...hosts, weight: '10', duration: '0' }),
      'host step',
    );
    assertPassed(
      await run('promote (host canary)', { ...hosts, command: 'promote' }),
      'host promote',
    );

    // A job killed after the first write: the post step restores what its own run wrote.
    sandbox.api.put(shopObjects().find((o) => o.kind === 'DestinationRule')!);
    sandbox.api.put(backendVirtualService());
    sandbox.api.put(hostsVirtualService());
    const killed = await run(
      'step (killed)',
      { ...subsets, ...watch, weight: '10', duration: '30s' },
      {
        killWhen: /Weights set/,
      },
    );
    assert.equal(killed.signal, 'SIGKILL');
    const post = await run(
      'post',
      { ...subsets, weight: '10' },
      { entry: 'post', state: killed.state },
    );
    assertPassed(post, 'post');
    assertExactly(
      sandbox.api.get('virtualservices', SHOP, 'backend') as never,
      backendVirtualService(),
    );
  });

  test('every call was allowed, and every verb the manifest grants was used', () => {
    const all = [...calls.values()].flat();
    assert.ok(all.length > 0, 'the commands ran first');
    const denied = all.filter((r) => r.status === 403);
    assert.deepEqual(
      denied.map((r) => `${r.method} ${r.path}`),
      [],
      'calls the manifest forbids',
    );
    assert.ok(
      all.every((r) => r.user === undefined || r.user === policy.user),
      'every call was made as the ServiceAccount',
    );

    const unused: string[] = [];
    for (const grant of policy.grants) {
      for (const resource of grant.rule.resources) {
        for (const verb of grant.rule.verbs) {
          const names = grant.rule.resourceNames.length > 0 ? grant.rule.resourceNames : [''];
          for (const name of names) {
            const used = all.some(
              (r) =>
                r.attributes !== undefined &&
                grantsFor({ ...policy, grants: [grant] }, r.attributes).length > 0 &&
                r.attributes.verb === verb &&
                [
                  r.attributes.resource,
                  `${r.attributes.resource}/${r.attributes.subresource}`,
                ].includes(resource) &&
                (name === '' || r.attributes.name === name),
            );
            if (!used) unused.push(`${grant.source}: ${verb} ${resource}${name ? ` ${name}` : ''}`);
          }
        }
      }
    }
    assert.deepEqual(unused, [], 'rules of the manifest no command used');
  });

  test('each command makes the calls the manifest’s comments say', (t) => {
    const byCommand = new Map<string, Set<string>>();
    for (const [label, records] of calls) {
      const command = label.split(' ')[0];
      const set = byCommand.get(command) ?? new Set<string>();
      for (const r of records) {
        if (r.attributes)
          set.add(
            describeCall({
              ...r.attributes,
              name: r.attributes.verb === 'list' ? '' : r.attributes.name,
            }),
          );
      }
      byCommand.set(command, set);
    }
    const list = (command: string) => [...(byCommand.get(command) ?? [])].sort();
    for (const command of byCommand.keys()) t.diagnostic(`${command}: ${list(command).join('; ')}`);
    // Read-only commands never write.
    assert.ok(
      list('status').every((c) => c.startsWith('get ') || c.startsWith('list ')),
      list('status').join('\n'),
    );
    // Only promote with cleanup lists VirtualServices, and it lists them across the cluster.
    for (const command of byCommand.keys()) {
      const clusterList = list(command).includes(
        'list virtualservices.networking.istio.io (cluster)',
      );
      assert.equal(clusterList, command === 'promote', `${command}:\n${list(command).join('\n')}`);
    }
    // The dependent's namespace is read and written by step and rollback.
    for (const command of ['step', 'rollback']) {
      assert.ok(
        list(command).includes(`update virtualservices.networking.istio.io ${PAYMENTS}/ledger`),
        command,
      );
    }
    // Prometheus is reached through the service proxy, by step only.
    for (const command of byCommand.keys()) {
      const proxy = list(command).some((c) => c.startsWith('get services/proxy istio-system'));
      assert.equal(proxy, command === 'step', `${command}:\n${list(command).join('\n')}`);
    }
  });
});
