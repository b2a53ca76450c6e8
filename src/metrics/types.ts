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
  /** The sequential judge's evidence at this check; absent under `analysis: threshold`. */
  analysis?: CheckAnalysis;
}

/**
 * The sequential judge's numbers at one check, cumulative over the windows judged so far. An
 * e-value is the evidence against "the canary is no worse" (1 = none; the test rolls back when
 * it reaches 1/alpha's share); the anytime p-value stays valid however often it is looked at.
 */
export interface CheckAnalysis {
  /** `continue`, `rollback`, or `hold-degraded` (stable breaches min-success-rate too). */
  decision: 'continue' | 'rollback' | 'hold-degraded';
  /** Error rate, canary vs stable: e-value now and anytime p-value. */
  eError: number;
  pError: number;
  /** Slow requests at the latency boundaries, canary vs stable (1 and 1 without boundaries). */
  eLatency: number;
  pLatency: number;
  /** Canary error rate against min-success-rate. */
  eSlo: number;
  pSlo: number;
  /** Observed canary/stable error-rate ratio; absent while stable has no errors. */
  ratio?: number;
  /** Confidence bounds on that ratio; `ratioUpper` absent while the data cannot bound it. */
  ratioLower: number;
  ratioUpper?: number;
  /** Stable's own success rate is below min-success-rate: the environment is degraded. */
  degraded: boolean;
  /** The judge's sentence for this check. */
  sentence: string;
}
