import assert from 'node:assert/strict';
import type http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { runCli } from '../helpers/cli-runner.ts';
import { startHostile, trickle } from '../helpers/hostile-servers.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, resetShop } from '../helpers/shop.ts';

const FRONTEND_RPS = 100;

/**
 * A Prometheus in front of the sandbox's real one: it passes queries through until told to
 * trickle, then answers every query one byte a second.
 */
async function switchablePrometheus(upstream: string) {
  let trickling = false;
  const slow = trickle(1000);
  const server = await startHostile((req, res, count) => {
    if (trickling) return slow(req, res, count);
    void forward(upstream, req, res);
  });
  return {
    server,
    startTrickling: () => (trickling = true),
  };
}

async function forward(
  upstream: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const answer = await fetch(`${upstream}${req.url ?? '/'}`, {
    method: req.method,
    headers: { 'content-type': req.headers['content-type'] ?? 'text/plain' },
    body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
  });
  res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
  res.end(Buffer.from(await answer.arrayBuffer()));
}

describe(
  'deadlines end to end (dist/cli.js, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let workdir: string;
    let prometheus: Awaited<ReturnType<typeof switchablePrometheus>>;
    let step: (weight: string, duration: string) => string[];

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: FRONTEND_RPS });
      workdir = mkdtempSync(join(tmpdir(), 'istio-canary-deadlines-'));
      const kubeconfig = join(workdir, 'kubeconfig');
      writeFileSync(kubeconfig, sandbox.kubeconfig, { mode: 0o600 });
      prometheus = await switchablePrometheus(sandbox.prometheusUrl);
      // Reads `prometheus` when called: each test gets a fresh one.
      step = (weight, duration) => [
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
        weight,
        '--duration',
        duration,
        '--interval',
        '2s',
        '--min-requests',
        '10',
        '--prometheus-url',
        prometheus.server.url,
      ];
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(async () => {
      await prometheus?.server.close();
      await sandbox?.stop();
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      resetShop(sandbox, FRONTEND_RPS);
      await prometheus.server.close();
      prometheus = await switchablePrometheus(sandbox.prometheusUrl);
    });

    const env = (extra: Record<string, string>) => ({ ISTIO_CANARY_REPORT_DIR: workdir, ...extra });

    test('a Prometheus that starts trickling mid-watch is cut at the call deadline; the route is restored', async () => {
      const run = await runCli(step('10', '60s'), {
        env: env({ ISTIO_CANARY_CALL_TIMEOUT: '3s' }),
        onOutput: (output) => {
          if (/\] w=10% /.test(output)) prometheus.startTrickling();
        },
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        new RegExp(
          `Metrics could not be read after the weights moved.*Prometheus query at ${prometheus.server.url} did not complete within 3s`,
        ),
      );
      assert.ok(prometheus.server.bytesSent() > 0, 'Prometheus did trickle');
      assertRestored(backendVs(sandbox));
    });

    test('a Kubernetes GET that hangs between two stages is cut at the call deadline; the route is restored', async () => {
      let injected = false;
      const run = await runCli(step('10,20', '4s'), {
        env: env({ ISTIO_CANARY_CALL_TIMEOUT: '3s' }),
        onOutput: (output) => {
          if (injected || !/Watching for/.test(output)) return;
          injected = true;
          sandbox.api.injectFault({
            method: 'GET',
            pathPattern: /\/virtualservices\/backend$/,
            status: 0,
            hang: true,
            count: 1,
          });
        },
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /error: GET virtualservices\/backend in shop on https:\/\/127\.0\.0\.1:\d+ did not complete within 3s/,
      );
      assert.match(run.stdout, /Writing the stage failed; restoring shop\/backend/);
      assertRestored(backendVs(sandbox));
    });

    test('a step past its planned watches and grace restores and fails, naming the call that hangs', async () => {
      const run = await runCli(step('10', '4s'), {
        env: env({ ISTIO_CANARY_STEP_GRACE: '3s' }),
        onOutput: (output) => {
          if (/\] w=10% /.test(output)) prometheus.startTrickling();
        },
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const deadline = new RegExp(
        `The step ran past its deadline of 7s \\(4s of watches planned, 3s of grace\\); the call still running: Prometheus query at ${prometheus.server.url} \\(running for [\\d.]+s\\)`,
      );
      assert.match(run.stderr, deadline);
      assert.match(run.stdout, /Result: rolled-back - The step ran past its deadline/);
      assertRestored(backendVs(sandbox));
    });
  },
);
