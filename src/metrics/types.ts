/** One element of a Prometheus instant vector. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus HTTP API as the rollout uses it: instant queries only. */
export interface PrometheusClient {
  /** Human-readable endpoint for messages (never contains credentials). */
  readonly endpoint: string;
  /** Runs an instant query; a scalar result comes back as one sample with no labels. */
  query(promql: string): Promise<Sample[]>;
}

/** Traffic of one version (canary or stable) within one check window. */
export interface VersionStats {
  /** Requests completed in the window. */
  requests: number;
  /** Responses with a 5xx code in the window. */
  errors: number;
  /** Percent of requests that were not 5xx; undefined when there were no requests. */
  successRate?: number;
  /** Latency in ms at the configured percentile; undefined without data. */
  latencyMs?: number;
}

export type Verdict = 'pass' | 'fail' | 'no-data';

/** The value of one user-defined PromQL check. */
export interface CustomCheckResult {
  name: string;
  value?: number;
  verdict: Verdict;
  /** Why it failed or had no data, in words. */
  reason?: string;
}

/** One metric check: what was seen and what was decided. */
export interface CheckResult {
  /** Milliseconds since the watch of this weight began. */
  elapsedMs: number;
  /** The canary weight in force during the window. */
  weight: number;
  verdict: Verdict;
  canary: VersionStats;
  stable: VersionStats;
  custom: CustomCheckResult[];
  /** One sentence per failed criterion; empty when the check passed. */
  reasons: string[];
  /**
   * The first window after a weight change: Prometheus lags its scrapes, so this window may hold
   * traffic from before the change. It is shown but not judged, unless the canary is failing
   * outright (the catastrophic fast path).
   */
  warmUp?: boolean;
}
