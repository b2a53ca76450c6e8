import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { UserError } from '../../src/errors.ts';
import { MemoryLogger } from '../../src/logger.ts';
import { DeadlineError } from '../../src/net/errors.ts';
import {
  RetryExhaustedError,
  classifyHttpStatus,
  isTransientNetworkError,
  retryAfterMs,
  withRetry,
} from '../../src/retry.ts';

/** A clock whose sleeps pass instantly, recording how long each one was. */
class FakeClock implements Clock {
  time = 1_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  }
}

class HttpFailure extends Error {
  readonly status: number;
  readonly retryAfter?: number;
  constructor(status: number, retryAfter?: number) {
    super(`HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const classify = (error: unknown) =>
  error instanceof HttpFailure
    ? { ...classifyHttpStatus(error.status), retryAfterMs: error.retryAfter }
    : { retry: isTransientNetworkError(error) };

await test('withRetry', async (t) => {
  await t.test('returns the first success and passes the attempt number', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const result = await withRetry(
      (attempt) => {
        seen.push(attempt);
        if (attempt < 3) return Promise.reject(new HttpFailure(503));
        return Promise.resolve('ok');
      },
      { what: 'GET x', classify, clock, random: () => 0.5 },
    );
    assert.equal(result, 'ok');
    assert.deepEqual(seen, [1, 2, 3]);
    // Full jitter at 0.5 of the ceilings 500 ms then 1000 ms.
    assert.deepEqual(clock.sleeps, [250, 500]);
  });

  await t.test('waits as long as Retry-After says instead of the backoff', async () => {
    const clock = new FakeClock();
    let calls = 0;
    await withRetry(
      () => (++calls === 1 ? Promise.reject(new HttpFailure(429, 7_000)) : Promise.resolve(1)),
      { what: 'GET x', classify, clock, random: () => 0 },
    );
    assert.deepEqual(clock.sleeps, [7_000]);
  });

  await t.test('caps an excessive Retry-After', async () => {
    const clock = new FakeClock();
    let calls = 0;
    await withRetry(
      () => (++calls === 1 ? Promise.reject(new HttpFailure(503, 3_600_000)) : Promise.resolve(1)),
      { what: 'GET x', classify, clock, maxRetryAfterMs: 20_000, maxElapsedMs: 120_000 },
    );
    assert.deepEqual(clock.sleeps, [20_000]);
  });

  await t.test(
    'gives up within the time budget, saying what, how often, how long and why',
    async () => {
      const clock = new FakeClock();
      let calls = 0;
      const failing = () => {
        calls++;
        return Promise.reject(
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
        );
      };
      await assert.rejects(
        withRetry(failing, {
          what: 'query Prometheus at http://p:9090',
          classify,
          clock,
          random: () => 0.99,
        }),
        (error: unknown) => {
          assert.ok(error instanceof RetryExhaustedError);
          assert.ok(error instanceof UserError);
          assert.equal(error.attempts, calls);
          assert.match(
            error.message,
            new RegExp(
              `^query Prometheus at http://p:9090 failed after ${calls} attempts over 60\\.0s; last error: connect ECONNREFUSED`,
            ),
          );
          return true;
        },
      );
      const waited = clock.sleeps.reduce((a, b) => a + b, 0);
      assert.equal(waited, 60_000);
      assert.ok(calls > 5 && calls < 20, `attempts: ${calls}`);
      assert.ok(clock.sleeps.every((ms) => ms <= 10_000));
    },
  );

  await t.test('gives up at once when Retry-After is beyond the remaining budget', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new HttpFailure(503, 25_000));
    };
    await assert.rejects(
      withRetry(failing, { what: 'GET x', classify, clock, maxElapsedMs: 30_000 }),
      /GET x failed after 2 attempts over 25\.0s \(the server asked to wait 25\.0s\); last error: HTTP 503/,
    );
    assert.equal(calls, 2);
  });

  await t.test('passes a non-retryable error through immediately', async () => {
    const clock = new FakeClock();
    const bad = new HttpFailure(400);
    let calls = 0;
    await assert.rejects(
      withRetry(
        () => {
          calls++;
          return Promise.reject(bad);
        },
        { what: 'GET x', classify, clock },
      ),
      (error: unknown) => error === bad,
    );
    assert.equal(calls, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  await t.test('stops when the signal aborts', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let calls = 0;
    await assert.rejects(
      withRetry(
        () => {
          if (++calls === 2) controller.abort();
          return Promise.reject(new HttpFailure(502));
        },
        { what: 'GET x', classify, clock, signal: controller.signal },
      ),
      /GET x failed after 2 attempts .*\(cancelled\)/,
    );
    assert.equal(calls, 2);
  });

  await t.test('logs each retry', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    let calls = 0;
    await withRetry(
      () => (++calls === 1 ? Promise.reject(new HttpFailure(500)) : Promise.resolve(1)),
      { what: 'GET x', classify, clock, logger, random: () => 0 },
    );
    assert.deepEqual(logger.lines, ['warning: GET x failed (HTTP 500); attempt 2 in 0.0s']);
  });

  await t.test('an attempt cut by the call’s deadline reports the failure before it', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const deadline = new DeadlineError('GET x did not complete within 2s');
    let calls = 0;
    await assert.rejects(
      withRetry(
        () => {
          if (++calls === 1) return Promise.reject(new HttpFailure(503));
          controller.abort(deadline);
          return Promise.reject(deadline);
        },
        { what: 'GET x', classify, clock, signal: controller.signal, random: () => 0 },
      ),
      (error: unknown) => {
        assert.ok(error instanceof RetryExhaustedError);
        assert.match(
          error.message,
          /^GET x failed after 2 attempts .*\(out of time\); last error: HTTP 503$/,
        );
        return true;
      },
    );
  });

  await t.test('a first attempt cut by the deadline is the deadline’s error', async () => {
    const controller = new AbortController();
    const deadline = new DeadlineError('GET x did not complete within 2s');
    controller.abort(deadline);
    await assert.rejects(
      withRetry(() => Promise.reject(deadline), {
        what: 'GET x',
        classify,
        clock: new FakeClock(),
        signal: controller.signal,
      }),
      (error: unknown) => error === deadline,
    );
  });
});

await test('retryAfterMs', async (t) => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  await t.test('reads seconds', () => {
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs(' 0 ', now), 0);
    assert.equal(retryAfterMs('1.5', now), 1_500);
  });
  await t.test('reads an HTTP date, never negative', () => {
    assert.equal(retryAfterMs('Wed, 01 May 2024 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Wed, 01 May 2024 11:00:00 GMT', now), 0);
  });
  await t.test('ignores absent or unreadable values', () => {
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('', now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs('-5', now), undefined);
    assert.equal(retryAfterMs('2024', now), 2_024_000);
  });
});

await test('classifyHttpStatus', async (t) => {
  await t.test('retries 429 and 5xx except 501', () => {
    for (const status of [429, 500, 502, 503, 504])
      assert.equal(classifyHttpStatus(status).retry, true, `${status}`);
    for (const status of [200, 400, 401, 403, 404, 409, 422, 501]) {
      assert.equal(classifyHttpStatus(status).retry, false, `${status}`);
    }
  });
});

await test('isTransientNetworkError', async (t) => {
  await t.test('recognises network codes, socket hang up and wrapped causes', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']) {
      assert.equal(isTransientNetworkError(Object.assign(new Error('x'), { code })), true, code);
    }
    assert.equal(isTransientNetworkError(new Error('socket hang up')), true);
    const wrapped = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
    });
    assert.equal(isTransientNetworkError(wrapped), true);
  });
  await t.test('rejects other errors, and never looks inside a UserError', () => {
    assert.equal(
      isTransientNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })),
      false,
    );
    assert.equal(isTransientNetworkError(new Error('boom')), false);
    assert.equal(isTransientNetworkError('ECONNREFUSED'), false);
    const final = new UserError('gave up', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    assert.equal(isTransientNetworkError(final), false);
  });
});
