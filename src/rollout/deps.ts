import type { Clock } from '../clock.ts';
import type { Settings } from '../config/settings.ts';
import type { Cluster } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';
import type { PrometheusClient } from '../metrics/types.ts';

/** The side effects a rollout needs, passed in so that every front end and test can supply its own. */
export interface RolloutDeps {
  cluster: Cluster;
  /** Builds the Prometheus client; called only when a watch or preflight needs metrics. */
  prometheus: (settings: Settings) => PrometheusClient;
  clock: Clock;
  logger: Logger;
  /** Aborted when the job is cancelled (SIGINT/SIGTERM): the rollout restores the route and stops. */
  signal: AbortSignal;
  /** Identifies this run in the state annotations (e.g. repo/run-id/attempt/job). */
  runId: string;
}
