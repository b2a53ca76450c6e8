import assert from 'node:assert/strict';
import type http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { generateCertificates, type SandboxCertificates } from '../../src/sandbox/certs.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { runCli } from '../helpers/cli-runner.ts';
import {
  hang,
  huge,
  kubeconfigFor,
  redirect,
  startHostile,
  type HostileServer,
} from '../helpers/hostile-servers.ts';
import { assertRestored, backendVs, resetShop } from '../helpers/shop.ts';

/** Answers like a Prometheus with Istio metrics, for a redirect target that must stay unasked. */
const prometheusLike = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [1, '5'] }] },
    }),
  );
};

describe('network failures end to end (dist/cli.js, sandbox API server)', () => {
  let sandbox: Sandbox;
  let workdir: string;
  let kubeconfig: string;
  let certs: SandboxCertificates;
  const servers: HostileServer[] = [];
  const start = async (...args: Parameters<typeof startHostile>) => {
    const server = await startHostile(...args);
    servers.push(server);
    return server;
  };
  const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off' });
    workdir = mkdtempSync(join(tmpdir(), 'istio-canary-network-'));
    kubeconfig = join(workdir, 'kubeconfig');
    writeFileSync(kubeconfig, sandbox.kubeconfig, { mode: 0o600 });
    certs = await generateCertificates();
    writeFileSync(join(workdir, 'ca.pem'), certs.caCert);
  });
  after(async () => {
    for (const server of servers) await server.close();
    await sandbox?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });
  beforeEach(() => resetShop(sandbox, 40));

  const step = (prometheusUrl: string, extra: string[] = []) => [
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
    '10s',
    '--interval',
    '2s',
    '--prometheus-url',
    prometheusUrl,
    ...extra,
  ];
  const env = (extra: Record<string, string> = {}) => ({
    ISTIO_CANARY_REPORT_DIR: workdir,
    ISTIO_CANARY_CALL_TIMEOUT: '5s',
    ...extra,
  });

  test('a 200 MiB Prometheus answer is refused before the first write, without reading it all', async () => {
    const total = 200 * 1024 * 1024;
    const server = await start(huge(total));
    const before = writes();
    const run = await runCli(step(server.url), { env: env() });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`error: Prometheus at ${server.url} sent an answer larger than 32 MiB; refused`),
    );
    assert.ok(server.bytesSent() < total / 2, `read ${server.bytesSent()} of ${total} bytes`);
    assert.equal(writes(), before, 'nothing was written');
    assertRestored(backendVs(sandbox));
  });

  test('prometheus-headers and the token never follow a redirect to another origin', async () => {
    const elsewhere = await start(prometheusLike);
    const server = await start(redirect(`${elsewhere.url}/collect`));
    const run = await runCli(
      step(server.url, [
        '--prometheus-headers',
        'X-Api-Key: k-123456',
        '--prometheus-token',
        'tok-654321',
      ]),
      { env: env() },
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `Prometheus at ${server.url} redirected \\(HTTP 302\\) to another origin, ${elsewhere.url}/collect; not followed`,
      ),
    );
    assert.equal(elsewhere.seen.length, 0, 'the other origin was never asked');
    assert.match(run.stdout, /warning: prometheus-url http:\/\/127\.0\.0\.1:\d+ is plain http/);
  });

  test('an https Prometheus redirecting to plain http is not followed, credentials or not', async () => {
    const plain = await start(prometheusLike);
    const secure = await start(redirect(`${plain.url}/api/v1/query`, 307), {
      cert: certs.serverCert,
      key: certs.serverKey,
    });
    const run = await runCli(step(secure.url), {
      env: env({ NODE_EXTRA_CA_CERTS: join(workdir, 'ca.pem') }),
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `Prometheus at ${secure.url} redirected \\(HTTP 307\\) from https down to plain http, to ${plain.url}/api/v1/query; not followed`,
      ),
    );
    assert.equal(plain.seen.length, 0);
  });

  test('no kubeconfig at all is our one line, not a refused localhost:8080', async () => {
    const home = mkdtempSync(join(tmpdir(), 'istio-canary-no-home-'));
    try {
      const run = await runCli(['status', '--virtual-service', 'backend'], {
        env: { HOME: home, ISTIO_CANARY_REPORT_DIR: workdir },
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(
        run.stdout,
        'error: No kubeconfig was found: --kubeconfig is not set, KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod with a service account. Give the kubeconfig with --kubeconfig.\n',
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('an http:// API server, a refused connection and an unknown CA each get one line naming the server', async () => {
    const plain = await start(hang);
    const closed = await start(hang);
    const refusedUrl = closed.url.replace('http:', 'https:');
    await closed.close();
    servers.splice(servers.indexOf(closed), 1);
    const untrusted = await start(hang, { cert: certs.serverCert, key: certs.serverKey });
    const other = await generateCertificates();
    const cases: [string, RegExp][] = [
      [
        kubeconfigFor(plain.url, { skipTlsVerify: true }),
        new RegExp(
          `^error: The kubeconfig's cluster "hostile" has server ${plain.url}: istio-canary talks to the API server over https only`,
        ),
      ],
      [
        kubeconfigFor(refusedUrl, { ca: certs.caCert }),
        new RegExp(
          `^error: GET /apis on ${refusedUrl} failed after \\d+ attempts? over [\\d.]+s \\(out of time\\); last error: connection refused \\(ECONNREFUSED\\): nothing listens at ${refusedUrl}$`,
        ),
      ],
      [
        kubeconfigFor(untrusted.url, { ca: other.caCert }),
        new RegExp(
          `^error: the TLS certificate of ${untrusted.url} is not signed by an authority we trust`,
        ),
      ],
    ];
    for (const [config, message] of cases) {
      const file = join(workdir, 'hostile-kubeconfig');
      writeFileSync(file, config, { mode: 0o600 });
      const run = await runCli(['status', '--kubeconfig', file, '--virtual-service', 'backend'], {
        env: env({ ISTIO_CANARY_CALL_TIMEOUT: '2s' }),
      });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const lines = run.stdout
        .trimEnd()
        .split('\n')
        .filter((l) => !l.startsWith('warning: GET'));
      assert.equal(lines.length, 1, run.stdout);
      assert.match(lines[0], message);
    }
    assert.equal(plain.seen.length, 0, 'nothing was sent in the clear');
  });
});
