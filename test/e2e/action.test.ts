import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { backendVirtualService, SHOP } from '../../src/sandbox/fixtures.ts';
import { asStored, startSandbox, type Sandbox } from '../helpers/ground.ts';
import { assertPassed, runAction } from '../helpers/action-runner.ts';
import { start as startGithubApi } from '../helpers/github-api-double.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, primaryRoute, resetShop, weights } from '../helpers/shop.ts';

const FRONTEND_RPS = 100;
const FAULTY = { errorRate: 0.3, latencyMs: { median: 20, p99: 100 } };

describe(
  'GitHub action end to end (dist/, sandbox, real Prometheus)',
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
      };
      await waitForTraffic(sandbox);
    });
    after(() => sandbox?.stop());
    beforeEach(() => resetShop(sandbox, FRONTEND_RPS));

    const vs = () => backendVs(sandbox);
    const primary = () => primaryRoute(sandbox);
    const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;

    test('a healthy canary goes 10% -> 50% -> promote', async () => {
      const first = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '6s' },
      });
      assertPassed(first);
      assert.equal(first.outputs.result, 'passed');
      assert.equal(first.outputs.weight, '10');
      assert.ok(Number(first.outputs['success-rate']) >= 99, first.outputs['success-rate']);
      assert.deepEqual(weights(primary()), { v1: 90, v2: 10 });
      assert.match(first.stdout, /PASS/);
      const token = /token: (\S+)/.exec(sandbox.kubeconfig)![1];
      assert.ok(
        first.stdout.includes(`::add-mask::${token}`),
        'the kubeconfig token is registered as a secret',
      );
      assert.ok(
        !first.stdout.includes('::add-mask::kind: Config'),
        'plain kubeconfig lines are not masked',
      );
      assert.match(first.summary, /primary/);

      const second = await runAction('main', {
        inputs: { ...inputs, weight: '50', duration: '6s' },
      });
      assertPassed(second);
      assert.deepEqual(weights(primary()), { v1: 50, v2: 50 });
      const saved = JSON.parse(vs().metadata.annotations!['istio-canary.dev/original-route']);
      assert.deepEqual(
        saved,
        backendVirtualService().spec.http[2],
        'the original route is never overwritten',
      );

      const promote = await runAction('main', { inputs: { ...inputs, command: 'promote' } });
      assertPassed(promote);
      assert.equal(promote.outputs.result, 'promoted');
      const expected = structuredClone(backendVirtualService());
      expected.spec.http[2].route = [
        { destination: { host: 'backend', subset: 'v2', port: { number: 8080 } } },
      ];
      assert.equal(JSON.stringify(vs().spec), JSON.stringify(asStored(expected.spec)));
      assert.deepEqual(
        vs().metadata.annotations,
        expected.metadata.annotations,
        'no state left behind',
      );

      const again = await runAction('main', { inputs: { ...inputs, command: 'promote' } });
      assertPassed(again);
      assert.equal(again.outputs.result, 'noop', 're-running a finished promote is a no-op');
      assert.equal(JSON.stringify(vs().spec), JSON.stringify(asStored(expected.spec)));
    });

    test('a faulty canary is rolled back before duration runs out, the spec restored exactly', async () => {
      sandbox.simulator.setBehaviour('backend-v2', FAULTY);
      const run = await runAction('main', { inputs: { ...inputs, weight: '20', duration: '60s' } });
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.outputs.result, 'rolled-back');
      assert.ok(run.elapsedMs < 30_000, `rolled back after ${run.elapsedMs} ms of a 60 s watch`);
      assertRestored(vs());
      // Rolled back by the sequential judge (the default), in one sentence with its evidence.
      assert.match(
        run.stdout,
        /v2 errors \d+, v1 none \(\d+ of \d+ vs 0 of \d+\), p [<=] [\d.]+: rolled back/,
      );
      assert.match(run.summary, /rolled back/i);
      assert.match(run.summary, /### Sequential analysis/);
      assert.ok(run.summary.includes(`on the runner at \`${run.outputs['html-report']}\``));
      assert.match(readFileSync(run.outputs['html-report'], 'utf8'), /Why it was rolled back/);
      assert.match(run.summary, /\*\*Route restored in\*\* \| [\d.]+ s after the breach/);
      const report = JSON.parse(readFileSync(run.outputs.report, 'utf8')) as {
        restoreSeconds: number;
      };
      assert.ok(report.restoreSeconds < 5, `restored ${report.restoreSeconds} s after the breach`);
      console.log(
        `breach seen -> route restored: ${(report.restoreSeconds * 1000).toFixed(0)} ms; job ${run.elapsedMs} ms`,
      );
    });

    test('a comma list walks its weights in one job', async () => {
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '10,30', duration: '4s' },
      });
      assertPassed(run);
      assert.deepEqual(weights(primary()), { v1: 70, v2: 30 });
      assert.match(run.stdout, /Weights set on route primary: v1 90%, v2 10%\./);
      assert.match(run.stdout, /Weights set on route primary: v1 70%, v2 30%\./);
      assert.match(run.stdout, /\] w=10% .*PASS/);
      assert.match(run.stdout, /\] w=30% .*PASS/);
    });

    test('after a crash (SIGKILL) the state stays, and rollback from a later job restores the route', async () => {
      const crashed = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '60s' },
        killWhen: 'Watching',
      });
      assert.equal(crashed.signal, 'SIGKILL');
      assert.ok(
        vs().metadata.annotations?.['istio-canary.dev/original-route'],
        'state survives the crash',
      );
      const rollback = await runAction('main', {
        inputs: {
          kubeconfig: inputs.kubeconfig,
          'virtual-service': 'backend',
          command: 'rollback',
        },
      });
      assertPassed(rollback);
      assert.equal(rollback.outputs.result, 'rolled-back');
      assertRestored(vs());
      const again = await runAction('main', {
        inputs: {
          kubeconfig: inputs.kubeconfig,
          'virtual-service': 'backend',
          command: 'rollback',
        },
      });
      assertPassed(again);
      assert.equal(again.outputs.result, 'noop');
    });

    test('the post step restores the route when main did not finish', async () => {
      const crashed = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '60s' },
        killWhen: 'Watching',
      });
      assert.equal(crashed.state['main-started'], 'true');
      assert.equal(crashed.state['main-finished'], undefined);
      const post = await runAction('post', {
        inputs: { ...inputs, weight: '10' },
        state: crashed.state,
        workdir: crashed.workdir,
      });
      assert.equal(post.code, 0, post.stdout + post.stderr);
      assert.match(post.stdout, /restored the original route/);
      assertRestored(vs());
    });

    test('SIGINT during the watch restores the route and exits non-zero within 5 s', async () => {
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '10', duration: '60s' },
        interrupt: { when: /Watching/, signal: 'SIGINT' },
      });
      assert.notEqual(run.code, 0);
      assert.ok(run.interruptedAtMs !== undefined);
      const exitAfterSignal = run.elapsedMs - run.interruptedAtMs;
      assert.ok(exitAfterSignal < 5000, `exited ${exitAfterSignal} ms after SIGINT`);
      assertRestored(vs());
      assert.match(run.stdout, /SIGINT/);
      console.log(`SIGINT -> route restored and exit: ${exitAfterSignal} ms`);
      const post = await runAction('post', {
        inputs: { ...inputs, weight: '10' },
        state: run.state,
        workdir: run.workdir,
      });
      assert.equal(post.code, 0);
      assert.doesNotMatch(
        post.stdout,
        /restored/,
        'main finished its own restore, the post step has nothing to do',
      );
    });

    test('a concurrent edit between our read and our write survives', async () => {
      let edited = false;
      const remove = sandbox.api.onBeforeWrite(() => {
        if (edited) return;
        edited = true;
        const current = sandbox.api.get('virtualservices', SHOP, 'backend') as ReturnType<
          typeof backendVirtualService
        >;
        current.spec.http[1].timeout = '9s';
        sandbox.api.put(current);
      });
      try {
        const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '0' } });
        assertPassed(run);
        assert.match(run.stdout, /conflict/i);
      } finally {
        remove();
      }
      assert.equal(
        (vs().spec.http[1] as unknown as { timeout: string }).timeout,
        '9s',
        "the other writer's change is kept",
      );
      assert.deepEqual(weights(primary()), { v1: 90, v2: 10 });
    });

    test('API 500 and 429 (with Retry-After) are retried', async () => {
      sandbox.api.injectFault({ method: 'PUT', status: 500, count: 2 });
      sandbox.api.injectFault({
        method: 'GET',
        pathPattern: /virtualservices\/backend/,
        status: 429,
        count: 1,
        retryAfterSeconds: 1,
      });
      const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '0' } });
      assertPassed(run);
      assert.deepEqual(weights(primary()), { v1: 90, v2: 10 });
      const statuses = sandbox.api.requests.slice(-20).map((r) => r.status);
      assert.ok(statuses.includes(500) && statuses.includes(429), `saw ${statuses.join(',')}`);
    });

    test('Prometheus becoming unreachable after the weights moved rolls back, and says from which weight', async () => {
      const proxy = await forwardingProxy(sandbox.prometheusUrl);
      const github = await startGithubApi();
      try {
        const pending = runAction('main', {
          inputs: {
            ...inputs,
            weight: '10',
            duration: '60s',
            'prometheus-url': proxy.url,
            'github-token': 'ghs_exampletoken123',
          },
          env: { GITHUB_API_URL: github.url },
        });
        await waitFor(() => primary().route?.length === 2, 20_000);
        await proxy.close();
        const failed = await pending;
        assert.equal(failed.code, 1);
        assert.equal(failed.outputs.result, 'rolled-back');
        assert.match(failed.stdout + failed.summary, /Metrics could not be read/);
        assertRestored(vs());
        // No check was made at 10%, yet 10% is the weight that was rolled back.
        const body = github.requests[0]?.body as { state: string; description: string };
        assert.equal(body.state, 'failure');
        assert.match(body.description, /^Rolled back from 10%: Metrics could not be read/);
        assert.match(failed.summary, /0% → 10%, restored to 0%/);
      } finally {
        await github.stop();
      }
    });

    test('a canary that receives no traffic does not pass silently', async () => {
      sandbox.simulator.setClients([]);
      const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '6s' } });
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.outputs.result, 'rolled-back');
      assert.match(run.stdout + run.summary, /No check had the 10 canary requests/);
      assertRestored(vs());
    });

    test('a read-only token gets a clear "forbidden" and nothing is written', async () => {
      const kubeconfig = sandbox.api.kubeconfig({
        token: sandbox.api.readOnlyToken,
        namespace: SHOP,
      });
      const run = await runAction('main', {
        inputs: { ...inputs, kubeconfig, weight: '10', duration: '0' },
      });
      assert.equal(run.code, 1);
      assert.match(run.stdout, /forbidden/);
      assert.doesNotMatch(run.stdout, /\n\s+at /, 'no stack trace for a permission error');
      assertRestored(vs());
    });

    test('bad inputs fail with the input named and write nothing', async () => {
      const cases: [Record<string, string>, RegExp][] = [
        [{ weight: '150' }, /"weight"/],
        [{ weight: '10', duration: '5 minutes' }, /"duration"/],
        [{ weight: '10', 'canary-subset': 'V2!' }, /"canary-subset"/],
        [{ weight: '10', 'prometheus-url': 'ftp://x' }, /prometheus-url/],
        [{ weight: '10', 'min-success-rate': '101' }, /"min-success-rate"/],
        [{ weight: '10', 'virtual-service': 'missing' }, /VirtualService "missing" was not found/],
        [{ weight: '10', 'canary-subset': 'v3' }, /no subset "v3"/],
      ];
      for (const [bad, message] of cases) {
        const before = writes();
        const run = await runAction('main', { inputs: { ...inputs, duration: '0', ...bad } });
        assert.equal(run.code, 1, `${JSON.stringify(bad)}: ${run.stdout}`);
        assert.match(run.stdout, message);
        assert.equal(writes(), before, `${JSON.stringify(bad)} wrote to the API server`);
      }
      assertRestored(vs());
    });

    test('dry-run prints the plan and writes nothing', async () => {
      const before = writes();
      const run = await runAction('main', {
        inputs: { ...inputs, weight: '25', 'dry-run': 'true' },
      });
      assertPassed(run);
      assert.equal(run.outputs.result, 'dry-run');
      assert.match(run.summary, /weight: 25/);
      assert.equal(writes(), before);
      assertRestored(vs());
    });

    test('with github-token, a commit status is posted per stage', async () => {
      const github = await startGithubApi();
      try {
        const run = await runAction('main', {
          inputs: {
            ...inputs,
            weight: '10',
            duration: '4s',
            'github-token': 'ghs_exampletoken123',
          },
          env: { GITHUB_API_URL: github.url },
        });
        assertPassed(run);
        assert.equal(github.requests.length, 1);
        const [status] = github.requests;
        assert.equal(status.authorization, 'token ghs_exampletoken123');
        const body = status.body as { context: string; state: string };
        assert.equal(body.context, 'istio-canary/shop/backend');
        assert.equal(body.state, 'success');
        const printed = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
        assert.doesNotMatch(
          printed.join('\n'),
          /ghs_exampletoken123/,
          'the token is only ever registered as a mask',
        );
      } finally {
        await github.stop();
      }
    });
  },
);

describe('Istio API versions', () => {
  test('a server serving only networking.istio.io/v1alpha3 is used at that version', async () => {
    const sandbox = await startSandbox({ prometheus: 'off', servedIstioVersions: ['v1alpha3'] });
    try {
      const run = await runAction('main', {
        inputs: {
          kubeconfig: sandbox.kubeconfig,
          'virtual-service': 'backend',
          'stable-subset': 'v1',
          'canary-subset': 'v2',
          weight: '10',
          duration: '0',
        },
      });
      assertPassed(run);
      assert.ok(
        sandbox.api.requests.some((r) => r.path.includes('/networking.istio.io/v1alpha3/')),
      );
      assert.ok(!sandbox.api.requests.some((r) => r.path.includes('/networking.istio.io/v1/')));
    } finally {
      await sandbox.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until Prometheus has scraped backend traffic, so preflight finds Istio metrics. */
async function waitForTraffic(sandbox: Sandbox): Promise<void> {
  const { waitForSeries } = await import('../../src/sandbox/prometheus.ts');
  await waitForSeries(
    sandbox.prometheusUrl,
    'istio_requests_total{destination_workload="backend-v1"}',
    20_000,
  );
}

/** An HTTP forwarder to Prometheus that a test can shut, to make Prometheus unreachable. */
async function forwardingProxy(
  target: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
