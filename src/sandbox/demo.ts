// `npm run demo`: the local sandbox and a short pipeline against it, as a user would see it in
// CI logs. A healthy canary goes 10% -> 50% -> promote; then a faulty one is rolled back.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HTTPRoute, VirtualService } from '../istio/types.ts';
import { backendVirtualService, SHOP, shopClients } from './fixtures.ts';
import { prometheusUnavailableMessage, waitForSeries } from './prometheus.ts';
import { startSandbox, type Sandbox } from './sandbox.ts';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const WATCH = ['--duration', '8s', '--interval', '2s', '--min-requests', '10'];

// SANDBOX_PROMETHEUS=off shows the run a machine without Prometheus gets.
const mode = process.env.SANDBOX_PROMETHEUS === 'off' ? 'off' : 'auto';
const sandbox = await startSandbox({ prometheus: mode, rps: 100 });
const workdir = mkdtempSync(join(tmpdir(), 'istio-canary-demo-'));
try {
  await introduce(sandbox, workdir);
  await healthyPipeline(sandbox, workdir);
  await faultyPipeline(sandbox, workdir);
} finally {
  await sandbox.stop();
  rmSync(workdir, { recursive: true, force: true });
}

async function introduce(sandbox: Sandbox, dir: string): Promise<void> {
  writeFileSync(join(dir, 'kubeconfig'), sandbox.kubeconfig, { mode: 0o600 });
  banner('Sandbox');
  say(`Kubernetes API (HTTPS, in-process): ${sandbox.api.url}`);
  say(
    'Namespace shop: Deployments backend-v1 (3 pods) and backend-v2 (1 pod), DestinationRule with subsets v1/v2.',
  );
  say(
    `Simulated mesh: frontend -> backend at 100 rps, testers with header x-canary: tester, /reviews to another service.`,
  );
  if (sandbox.realPrometheus) {
    say(`Prometheus (real, scraping the mesh every second): ${sandbox.prometheusUrl}`);
    await waitForSeries(
      sandbox.prometheusUrl,
      'istio_requests_total{destination_workload="backend-v1"}',
      20_000,
    );
  } else {
    const why = mode === 'off' ? 'SANDBOX_PROMETHEUS=off' : prometheusUnavailableMessage;
    say(`Prometheus: ${why}; reading the simulator's counters through the same HTTP API instead.`);
    await new Promise((r) => setTimeout(r, 1500));
  }
  say(
    `The step reaches Prometheus as k8s://istio-system/prometheus:9090, through the API server's service proxy.`,
  );
  say(`VirtualService shop/backend, route "primary": ${describe(primary(sandbox))}`);
}

async function healthyPipeline(sandbox: Sandbox, dir: string): Promise<void> {
  banner('Pipeline 1: a healthy canary');
  await job(dir, 'canary-10', ['step', '--weight', '10', ...WATCH]);
  say(`route "primary" is now: ${describe(primary(sandbox))}`);
  gate('canary-50');
  await job(dir, 'canary-50', ['step', '--weight', '50', ...WATCH]);
  say(`route "primary" is now: ${describe(primary(sandbox))}`);
  gate('promote');
  await job(dir, 'promote', ['promote']);
  say(`route "primary" is now: ${describe(primary(sandbox))}`);
}

async function faultyPipeline(sandbox: Sandbox, dir: string): Promise<void> {
  banner('Pipeline 2: a faulty canary (v2 answers 25% of requests with 500)');
  sandbox.api.put(backendVirtualService());
  sandbox.simulator.setClients(shopClients(100));
  sandbox.simulator.setBehaviour('backend-v2', {
    errorRate: 0.25,
    latencyMs: { median: 20, p99: 100 },
  });
  say(`route "primary" before: ${describe(primary(sandbox))}`);
  const code = await job(dir, 'canary-10', [
    'step',
    '--weight',
    '10',
    '--duration',
    '60s',
    '--interval',
    '2s',
    '--min-requests',
    '10',
  ]);
  say(`route "primary" after: ${describe(primary(sandbox))}`);
  const restored =
    JSON.stringify(current(sandbox).spec) === JSON.stringify(backendVirtualService().spec);
  say(
    `job exit code ${code}: the pipeline stops here. VirtualService spec identical to the original: ${restored ? 'yes' : 'NO'}.`,
  );
}

/** Runs one pipeline job: the bundled CLI, as GitLab or any other CI would run it. */
function job(dir: string, name: string, args: string[]): Promise<number> {
  banner(`job ${name}: istio-canary ${args.join(' ')}`);
  const env = {
    ...process.env,
    ISTIO_CANARY_KUBECONFIG: join(dir, 'kubeconfig'),
    ISTIO_CANARY_VIRTUAL_SERVICE: 'backend',
    ISTIO_CANARY_STABLE_SUBSET: 'v1',
    ISTIO_CANARY_CANARY_SUBSET: 'v2',
    ISTIO_CANARY_REPORT_DIR: dir,
    ISTIO_CANARY_RUN_ID: `demo/${name}`,
  };
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((done) => child.on('exit', (code) => done(code ?? 1)));
}

function current(sandbox: Sandbox): VirtualService {
  return sandbox.api.get('virtualservices', SHOP, 'backend') as unknown as VirtualService;
}

function primary(sandbox: Sandbox): HTTPRoute {
  return current(sandbox).spec.http!.find((r) => r.name === 'primary')!;
}

function describe(route: HTTPRoute): string {
  return (route.route ?? [])
    .map(
      (d) =>
        `${d.destination.host}${d.destination.subset ? `/${d.destination.subset}` : ''} ${d.weight ?? 100}%`,
    )
    .join(', ');
}

function gate(next: string): void {
  say(
    `--- manual gate before ${next}: approved (a reviewer clicks "approve" here in a real pipeline) ---`,
  );
}

function banner(text: string): void {
  process.stdout.write(`\n=== ${text} ===\n`);
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}
