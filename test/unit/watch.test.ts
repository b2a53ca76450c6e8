import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { parseSettings, type Settings } from '../../src/config/settings.ts';
import { MemoryLogger } from '../../src/logger.ts';
import type { PrometheusClient, Sample } from '../../src/metrics/types.ts';
import type { RolloutDeps } from '../../src/rollout/deps.ts';
import { ISTIO_DEFAULT_BUCKETS_MS } from '../../src/rollout/judge-window.ts';
import { watchWeight, type WatchPlan, type WatchResult } from '../../src/rollout/watch.ts';

type Side = 'canary' | 'stable';

/** How one version answers: error share, and the share of requests at or below each bound (ms). */
interface Profile {
  errorRate: number;
  atOrBelow: Record<number, number>;
}

const FAST: Profile = {
  errorRate: 0.005,
  atOrBelow: { 25: 0.5, 50: 0.8, 100: 0.9, 250: 0.99, 500: 0.999, 1000: 1 },
};

/**
 * A mesh whose counters grow exactly with the fake clock: cumulative amounts are kept as real
 * numbers and exported floored, so every window is a whole number of requests, as from Istio.
 */
class FakeMesh {
  rps = 100;
  weight = 10;
  profiles: Record<Side, Profile> = { canary: FAST, stable: FAST };
  private readonly amounts: Record<Side, Map<string, number>> = {
    canary: new Map(),
    stable: new Map(),
  };

  /** Traffic before the watch: stable alone, for `seconds`. */
  history(seconds: number): void {
    const weight = this.weight;
    this.weight = 0;
    this.advance(seconds);
    this.weight = weight;
  }

  advance(seconds: number): void {
    const share: Record<Side, number> = {
      canary: this.weight / 100,
      stable: 1 - this.weight / 100,
    };
    for (const side of ['canary', 'stable'] as const) {
      const n = this.rps * share[side] * seconds;
      const p = this.profiles[side];
      this.add(side, 'errors', n * p.errorRate);
      this.add(side, 'ok', n * (1 - p.errorRate));
      for (const le of [...ISTIO_DEFAULT_BUCKETS_MS, Infinity]) {
        this.add(side, String(le), n * fractionAtOrBelow(p, le));
      }
    }
  }

  private add(side: Side, key: string, amount: number): void {
    const map = this.amounts[side];
    map.set(key, (map.get(key) ?? 0) + amount);
  }

  /** What Prometheus answers to the request-count and bucket queries. */
  samples(buckets: boolean): Sample[] {
    const out: Sample[] = [];
    for (const side of ['canary', 'stable'] as const) {
      const workload = side === 'canary' ? 'backend-v2' : 'backend-v1';
      const get = (key: string): number => Math.floor(this.amounts[side].get(key) ?? 0);
      if (buckets) {
        for (const le of [...ISTIO_DEFAULT_BUCKETS_MS, Infinity]) {
          const label = le === Infinity ? '+Inf' : String(le);
          out.push({
            labels: { destination_workload: workload, le: label },
            value: get(String(le)),
          });
        }
      } else {
        out.push({
          labels: { destination_workload: workload, response_code: '200' },
          value: get('ok'),
        });
        out.push({
          labels: { destination_workload: workload, response_code: '500' },
          value: get('errors'),
        });
      }
    }
    return out;
  }
}

function fractionAtOrBelow(p: Profile, le: number): number {
  if (le === Infinity) return 1;
  let fraction = 0;
  for (const [bound, share] of Object.entries(p.atOrBelow)) {
    if (Number(bound) <= le) fraction = Math.max(fraction, share);
  }
  return fraction;
}

/** A clock that moves only when the watch sleeps, advancing the mesh with it. */
function fakeClock(mesh: FakeMesh): Clock & { sleeps: number } {
  let now = 1_700_000_000_000;
  const clock = {
    sleeps: 0,
    now: () => now,
    sleep: (ms: number) => {
      clock.sleeps++;
      mesh.advance(ms / 1000);
      now += ms;
      return Promise.resolve();
    },
  };
  return clock;
}

function fakePrometheus(mesh: FakeMesh): PrometheusClient {
  return {
    endpoint: 'fake',
    query: (promql) => Promise.resolve(mesh.samples(promql.includes('_bucket'))),
  };
}

const PLAN: WatchPlan = {
  weight: 10,
  canary: { namespace: 'shop', workloads: ['backend-v2'] },
  stable: { namespace: 'shop', workloads: ['backend-v1'] },
  names: { canary: 'v2', stable: 'v1' },
};

function settingsOf(inputs: Record<string, string> = {}): Settings {
  const all: Record<string, string> = {
    'virtual-service': 'backend',
    'stable-subset': 'v1',
    'canary-subset': 'v2',
    weight: '10',
    duration: '5m',
    interval: '30s',
    ...inputs,
  };
  return parseSettings((name) => all[name]);
}

interface Run {
  result: WatchResult;
  logger: MemoryLogger;
  clock: Clock & { sleeps: number };
}

async function watch(
  mesh: FakeMesh,
  inputs: Record<string, string> = {},
  plan: Partial<WatchPlan> = {},
): Promise<Run> {
  const logger = new MemoryLogger();
  const clock = fakeClock(mesh);
  const deps = {
    clock,
    logger,
    signal: new AbortController().signal,
    runId: 'test',
    prometheus: () => fakePrometheus(mesh),
  } as unknown as RolloutDeps;
  const result = await watchWeight(settingsOf(inputs), deps, fakePrometheus(mesh), {
    ...PLAN,
    ...plan,
  });
  return { result, logger, clock };
}

function meshWith(canary: Partial<Profile>, stable: Partial<Profile> = {}): FakeMesh {
  const mesh = new FakeMesh();
  mesh.profiles = { canary: { ...FAST, ...canary }, stable: { ...FAST, ...stable } };
  mesh.history(3600);
  return mesh;
}

describe('watch loop under the sequential judge (fake Prometheus, fake clock)', () => {
  test('a healthy canary passes after the whole duration, every check carrying the evidence', async () => {
    const started = Date.now();
    const mesh = meshWith({});
    mesh.rps = 1000;
    const { result, logger, clock } = await watch(mesh);
    assert.ok(Date.now() - started < 5000, 'no real waiting');
    assert.equal(result.outcome, 'passed');
    assert.equal(clock.sleeps, 10);
    assert.equal(result.checks.length, 10);
    assert.equal(result.checks[0].warmUp, true);
    assert.equal(result.checks[0].verdict, 'no-data');
    assert.ok(result.checks.slice(1).every((c) => c.verdict === 'pass'));
    assert.ok(result.checks.every((c) => c.analysis?.decision === 'continue'));
    assert.ok(result.checks.every((c) => c.analysis!.pError > 0.05));
    assert.equal(result.conclusion?.outcome, 'shown-no-worse');
    assert.equal(result.conclusion?.windows, 9);
    assert.equal(result.conclusion?.warmUpWindows, 1);
    assert.match(
      logger.lines.join('\n'),
      /Sequential analysis: shown no worse: v2\/v1 error ratio < [\d.]+ at 99\.5% confidence/,
    );
    assert.match(logger.lines.join('\n'), /E err [\d.]+ slow [\d.]+ slo [\d.]+ p=[\d.]+ ratio /);
  });

  test('a healthy canary at low traffic passes, but only as inconclusive', async () => {
    const mesh = meshWith({});
    mesh.rps = 20;
    const { result, logger } = await watch(mesh);
    assert.equal(result.outcome, 'passed');
    assert.equal(result.conclusion?.outcome, 'inconclusive');
    assert.match(
      logger.lines.join('\n'),
      /Sequential analysis: inconclusive: too little traffic to show v2 is no worse/,
    );
  });

  test("latency boundaries are chosen from stable's history before the stage", async () => {
    const { result } = await watch(meshWith({}), { 'max-latency': '400' });
    // Stable: 10% slower than 100 ms, 1% slower than 250 ms; max-latency 400 is nearest 500.
    assert.deepEqual(result.conclusion?.latencyBoundariesMs, [100, 250, 500]);
  });

  test('a 10x canary is rolled back early by the error test, with the reason in words', async () => {
    const { result } = await watch(meshWith({ errorRate: 0.05 }));
    assert.equal(result.outcome, 'breach');
    assert.ok(result.checks.length <= 3, `${result.checks.length} checks`);
    const last = result.checks.at(-1)!;
    assert.equal(last.verdict, 'fail');
    assert.equal(last.analysis?.decision, 'rollback');
    assert.match(
      result.reason ?? '',
      /^v2 errors (9\.\d|10)x v1's \(\d+ of \d+ vs \d+ of \d+\), p < 0\.001: rolled back\.$/,
    );
    assert.equal(result.conclusion?.outcome, 'rolled-back');
    assert.ok(result.decidedAt !== undefined);
    assert.ok(result.total && result.total.canary.requests > 0);
  });

  test('a canary slow 10x as often is rolled back by the latency test', async () => {
    const slow: Profile['atOrBelow'] = { 25: 0.4, 50: 0.7, 100: 0.8, 250: 0.9, 500: 0.99, 1000: 1 };
    const { result } = await watch(meshWith({ atOrBelow: slow }));
    assert.equal(result.outcome, 'breach');
    assert.match(result.reason ?? '', /^v2 slower than \d+ ms [\d.]+x as often as v1, p/);
  });

  test('a degraded environment holds and passes: not evidence against the canary', async () => {
    const { result, logger } = await watch(meshWith({ errorRate: 0.03 }, { errorRate: 0.03 }));
    assert.equal(result.outcome, 'passed');
    const held = result.checks.filter((c) => c.analysis?.decision === 'hold-degraded');
    assert.ok(held.length > 0, 'the judge held');
    assert.ok(held.every((c) => c.verdict === 'pass'));
    assert.match(logger.lines.join('\n'), /warning: .*environment degraded, holding/);
    assert.match(logger.lines.join('\n'), /DEGRADED/);
    assert.equal(result.conclusion?.degraded, true);
  });

  test('a canary failing outright is rolled back in the warm-up window', async () => {
    const { result } = await watch(meshWith({ errorRate: 0.8 }));
    assert.equal(result.outcome, 'breach');
    assert.equal(result.checks.length, 1);
    assert.equal(result.checks[0].warmUp, true);
    assert.match(result.reason ?? '', /^v2 failed \d+ of \d+ requests since the weights moved/);
  });

  test('max-latency stays an absolute limit: failed checks count against failure-limit', async () => {
    const slow: Profile['atOrBelow'] = { 500: 0.5, 1000: 0.9, 2500: 1 };
    const mesh = meshWith({ atOrBelow: slow }, { atOrBelow: slow });
    const { result } = await watch(mesh, { 'max-latency': '1000' });
    assert.equal(result.outcome, 'breach');
    assert.equal(result.checks.length, 3, 'warm-up, one tolerated failure, then the breach');
    assert.match(
      result.reason ?? '',
      /^canary p99 latency \d+ ms > 1000 ms \(2 failed checks, failure-limit 1\)\.$/,
    );
    assert.ok(result.checks.every((c) => c.analysis?.decision === 'continue'));
  });

  test('no canary traffic is no-data, decided by on-no-data as in threshold mode', async () => {
    const mesh = meshWith({});
    mesh.weight = 0;
    const failed = await watch(mesh);
    assert.equal(failed.result.outcome, 'no-data');
    assert.match(failed.result.reason ?? '', /^No check had the 20 canary requests it needs/);
    assert.equal(failed.result.conclusion?.outcome, 'no-data');
    const passed = await watch(mesh, { 'on-no-data': 'pass' });
    assert.equal(passed.result.outcome, 'passed');
  });

  test("the judge's evidence carries over to the next weight of the job", async () => {
    const mesh = meshWith({});
    const first = await watch(mesh, { duration: '2m' });
    assert.equal(first.result.conclusion?.windows, 3);
    mesh.weight = 50;
    const second = await watch(
      mesh,
      { duration: '2m' },
      { weight: 50, analysis: first.result.analysis },
    );
    assert.equal(second.result.outcome, 'passed');
    assert.equal(second.result.checks[0].warmUp, true, 'a new weight starts with a warm-up');
    assert.equal(second.result.conclusion?.windows, 6);
    assert.equal(second.result.conclusion?.warmUpWindows, 2);
    assert.deepEqual(
      second.result.conclusion?.latencyBoundariesMs,
      first.result.conclusion?.latencyBoundariesMs,
    );
  });
});

describe('watch loop under analysis: threshold', () => {
  test('a 10x canary is rolled back by failed checks, as before, without judge evidence', async () => {
    const { result } = await watch(meshWith({ errorRate: 0.05 }), { analysis: 'threshold' });
    assert.equal(result.outcome, 'breach');
    assert.equal(result.checks.length, 3);
    assert.match(
      result.reason ?? '',
      /^canary success rate 95% < 99% \(\d+\/\d+ requests\) \(2 failed checks, failure-limit 1\)\.$/,
    );
    assert.ok(result.checks.every((c) => c.analysis === undefined));
    assert.equal(result.analysis, undefined);
    assert.equal(result.conclusion, undefined);
  });

  test('a degraded environment fails the canary: thresholds do not look at stable', async () => {
    const { result } = await watch(meshWith({ errorRate: 0.03 }, { errorRate: 0.03 }), {
      analysis: 'threshold',
    });
    assert.equal(result.outcome, 'breach');
  });
});
