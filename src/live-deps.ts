import { systemClock } from './clock.ts';
import type { Secrets } from './config/secrets.ts';
import type { Settings } from './config/settings.ts';
import { createCluster } from './kube/client.ts';
import type { Logger } from './logger.ts';
import { createPrometheusClient } from './metrics/prometheus.ts';
import type { RolloutDeps } from './rollout/deps.ts';

/**
 * The rollout's side effects against a real cluster and Prometheus, on the real clock: what every
 * front end runs with. Prometheus retries for twice the check interval (10 s to 60 s) before the
 * watch gives up and rolls back. A credential an exec plugin returns joins `secrets`.
 */
export function createLiveDeps(options: {
  settings: Settings;
  logger: Logger;
  signal: AbortSignal;
  runId: string;
  secrets: Secrets;
}): RolloutDeps {
  const { settings, logger, secrets } = options;
  const cluster = createCluster({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    clock: systemClock,
    logger,
    onCredential: (secret) => secrets.add([secret]),
  });
  return {
    cluster,
    clock: systemClock,
    logger,
    signal: options.signal,
    runId: options.runId,
    prometheus: (s) =>
      createPrometheusClient({
        url: s.prometheus.url,
        headers: s.prometheus.headers,
        token: s.prometheus.token,
        cluster,
        clock: systemClock,
        logger,
        maxElapsedMs: Math.min(60_000, Math.max(10_000, 2 * s.intervalMs)),
      }),
  };
}
