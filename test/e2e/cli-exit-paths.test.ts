import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { parseDotenv, runCli } from '../helpers/cli-runner.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, resetShop } from '../helpers/shop.ts';

const FRONTEND_RPS = 100;
const PLANTED = resolve(import.meta.dirname, '../helpers/planted-fault.ts');

describe(
  'CLI exit paths end to end (dist/cli.js, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let workdir: string;
    let step: (weight: string, duration: string) => string[];
    let target: string[];

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: FRONTEND_RPS });
      workdir = mkdtempSync(join(tmpdir(), 'istio-canary-exit-paths-'));
      const kubeconfig = join(workdir, 'kubeconfig');
      writeFileSync(kubeconfig, sandbox.kubeconfig, { mode: 0o600 });
      target = ['--kubeconfig', kubeconfig, '--virtual-service', 'backend'];
      step = (weight, duration) => [
        'step',
        ...target,
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
      ];
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(async () => {
      await sandbox?.stop();
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    });
    beforeEach(() => resetShop(sandbox, FRONTEND_RPS));

    const env = (extra: Record<string, string> = {}) => ({
      ISTIO_CANARY_REPORT_DIR: workdir,
      ...extra,
    });

    test('stdout closed mid-watch (| head -6): the step goes on, finishes and exits 0', async () => {
      const dotenv = join(workdir, 'epipe.env');
      const run = await runCli([...step('10', '6s'), '--dotenv', dotenv], {
        env: env(),
        onOutput: (output, control) => {
          if (output.split('\n').length > 6) control.closeStdout();
        },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /EPIPE|\n\s+at /);
      const outputs = parseDotenv(readFileSync(dotenv, 'utf8'));
      assert.equal(outputs.ISTIO_CANARY_OUTPUT_RESULT, 'passed', 'the watch ran to its end');
      const report = JSON.parse(readFileSync(outputs.ISTIO_CANARY_OUTPUT_REPORT, 'utf8')) as {
        checks: unknown[];
      };
      assert.ok(report.checks.length >= 2, 'checks were made after stdout closed');
    });

    test('status and --help with stdout closed do not crash', async () => {
      for (const args of [
        ['status', ...target],
        ['step', '--help'],
      ]) {
        const run = await runCli(args, { env: env(), closeStdoutAtStart: true });
        assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
        assert.equal(run.stderr, '', `${args.join(' ')} printed to stderr`);
      }
    });

    for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
      test(`${signal} mid-watch restores the route byte for byte and exits non-zero by itself`, async () => {
        const run = await runCli(step('10', '60s'), {
          env: env(),
          onOutput: (output, control) => /\] w=10% /.test(output) && control.signal(signal),
        });
        assert.equal(run.signal, null, 'not killed by the signal');
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stderr, new RegExp(`Received ${signal}: restoring the original route`));
        assertRestored(backendVs(sandbox));
      });
    }

    for (const fault of ['exception', 'rejection'] as const) {
      test(`an uncaught ${fault} mid-watch restores the route and exits non-zero`, async () => {
        const run = await runCli(step('10', '60s'), {
          env: env({
            NODE_OPTIONS: `--import=${PLANTED}`,
            PLANTED_FAULT: fault,
            PLANTED_FAULT_AFTER: 'Watching for',
          }),
        });
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stderr, new RegExp(`Internal error: planted ${fault}\\. Restoring`));
        assert.match(
          run.stdout,
          new RegExp(
            `Result: rolled-back - The run stopped on an internal error \\(planted ${fault}\\)`,
          ),
        );
        assertRestored(backendVs(sandbox));
      });
    }

    test('when the run’s own restore hangs, the guard restores the route itself before exiting', async () => {
      let injected = false;
      const run = await runCli(step('10', '60s'), {
        env: env(),
        onOutput: (output, control) => {
          if (injected || !/\] w=10% /.test(output)) return;
          injected = true;
          // The run's rollback reads the VirtualService first: that read never gets an answer.
          sandbox.api.injectFault({
            method: 'GET',
            pathPattern: /\/virtualservices\/backend$/,
            status: 0,
            hang: true,
            count: 1,
          });
          control.signal('SIGTERM');
        },
      });
      assert.equal(run.signal, null);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        /The run did not finish within 4\.5s: restoring the original route now\./,
      );
      assert.match(run.stderr, /Original route of shop\/backend restored/);
      assertRestored(backendVs(sandbox));
    });
  },
);
