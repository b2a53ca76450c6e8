import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  MAX_DESCRIPTION_LENGTH,
  commitStatusFor,
  postCommitStatus,
  truncate,
} from '../../src/github/commit-status.ts';
import { Secrets } from '../../src/config/secrets.ts';
import { MemoryLogger } from '../../src/logger.ts';
import type { CheckResult } from '../../src/metrics/types.ts';
import type { StageReport } from '../../src/report/report.ts';
import { checkResult, stageReport } from '../fixtures/reports.ts';
import { start } from '../helpers/github-api-double.ts';
import type { GitHubApiDouble } from '../helpers/github-api-double.ts';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const NO_SECRETS = new Secrets();

function check(overrides: Partial<CheckResult> = {}): CheckResult {
  return checkResult({ elapsedMs: 60_000, ...overrides });
}

function report(overrides: Partial<StageReport> = {}): StageReport {
  return stageReport({ finishedAt: '2025-01-02T03:09:05.000Z', checks: [check()], ...overrides });
}

void describe('commitStatusFor', () => {
  void it('reports a passed stage as success with its key figures', () => {
    assert.deepEqual(commitStatusFor(report(), NO_SECRETS), {
      context: 'istio-canary/shop/reviews',
      state: 'success',
      description: 'Passed at 10%: v2 success 99.6%, p99 84ms, 312 req',
    });
  });

  void it('reports a rollback as failure with the weight that breached and the reason', () => {
    const status = commitStatusFor(
      report({
        outcome: 'rolled-back',
        weightAfter: 0,
        checks: [check({ weight: 25, verdict: 'fail' })],
        reason: 'Canary v2 success rate 96.0% is below 99%.',
      }),
      NO_SECRETS,
    );
    assert.equal(status.state, 'failure');
    assert.equal(
      status.description,
      'Rolled back from 25%: Canary v2 success rate 96.0% is below 99%.',
    );
  });

  void it('names the weight rolled back from when no check was made at it (metrics failed)', () => {
    // Checks at 10% passed, then 30% was set and Prometheus failed before any check at it.
    const status = commitStatusFor(
      report({
        outcome: 'rolled-back',
        weightBefore: 0,
        weightAfter: 0,
        weights: [10, 30],
        breachWeight: 30,
        checks: [check({ weight: 10 })],
        reason: 'Metrics could not be read after the weights moved.',
      }),
      NO_SECRETS,
    );
    assert.equal(
      status.description,
      'Rolled back from 30%: Metrics could not be read after the weights moved.',
    );
    const first = commitStatusFor(
      report({ outcome: 'rolled-back', weightAfter: 0, breachWeight: 10, checks: [] }),
      NO_SECRETS,
    );
    assert.match(first.description, /^Rolled back from 10%/);
  });

  void it('is success for promote, no-op and dry run', () => {
    assert.equal(
      commitStatusFor(report({ outcome: 'promoted' }), NO_SECRETS).description,
      'Promoted: all traffic to v2',
    );
    assert.equal(commitStatusFor(report({ outcome: 'noop' }), NO_SECRETS).state, 'success');
    assert.equal(
      commitStatusFor(report({ outcome: 'dry-run' }), NO_SECRETS).description,
      'Dry run: would set v2 from 0% to 10%',
    );
  });

  void it('keeps the description within GitHub limit', () => {
    const status = commitStatusFor(
      report({ outcome: 'rolled-back', reason: `Canary failed ${'badly '.repeat(40)}` }),
      NO_SECRETS,
    );
    assert.equal(Array.from(status.description).length, MAX_DESCRIPTION_LENGTH);
    assert.ok(status.description.endsWith('…'));
  });
});

void describe('truncate', () => {
  void it('leaves short text alone and never splits a character', () => {
    assert.equal(truncate('short', 10), 'short');
    assert.equal(truncate('one\ntwo', 10), 'one two');
    assert.equal(truncate('ab😀😀😀😀', 4), 'ab😀…');
    assert.equal(truncate('abc  def', 6), 'abc…');
  });
});

void describe('postCommitStatus', () => {
  let api: GitHubApiDouble;
  let logger: MemoryLogger;
  beforeEach(async () => {
    api = await start();
    logger = new MemoryLogger();
  });
  afterEach(async () => {
    await api.stop();
  });

  const post = (overrides: Partial<StageReport> = {}, timeoutMs?: number): Promise<void> =>
    postCommitStatus({
      token: 'ghs_test-token',
      owner: 'acme',
      repo: 'shop',
      sha: SHA,
      report: report(overrides),
      targetUrl: 'https://github.example/acme/shop/actions/runs/1',
      baseUrl: api.url,
      secrets: NO_SECRETS,
      logger,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  void it('posts the status with the token to the commit', async () => {
    await post({ outcome: 'rolled-back', reason: 'Canary v2 success rate 96.0% is below 99%.' });
    assert.equal(api.requests.length, 1);
    const [request] = api.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, `/repos/acme/shop/statuses/${SHA}`);
    assert.equal(request.authorization, 'token ghs_test-token');
    assert.deepEqual(request.body, {
      state: 'failure',
      context: 'istio-canary/shop/reviews',
      description: 'Rolled back from 10%: Canary v2 success rate 96.0% is below 99%.',
      target_url: 'https://github.example/acme/shop/actions/runs/1',
    });
    assert.deepEqual(logger.lines, [
      'Commit status istio-canary/shop/reviews on acme/shop@a1b2c3d4e5f6: failure',
    ]);
  });

  void it('sends a truncated description', async () => {
    await post({ outcome: 'noop', reason: 'x'.repeat(300) });
    const description = String(api.requests[0].body!.description);
    assert.equal(Array.from(description).length, 140);
    assert.ok(description.endsWith('…'));
  });

  void it('turns a 500 into a warning', async () => {
    api.options.failWith = 500;
    await post();
    assert.equal(api.requests.length, 1);
    assert.equal(logger.lines.length, 1);
    assert.match(
      logger.lines[0],
      /^warning: Could not post the commit status istio-canary\/shop\/reviews on acme\/shop@a1b2c3d4e5f6: HTTP 500/,
    );
    assert.doesNotMatch(logger.lines[0], /ghs_test-token/);
  });

  void it('explains a rejected token', async () => {
    api.options.failWith = 401;
    await post();
    assert.match(logger.lines[0], /HTTP 401: Bad credentials.*github-token/);
  });

  void it('gives up on a GitHub that does not answer, with a warning', async () => {
    api.options.delayMs = 5_000;
    const started = Date.now();
    await post({}, 200);
    assert.ok(Date.now() - started < 2_000);
    assert.match(
      logger.lines[0],
      /^warning: Could not post the commit status.*: no answer within 200 ms$/,
    );
  });

  void it('warns when GitHub cannot be reached at all', async () => {
    await api.stop();
    api = await start();
    const closed = api.url;
    await api.stop();
    await postCommitStatus({
      token: 't',
      owner: 'acme',
      repo: 'shop',
      sha: SHA,
      report: report(),
      baseUrl: closed,
      secrets: NO_SECRETS,
      logger,
    });
    assert.match(logger.lines[0], /^warning: Could not post the commit status.*ECONNREFUSED/);
    assert.doesNotMatch(logger.lines[0], /HTTP 500/);
    api = await start();
  });
});
