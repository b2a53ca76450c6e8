/**
 * Istio's standard metrics as the sidecars export them: one counter and one latency histogram per
 * label set, for the source and the destination reporter, in Prometheus text format 0.0.4.
 */

/** Istio's default latency buckets in ms (the `+Inf` bucket is implied). */
export const ISTIO_BUCKETS_MS = [
  1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

/**
 * The `le` values as Envoy prints them (`%g`, so the two largest get an exponent). Queries that
 * select a bucket by `le` must see the same strings as against a real mesh.
 */
const BUCKET_LABELS = [
  ...ISTIO_BUCKETS_MS.map((b) => (b >= 1e6 ? `${b / 1e6}e+06` : String(b))),
  '+Inf',
];

/** The labels of every Istio request metric, in the order they are printed. */
export const ISTIO_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_workload_namespace',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_code',
  'response_flags',
  'connection_security_policy',
] as const;

export type IstioLabelName = (typeof ISTIO_LABEL_NAMES)[number];
export type IstioLabels = Record<IstioLabelName, string>;

/** One label set's counter and histogram (the histogram's count is the counter). */
export interface Series {
  readonly labels: IstioLabels;
  requests: number;
  /** Per-bucket (not cumulative) counts; the last one is `+Inf`. */
  readonly buckets: number[];
  sumMs: number;
}

/** One sample as PromQL sees it. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export const REQUESTS_TOTAL = 'istio_requests_total';
export const DURATION = 'istio_request_duration_milliseconds';

function seriesKey(labels: IstioLabels): string {
  return ISTIO_LABEL_NAMES.map((n) => labels[n]).join('\u0000');
}

function bucketIndex(latencyMs: number): number {
  for (let i = 0; i < ISTIO_BUCKETS_MS.length; i++) {
    if (latencyMs <= ISTIO_BUCKETS_MS[i]) return i;
  }
  return ISTIO_BUCKETS_MS.length;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: IstioLabels, extra?: string): string {
  const parts = ISTIO_LABEL_NAMES.map((n) => `${n}="${escapeLabel(labels[n])}"`);
  if (extra !== undefined) parts.push(extra);
  return `{${parts.join(',')}}`;
}

/** The simulator's metric registry: series keyed by label set, counters that only grow. */
export class IstioMetrics {
  private readonly series = new Map<string, Series>();

  /** The series for a label set, created at zero on first use. */
  seriesFor(labels: IstioLabels): Series {
    const key = seriesKey(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels,
        requests: 0,
        buckets: new Array<number>(BUCKET_LABELS.length).fill(0),
        sumMs: 0,
      };
      this.series.set(key, s);
    }
    return s;
  }

  /** Counts one request of the given latency. */
  static observe(series: Series, latencyMs: number): void {
    series.requests++;
    series.buckets[bucketIndex(latencyMs)]++;
    series.sumMs += latencyMs;
  }

  /** Drops every series, as a restarted sidecar starts its counters again from nothing. */
  reset(): void {
    this.series.clear();
  }

  /** Every series, in a stable order. */
  all(): Series[] {
    return [...this.series.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  }

  /** The Prometheus text exposition (format 0.0.4) of all series. */
  exposition(): string {
    const series = this.all();
    const lines: string[] = [
      `# HELP ${REQUESTS_TOTAL} Total requests.`,
      `# TYPE ${REQUESTS_TOTAL} counter`,
    ];
    for (const s of series) lines.push(`${REQUESTS_TOTAL}${formatLabels(s.labels)} ${s.requests}`);
    lines.push(
      `# HELP ${DURATION} Request duration in milliseconds.`,
      `# TYPE ${DURATION} histogram`,
    );
    for (const s of series) lines.push(...histogramLines(s));
    return `${lines.join('\n')}\n`;
  }

  /** The same data as PromQL samples, for the built-in query evaluator. */
  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const s of this.series.values()) {
      out.push({ name: REQUESTS_TOTAL, labels: s.labels, value: s.requests });
      let cumulative = 0;
      s.buckets.forEach((count, i) => {
        cumulative += count;
        const labels = { ...s.labels, le: BUCKET_LABELS[i] };
        out.push({ name: `${DURATION}_bucket`, labels, value: cumulative });
      });
      out.push({ name: `${DURATION}_sum`, labels: s.labels, value: s.sumMs });
      out.push({ name: `${DURATION}_count`, labels: s.labels, value: s.requests });
    }
    return out;
  }
}

function histogramLines(s: Series): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  s.buckets.forEach((count, i) => {
    cumulative += count;
    const le = `le="${BUCKET_LABELS[i]}"`;
    lines.push(`${DURATION}_bucket${formatLabels(s.labels, le)} ${cumulative}`);
  });
  lines.push(`${DURATION}_sum${formatLabels(s.labels)} ${s.sumMs}`);
  lines.push(`${DURATION}_count${formatLabels(s.labels)} ${s.requests}`);
  return lines;
}
