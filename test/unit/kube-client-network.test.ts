import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { UserError } from '../../src/errors.ts';
import { createCluster } from '../../src/kube/client.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { BodyTooLargeError, DeadlineError } from '../../src/net/errors.ts';
import { InFlightCalls } from '../../src/net/in-flight.ts';
import { generateCertificates, type SandboxCertificates } from '../../src/sandbox/certs.ts';
import { ApiServer } from '../../src/sandbox/apiserver.ts';
import {
  hang,
  huge,
  kubeconfigFor,
  startHostile,
  trickle,
  type HostileServer,
} from '../helpers/hostile-servers.ts';

// Each case would wait minutes on a client without deadlines; the limit makes it fail instead.
const LIMIT = { timeout: 60_000 };

function cluster(
  kubeconfig: string,
  options: { callTimeoutMs?: number; calls?: InFlightCalls } = {},
) {
  const logger = new MemoryLogger();
  return {
    logger,
    cluster: createCluster({ kubeconfig, clock: systemClock, logger, ...options }),
  };
}

describe('Kubernetes client against misbehaving API servers', () => {
  let certs: SandboxCertificates;
  let otherCa: SandboxCertificates;
  const servers: HostileServer[] = [];
  const tlsServer = async (handler: Parameters<typeof startHostile>[0], pair = certs) => {
    const server = await startHostile(handler, { cert: pair.serverCert, key: pair.serverKey });
    servers.push(server);
    return server;
  };

  before(async () => {
    certs = await generateCertificates();
    otherCa = await generateCertificates();
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  test(
    'a GET that never answers is cut at the call deadline, naming the call and the server',
    LIMIT,
    async () => {
      const server = await tlsServer(hang);
      const calls = new InFlightCalls();
      const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: certs.caCert }), {
        callTimeoutMs: 400,
        calls,
      });
      await assert.rejects(c.istioVersion(), (error: unknown) => {
        assert.ok(error instanceof DeadlineError, String(error));
        assert.equal(
          error.message,
          `GET /apis on ${server.url} did not complete within 0.4s (the deadline of one call, retries included)`,
        );
        return true;
      });
      assert.equal(calls.longest(), undefined, 'the call is no longer recorded as running');
    },
  );

  test(
    'an exec credential plugin that never returns is cut at the call deadline too',
    LIMIT,
    async () => {
      const server = await tlsServer(hang);
      // The plugin would exit by itself after 5 s; it is killed at the deadline instead.
      const pidFile = join(mkdtempSync(join(tmpdir(), 'exec-hang-')), 'pid');
      const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 5000)`;
      const kubeconfig = kubeconfigFor(
        server.url,
        { ca: certs.caCert },
        { command: process.execPath, args: ['-e', script] },
      );
      const { cluster: c } = cluster(kubeconfig, { callTimeoutMs: 400 });
      await assert.rejects(c.istioVersion(), DeadlineError);
      assert.equal(server.seen.length, 0, 'the request was never sent');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(await gone(pid, 3000), `the plugin (pid ${pid}) was killed, not left running`);
    },
  );

  test('an answer that trickles one byte at a time is cut at the deadline', LIMIT, async () => {
    const server = await tlsServer(trickle(50));
    const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: certs.caCert }), {
      callTimeoutMs: 800,
    });
    await assert.rejects(c.istioVersion(), DeadlineError);
    assert.ok(server.bytesSent() > 0, 'the server did trickle');
  });

  test(
    'an answer past the size limit is refused while it streams, naming the server',
    LIMIT,
    async () => {
      const total = 200 * 1024 * 1024;
      const server = await tlsServer(huge(total));
      const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: certs.caCert }));
      await assert.rejects(c.istioVersion(), (error: unknown) => {
        assert.ok(error instanceof BodyTooLargeError, String(error));
        assert.match(
          error.message,
          new RegExp(`^GET /apis on ${server.url}: .*larger than 64 MiB`),
        );
        return true;
      });
      assert.ok(
        server.bytesSent() < total / 2,
        `the client read on to ${server.bytesSent()} bytes of ${total}`,
      );
    },
  );

  test('a declared Content-Length past the limit is refused before the body', LIMIT, async () => {
    const server = await tlsServer(huge(100 * 1024 * 1024, true));
    const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: certs.caCert }));
    await assert.rejects(c.istioVersion(), BodyTooLargeError);
  });

  test('an unknown certificate authority is named as such, with the server', LIMIT, async () => {
    const server = await tlsServer(hang);
    const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: otherCa.caCert }));
    await assert.rejects(c.istioVersion(), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(
        error.message,
        new RegExp(`the TLS certificate of ${server.url} is not signed by an authority we trust`),
      );
      assert.match(error.message, /certificate-authority/);
      assert.doesNotMatch(error.message, /fetch failed/);
      return true;
    });
  });

  test('a certificate for another name is a name mismatch, with the server', LIMIT, async () => {
    const server = await tlsServer(hang);
    const kubeconfig = kubeconfigFor(server.url, {
      ca: certs.caCert,
      tlsServerName: 'api.other.example',
    });
    await assert.rejects(cluster(kubeconfig).cluster.istioVersion(), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /is not valid for the name .*\(name mismatch\)/);
      assert.ok(error.message.includes(server.url), error.message);
      return true;
    });
  });

  test('an expired certificate says it expired, with the server', LIMIT, async () => {
    const day = 24 * 60 * 60 * 1000;
    const expired = await generateCertificates({
      serverValidity: { from: new Date(Date.now() - 10 * day), to: new Date(Date.now() - day) },
    });
    const server = await tlsServer(hang, expired);
    const { cluster: c } = cluster(kubeconfigFor(server.url, { ca: expired.caCert }));
    await assert.rejects(
      c.istioVersion(),
      new RegExp(`the TLS certificate of ${server.url} has expired`),
    );
  });

  test(
    'a refused connection is our one line naming the server, after retries within the deadline',
    LIMIT,
    async () => {
      const server = await tlsServer(hang);
      const url = server.url;
      await server.close();
      servers.splice(servers.indexOf(server), 1);
      const { cluster: c } = cluster(kubeconfigFor(url, { ca: certs.caCert }), {
        callTimeoutMs: 1500,
      });
      await assert.rejects(c.istioVersion(), (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.match(error.message, new RegExp(`^GET /apis on ${url} failed after \\d+ attempts`));
        assert.ok(
          error.message.endsWith(`connection refused (ECONNREFUSED): nothing listens at ${url}`),
          error.message,
        );
        assert.equal(error.message.split('\n').length, 1);
        return true;
      });
    },
  );

  test('an http:// server is refused before any request, naming it', LIMIT, async () => {
    const server = await startHostile(hang);
    servers.push(server);
    assert.throws(
      () => cluster(kubeconfigFor(server.url, { skipTlsVerify: true })),
      (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.match(error.message, new RegExp(`has server ${server.url}: .*over https only`));
        return true;
      },
    );
    assert.equal(server.seen.length, 0);
  });

  test('insecure-skip-tls-verify works but is warned about once', LIMIT, async () => {
    const api = await ApiServer.start();
    try {
      const kubeconfig = kubeconfigFor(api.url, { skipTlsVerify: true }).replace(
        'hostile-test-token',
        api.adminToken,
      );
      const { cluster: c, logger } = cluster(kubeconfig);
      assert.equal(await c.istioVersion(), 'v1');
      await c.listDeployments('shop');
      const warnings = logger.lines.filter((l) => l.startsWith('warning:'));
      assert.equal(warnings.length, 1, logger.lines.join('\n'));
      assert.match(
        warnings[0],
        /insecure-skip-tls-verify: the identity of https:\/\/127\.0\.0\.1:\d+ is not checked/,
      );
    } finally {
      await api.stop();
    }
  });

  test(
    'the service proxy is asked once, and its 503 comes back for the caller to judge',
    LIMIT,
    async () => {
      const api = await ApiServer.start();
      try {
        api.injectFault({ pathPattern: /\/proxy\//, status: 503, count: 1 });
        const { cluster: c } = cluster(api.kubeconfig({ namespace: 'shop' }));
        const before = api.requests.length;
        const response = await c.proxyGet('istio-system', 'prometheus', '9090', '/api/v1/query', {
          query: 'up',
        });
        assert.equal(response.status, 503);
        assert.equal(api.requests.length - before, 1, 'no retry of its own');
      } finally {
        await api.stop();
      }
    },
  );
});

/** True once no process `pid` runs, polled for at most `ms`. */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
