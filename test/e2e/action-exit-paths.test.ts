import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { assertPassed, runAction } from '../helpers/action-runner.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, resetShop } from '../helpers/shop.ts';

const FRONTEND_RPS = 100;
const PLANTED = resolve(import.meta.dirname, '../helpers/planted-fault.ts');

describe(
  'GitHub action exit paths end to end (dist/, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    let inputs: Record<string, string>;

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: FRONTEND_RPS });
      inputs = {
        kubeconfig: sandbox.kubeconfig,
        'virtual-service': 'backend',
        'stable-subset': 'v1',
        'canary-subset': 'v2',
        interval: '2s',
        'min-requests': '10',
        weight: '10',
      };
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(() => sandbox?.stop());
    beforeEach(() => resetShop(sandbox, FRONTEND_RPS));

    test('a closed stdout mid-watch drops the log; the step finishes and sets its outputs', async () => {
      const run = await runAction('main', {
        inputs: { ...inputs, duration: '6s' },
        closeStdoutWhen: 'Watching',
      });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /EPIPE/);
      assert.equal(run.outputs.result, 'passed');
      assert.equal(run.state['main-finished'], 'true');
    });

    test('an uncaught exception mid-watch restores the route and fails the step', async () => {
      const run = await runAction('main', {
        inputs: { ...inputs, duration: '60s' },
        env: {
          NODE_OPTIONS: `--import=${PLANTED}`,
          PLANTED_FAULT: 'exception',
          PLANTED_FAULT_AFTER: 'Watching for',
        },
      });
      assert.notEqual(run.code, 0, run.stdout);
      assert.match(run.stdout, /::warning::Internal error: planted exception\. Restoring/);
      assert.equal(run.outputs.result, 'rolled-back');
      assertRestored(backendVs(sandbox));
    });

    test('SIGHUP mid-watch restores the route and fails the step', async () => {
      const run = await runAction('main', {
        inputs: { ...inputs, duration: '60s' },
        interrupt: { when: /\] w=10% /, signal: 'SIGHUP' },
      });
      assert.equal(run.signal, null);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /Received SIGHUP: restoring the original route/);
      assertRestored(backendVs(sandbox));
    });

    test('the post step restores with its stdout closed, and exits 0', async () => {
      const crashed = await runAction('main', {
        inputs: { ...inputs, duration: '60s' },
        killWhen: 'Watching',
      });
      assert.equal(crashed.signal, 'SIGKILL');
      const post = await runAction('post', {
        inputs,
        state: crashed.state,
        workdir: crashed.workdir,
        closeStdoutWhen: true,
      });
      assertPassed(post);
      assert.equal(post.stderr, '');
      assertRestored(backendVs(sandbox));
    });
  },
);
