import { systemClock } from './clock.ts';
import {
  stepDeadlineMs,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_STEP_GRACE_MS,
  type CallLimits,
} from './config/deadlines.ts';
import type { Secrets } from './config/secrets.ts';
import type { Settings } from './config/settings.ts';
import type { ProtectedRun } from './exit-guard.ts';
import { createCluster } from './kube/client.ts';
import { writeFence } from './kube/write-fence.ts';
import type { Logger } from './logger.ts';
import { createPrometheusClient } from './metrics/prometheus.ts';
import { InFlightCalls } from './net/in-flight.ts';
import type { RolloutDeps } from './rollout/deps.ts';
import { emergencyRestore } from './rollout/emergency-restore.ts';

/** What every front end runs with: the rollout's side effects, and what the exit guard needs. */
export interface LiveRun {
  deps: RolloutDeps;
  protection: ProtectedRun;
}

interface LiveOptions {
  settings: Settings;
  logger: Logger;
  signal: AbortSignal;
  runId: string;
  /** The run's secrets: a credential an exec plugin returns joins them. */
  secrets: Secrets;
  limits?: CallLimits;
}

/**
 * The rollout's side effects against a real cluster and Prometheus, on the real clock. Every
 * call has one deadline, retries included (`limits.callTimeoutMs`); Prometheus retries for twice
 * the check interval (at least 10 s), within that deadline, before the watch gives up and rolls
 * back. The cluster's writes are fenced, so that the exit guard's restore is the last word.
 */
export function createLiveRun(options: LiveOptions): LiveRun {
  const { settings, logger } = options;
  const limits = options.limits ?? {
    callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
    stepGraceMs: DEFAULT_STEP_GRACE_MS,
  };
  const calls = new InFlightCalls();
  const fence = writeFence(
    createCluster({
      kubeconfig: settings.kubeconfig,
      context: settings.context,
      clock: systemClock,
      logger,
      callTimeoutMs: limits.callTimeoutMs,
      calls,
      onCredential: (secret) => options.secrets.add([secret]),
    }),
  );
  const deps: RolloutDeps = {
    cluster: fence.cluster,
    clock: systemClock,
    logger,
    signal: options.signal,
    runId: options.runId,
    prometheus: (s) =>
      createPrometheusClient({
        url: s.prometheus.url,
        headers: s.prometheus.headers,
        token: s.prometheus.token,
        cluster: fence.cluster,
        clock: systemClock,
        logger,
        maxElapsedMs: Math.min(limits.callTimeoutMs, Math.max(10_000, 2 * s.intervalMs)),
        calls,
        signal: options.signal,
      }),
  };
  const deadlineMs = stepDeadlineMs(settings, limits);
  const protection: ProtectedRun = {
    wrote: () => fence.wrote(),
    longestCall: () => calls.longest(),
  };
  if (deadlineMs !== undefined) {
    protection.deadline = {
      plannedMs: deadlineMs - limits.stepGraceMs,
      graceMs: limits.stepGraceMs,
    };
    protection.restore = () => emergencyRestore(settings, deps, fence);
  }
  return { deps, protection };
}

/** The rollout's side effects alone, for a front end without an exit guard (the post step). */
export function createLiveDeps(options: LiveOptions): RolloutDeps {
  return createLiveRun(options).deps;
}
