/**
 * examples/rbac.yaml is exactly enough: with one verb less, the real authorizer refuses the write
 * and the built CLI says so in one clear "forbidden" line naming what it needs, writes nothing, and
 * prints no stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SHOP } from '../../../src/sandbox/fixtures.ts';
import { waitForSeries } from '../../../src/sandbox/prometheus.ts';
import { clusterAdmin, serviceAccountToken } from '../../helpers/cluster-ground.ts';
import { startSandbox, type Sandbox } from '../../helpers/ground.ts';
import { skipWithoutPrometheus } from '../../helpers/sandbox.ts';
import { assertRestored, backendVs } from '../../helpers/shop.ts';
import { createOrReplace, ResourcePaths } from '../resources.ts';
import { pipelineRbac } from './scratch-namespace.ts';

const CLI = resolve(import.meta.dirname, '../../../dist/cli.js');
const ACCOUNT = 'istio-canary-without-patch';

/** examples/rbac.yaml's shop Role for another account, without update and patch on virtualservices. */
function rbacWithoutVirtualServiceWrites(): Record<string, unknown>[] {
  return pipelineRbac(SHOP).map((object) => {
    const copy = JSON.parse(
      JSON.stringify(object).replaceAll('"istio-canary"', `"${ACCOUNT}"`),
    ) as Record<string, unknown> & { rules?: { resources: string[]; verbs: string[] }[] };
    if (copy.kind === 'Role')
      for (const rule of copy.rules ?? [])
        if (rule.resources.includes('virtualservices'))
          rule.verbs = rule.verbs.filter((v) => v !== 'update' && v !== 'patch');
    return copy;
  });
}

describe('a Role missing a verb', { skip: skipWithoutPrometheus() }, () => {
  let sandbox: Sandbox;
  let workdir: string;
  let kubeconfig: string;
  before(async () => {
    sandbox = await startSandbox({ prometheus: 'required', rps: 100 });
    const admin = await clusterAdmin();
    const paths = new ResourcePaths(admin);
    for (const object of rbacWithoutVirtualServiceWrites())
      await createOrReplace(admin, paths, object);
    // The Prometheus part of examples/rbac.yaml, for this account too.
    await createOrReplace(admin, paths, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: ACCOUNT, namespace: 'istio-system' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'istio-canary-prometheus',
      },
      subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: SHOP }],
    });
    const token = await serviceAccountToken(admin, SHOP, ACCOUNT);
    workdir = mkdtempSync(join(tmpdir(), 'istio-canary-missing-verb-'));
    kubeconfig = join(workdir, 'kubeconfig');
    writeFileSync(kubeconfig, sandbox.api.kubeconfig({ token, namespace: SHOP }), { mode: 0o600 });
    await waitForSeries(sandbox.prometheusUrl, 'istio_requests_total', 20_000);
  });
  after(async () => {
    await sandbox?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  test('without update and patch on virtualservices, the step fails with "forbidden" and writes nothing', async () => {
    // Spawned, not spawnSync: the recording proxy the CLI talks to runs on this event loop.
    const run = await runCli(
      [
        'step',
        '--kubeconfig',
        kubeconfig,
        '--virtual-service',
        'backend',
        '--stable-subset',
        'v1',
        '--canary-subset',
        'v2',
        '--weight',
        '10',
        '--duration',
        '0',
      ],
      workdir,
    );
    const output = run.stdout + run.stderr;
    assert.equal(run.code, 1, output);
    assert.match(output, /failed: forbidden/);
    assert.match(
      output,
      /cannot (update|patch) resource "virtualservices"/,
      'the real server says which verb',
    );
    assert.match(
      output,
      /The credentials need the rules examples\/rbac\.yaml grants/,
      'the message says where the rules the tool needs are',
    );
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
    assertRestored(backendVs(sandbox));
    const writes = sandbox.api.requests.filter((r) => r.method !== 'GET' && r.status < 400);
    assert.deepEqual(writes, [], 'no write went through');
  });
});

/** Runs the built CLI to its end; stdout, stderr and the exit code. */
function runCli(
  args: string[],
  reportDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ISTIO_CANARY_REPORT_DIR: reportDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
