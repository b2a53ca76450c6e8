import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { createPrometheusClient } from '../../src/metrics/prometheus.ts';
import { judgeRedirect } from '../../src/metrics/redirects.ts';
import { BodyTooLargeError, DeadlineError, RedirectRefusedError } from '../../src/net/errors.ts';
import { RetryExhaustedError } from '../../src/retry.ts';
import { generateCertificates } from '../../src/sandbox/certs.ts';
import {
  hang,
  huge,
  redirect,
  startHostile,
  trickle,
  type HostileServer,
} from '../helpers/hostile-servers.ts';

const LIMIT = { timeout: 60_000 };
const TOKEN = 'prom-token-value-1234';
const HEADERS = { 'X-Api-Key': 'api-key-5678', 'X-Scope-OrgID': 'tenant-a' };

const ANSWER = JSON.stringify({
  status: 'success',
  data: { resultType: 'scalar', result: [1, '7'] },
});

/** A Prometheus that answers every query with the scalar 7. */
const answers = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  void req;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(ANSWER);
};

function client(
  url: string,
  options: { token?: string; headers?: Record<string, string>; maxElapsedMs?: number } = {},
) {
  const logger = new MemoryLogger();
  const prom = createPrometheusClient({
    url,
    headers: options.headers ?? HEADERS,
    token: options.token ?? TOKEN,
    clock: systemClock,
    logger,
    maxElapsedMs: options.maxElapsedMs,
  });
  return { prom, logger };
}

describe('Prometheus client against misbehaving servers', () => {
  const servers: HostileServer[] = [];
  const start = async (...args: Parameters<typeof startHostile>) => {
    const server = await startHostile(...args);
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) await server.close();
  });

  test(
    'an answer that trickles one byte at a time is cut at the query deadline',
    LIMIT,
    async () => {
      const server = await start(trickle(50));
      const { prom } = client(server.url, { maxElapsedMs: 800 });
      await assert.rejects(prom.query('up'), (error: unknown) => {
        assert.ok(error instanceof DeadlineError, String(error));
        assert.equal(
          error.message,
          `Prometheus query at ${server.url} did not complete within 0.8s (the deadline of one call, retries included)`,
        );
        return true;
      });
      assert.ok(server.bytesSent() > 0, 'the server did trickle');
    },
  );

  test('a server that never answers is cut at the query deadline', LIMIT, async () => {
    const server = await start(hang);
    const { prom } = client(server.url, { maxElapsedMs: 500 });
    await assert.rejects(prom.query('up'), DeadlineError);
  });

  test('a 200 MiB answer is refused as it streams in, naming the endpoint', LIMIT, async () => {
    const total = 200 * 1024 * 1024;
    const server = await start(huge(total));
    const { prom } = client(server.url);
    await assert.rejects(prom.query('up'), (error: unknown) => {
      assert.ok(error instanceof BodyTooLargeError, String(error));
      assert.match(
        error.message,
        new RegExp(`^Prometheus at ${server.url} sent an answer larger than 32 MiB; refused`),
      );
      return true;
    });
    assert.ok(server.bytesSent() < total / 2, `read on to ${server.bytesSent()} of ${total} bytes`);
  });

  test(
    'a redirect to another origin is refused, says where it pointed, and sends it nothing',
    LIMIT,
    async () => {
      const elsewhere = await start(answers);
      const server = await start(redirect(`${elsewhere.url}/steal/api/v1/query?x=1`));
      const { prom } = client(server.url);
      await assert.rejects(prom.query('up'), (error: unknown) => {
        assert.ok(error instanceof RedirectRefusedError, String(error));
        assert.match(
          error.message,
          new RegExp(`to another origin, ${elsewhere.url}/steal/api/v1/query; not followed`),
        );
        assert.ok(!error.message.includes('x=1'), 'the query string is not echoed');
        return true;
      });
      assert.equal(
        elsewhere.seen.length,
        0,
        'the other origin got no request, so none of the headers',
      );
    },
  );

  test('without credentials, a redirect to another origin is followed', LIMIT, async () => {
    const elsewhere = await start(answers);
    const server = await start(redirect(`${elsewhere.url}/api/v1/query`, 307));
    const { prom } = client(server.url, { token: '', headers: {} });
    assert.deepEqual(await prom.query('up'), [{ labels: {}, value: 7 }]);
    assert.equal(elsewhere.seen.length, 1);
    assert.equal(elsewhere.seen[0].method, 'POST', '307 keeps the method');
  });

  test(
    'a same-origin redirect keeps the credentials; 302 continues as GET with the query',
    LIMIT,
    async () => {
      let first = true;
      const server = await start((req, res) => {
        if (first) {
          first = false;
          res.writeHead(302, { location: '/moved/api/v1/query' });
          return void res.end();
        }
        answers(req, res);
      });
      const { prom } = client(server.url);
      assert.deepEqual(await prom.query('up'), [{ labels: {}, value: 7 }]);
      const followed = server.seen[1];
      assert.equal(followed.method, 'GET');
      assert.equal(followed.url, '/moved/api/v1/query?query=up');
      assert.equal(followed.headers['x-api-key'], HEADERS['X-Api-Key']);
      assert.equal(followed.headers.authorization, `Bearer ${TOKEN}`);
    },
  );

  test('credentials over plain http are warned about once, naming the server', LIMIT, async () => {
    const server = await start(answers);
    const { prom, logger } = client(server.url);
    await prom.query('a');
    await prom.query('b');
    const warnings = logger.lines.filter((l) => l.startsWith('warning:'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`prometheus-url ${server.url} is plain http`));
    assert.ok(!warnings[0].includes(TOKEN) && !warnings[0].includes('api-key-5678'));
    assert.equal(client(server.url, { token: '', headers: {} }).logger.lines.length, 0);
  });

  describe('over TLS', () => {
    let server: HostileServer;
    before(async () => {
      const certs = await generateCertificates();
      server = await start(answers, { cert: certs.serverCert, key: certs.serverKey });
    });

    test('an untrusted certificate says what failed and names the server', LIMIT, async () => {
      const { prom } = client(server.url.replace('127.0.0.1', 'localhost'));
      await assert.rejects(prom.query('up'), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(!(error instanceof RetryExhaustedError), 'a TLS failure is not retried');
        assert.match(
          error.message,
          /^Prometheus at https:\/\/localhost:\d+: the TLS certificate of https:\/\/localhost:\d+ is not signed by an authority we trust/,
        );
        assert.match(error.message, /NODE_EXTRA_CA_CERTS/);
        return true;
      });
    });
  });
});

describe('judgeRedirect', () => {
  const from = new URL('https://prom.example/api/v1/query');

  test('never from https down to http, with or without credentials', () => {
    for (const credentials of [true, false]) {
      const decision = judgeRedirect(
        from,
        'http://prom.example/api/v1/query',
        301,
        'POST',
        credentials,
      );
      assert.equal(decision.follow, false);
      assert.match(
        decision.follow ? '' : decision.why,
        /from https down to plain http, to http:\/\/prom\.example\/api\/v1\/query; not followed/,
      );
    }
  });

  test('up from http to https on the same host keeps the credentials', () => {
    const decision = judgeRedirect(
      new URL('http://prom.example:9090/api/v1/query'),
      'https://prom.example/api/v1/query',
      308,
      'POST',
      true,
    );
    assert.deepEqual(decision, {
      follow: true,
      url: new URL('https://prom.example/api/v1/query'),
      method: 'POST',
    });
  });

  test('another port is another origin', () => {
    const decision = judgeRedirect(
      from,
      'https://prom.example:8443/api/v1/query',
      302,
      'GET',
      true,
    );
    assert.equal(decision.follow, false);
  });

  test('a redirect without a Location or to another scheme is refused', () => {
    assert.equal(judgeRedirect(from, undefined, 302, 'GET', false).follow, false);
    assert.equal(judgeRedirect(from, 'file:///etc/passwd', 302, 'GET', false).follow, false);
  });

  test('303 continues as GET; a relative Location stays on the origin', () => {
    assert.deepEqual(judgeRedirect(from, '/prometheus/api/v1/query', 303, 'POST', true), {
      follow: true,
      url: new URL('https://prom.example/prometheus/api/v1/query'),
      method: 'GET',
    });
  });
});
