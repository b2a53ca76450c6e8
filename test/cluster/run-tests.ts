/**
 * `npm run test:cluster`. Without KUBECONFIG: builds and starts the control plane (as `npm run
 * cluster` does), then runs the end-to-end suites on it (ISTIO_CANARY_GROUND=cluster) and the
 * control-plane checks, and stops it. With KUBECONFIG set: runs only the control-plane checks
 * (writes, Istio validation, RBAC, conflicts) against that cluster, which must have Istio's CRDs
 * and webhook installed; nothing is started, and the checks work in a namespace of their own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startControlPlane } from './control-plane.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** The end-to-end suites that run on the real ground too. */
export const E2E_SUITES = [
  'test/e2e/action.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/gitlab.test.ts',
  'test/e2e/traffic-shaping.test.ts',
  'test/e2e/cleanup.test.ts',
];

/** Checks of the real server itself and of the double against it (local control plane only). */
export const LOCAL_CHECKS = [
  'test/cluster/checks/double-matches-real.ts',
  'test/cluster/checks/prometheus-service-proxy.ts',
  'test/cluster/checks/missing-verb.ts',
];

/** Checks that also run against a maintainer's own cluster. */
export const CONTROL_PLANE_CHECKS = ['test/cluster/checks/control-plane.ts'];

function nodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
      cwd: ROOT,
      env,
      stdio: 'inherit',
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

async function main(): Promise<number> {
  const log = (line: string) => process.stderr.write(`test:cluster: ${line}\n`);
  if (process.env.KUBECONFIG) {
    log(
      `running the control-plane checks against the cluster of KUBECONFIG=${process.env.KUBECONFIG}`,
    );
    return nodeTest(CONTROL_PLANE_CHECKS, {
      ...process.env,
      ISTIO_CANARY_GROUND: 'cluster',
      ISTIO_CANARY_CLUSTER_KUBECONFIG: process.env.KUBECONFIG,
    });
  }
  const started = performance.now();
  const plane = await startControlPlane({ log });
  for (const build of plane.builds)
    log(`${build.name}: ${build.built ? `built in ${build.seconds} s` : 'current'}`);
  log(`control plane ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'istio-canary-test-cluster-'));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stop().then(() => process.exit(130)));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, plane.kubeconfig, { mode: 0o600 });
    const files = process.argv.slice(2);
    return await nodeTest(
      files.length > 0 ? files : [...CONTROL_PLANE_CHECKS, ...LOCAL_CHECKS, ...E2E_SUITES],
      {
        ...process.env,
        ISTIO_CANARY_GROUND: 'cluster',
        ISTIO_CANARY_CLUSTER_KUBECONFIG: kubeconfig,
      },
    );
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `test:cluster: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
