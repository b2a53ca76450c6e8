import { UserError } from '../errors.ts';
import { latencyBucketsQuery, requestCountsQuery } from './promql.ts';
import type { VersionSelector } from './promql.ts';
import type { PrometheusClient, Sample } from './types.ts';

export type Version = 'canary' | 'stable';

/** One raw request counter: requests of one version with one response code, from one source. */
export interface RequestSeries {
  /** Identity of the series (all its labels), to pair it across snapshots. */
  key: string;
  version: Version;
  responseCode: string;
  value: number;
}

/** One raw cumulative histogram bucket: requests of one version at or below `le` ms. */
export interface BucketSeries {
  key: string;
  version: Version;
  le: number;
  value: number;
}

/** Raw counter values of both versions, read at one moment. */
export interface Snapshot {
  requests: RequestSeries[];
  buckets: BucketSeries[];
}

/** What one version did between two snapshots, in whole requests. */
export interface WindowCounts {
  requests: number;
  /** Responses with a 5xx code. */
  errors: number;
  /** Cumulative histogram of the window's requests (count at or below `le` ms), by ascending `le`. */
  buckets: { le: number; count: number }[];
}

/**
 * Reads the raw counters of both versions: two instant queries (request counts by code, latency
 * buckets). Counters, not `increase()`: differencing them gives whole numbers of requests, which
 * the statistics need (docs/analysis.md, "Counts, not rates").
 */
export async function takeSnapshot(
  prom: PrometheusClient,
  canary: VersionSelector,
  stable: VersionSelector,
): Promise<Snapshot> {
  const versionOf = versionLookup(canary, stable);
  const selectors = combinedSelectors(canary, stable);
  const [requests, buckets] = await Promise.all([
    queryEach(prom, selectors, requestCountsQuery),
    queryEach(prom, selectors, latencyBucketsQuery),
  ]);
  return {
    requests: requests.flatMap((s) => toRequestSeries(s, versionOf)),
    buckets: buckets.flatMap((s) => toBucketSeries(s, versionOf)),
  };
}

/**
 * What each version did between `prev` and `next`: per series, the increase of its counter.
 *
 * - A series whose value dropped was reset (its process restarted and counted again from 0): its
 *   increase is its new value, as Prometheus's `increase()` does, without extrapolation.
 * - A series in `next` but not in `prev` is new since `prev` (Istio creates a series at its first
 *   request: a new pod, a first 503), so its whole value happened in the window and counts in full.
 *   Hence `prev` must be a real reading taken when the window began (after the weight change),
 *   never an empty placeholder, or every request since the pods started would count.
 * - A series in `prev` but not in `next` has gone (its pod was removed): it adds nothing; the few
 *   requests it served after `prev` are lost, which undercounts slightly rather than inventing any.
 */
export function windowCounts(prev: Snapshot, next: Snapshot): Record<Version, WindowCounts> {
  const empty = (): WindowCounts => ({ requests: 0, errors: 0, buckets: [] });
  const result: Record<Version, WindowCounts> = { canary: empty(), stable: empty() };
  const before = new Map(prev.requests.map((s) => [s.key, s.value]));
  for (const series of next.requests) {
    const increase = counterIncrease(before.get(series.key), series.value);
    result[series.version].requests += increase;
    if (series.responseCode.startsWith('5')) result[series.version].errors += increase;
  }
  const bucketsBefore = new Map(prev.buckets.map((s) => [s.key, s.value]));
  const perLe: Record<Version, Map<number, number>> = { canary: new Map(), stable: new Map() };
  for (const series of next.buckets) {
    const increase = counterIncrease(bucketsBefore.get(series.key), series.value);
    const byLe = perLe[series.version];
    byLe.set(series.le, (byLe.get(series.le) ?? 0) + increase);
  }
  for (const version of ['canary', 'stable'] as const) {
    result[version].buckets = [...perLe[version]]
      .map(([le, count]) => ({ le, count }))
      .sort((a, b) => a.le - b.le);
  }
  return result;
}

/** Increase of one counter; a drop means a reset, after which the new value is all increase. */
function counterIncrease(before: number | undefined, after: number): number {
  if (!Number.isFinite(after)) return 0;
  if (before === undefined || !Number.isFinite(before) || after < before) return after;
  return after - before;
}

/** One selector per namespace, so both versions usually share one query. */
function combinedSelectors(canary: VersionSelector, stable: VersionSelector): VersionSelector[] {
  if (canary.namespace !== stable.namespace) return [canary, stable];
  return [{ namespace: canary.namespace, workloads: [...canary.workloads, ...stable.workloads] }];
}

/** Maps `namespace/workload` to its version; a workload in both versions cannot be told apart. */
function versionLookup(canary: VersionSelector, stable: VersionSelector): Map<string, Version> {
  const lookup = new Map<string, Version>();
  for (const w of stable.workloads) lookup.set(`${stable.namespace}/${w}`, 'stable');
  for (const w of canary.workloads) {
    const id = `${canary.namespace}/${w}`;
    if (lookup.has(id)) {
      throw new UserError(
        `Deployment ${w} in ${canary.namespace} matches both the canary and the stable subset; their traffic cannot be told apart. Give the subsets labels that select different Deployments.`,
      );
    }
    lookup.set(id, 'canary');
  }
  return lookup;
}

/** A sample with the namespace of the selector that asked for it (not a label of the result). */
interface NamespacedSample {
  namespace: string;
  sample: Sample;
}

async function queryEach(
  prom: PrometheusClient,
  selectors: VersionSelector[],
  build: (sel: VersionSelector) => string,
): Promise<NamespacedSample[]> {
  const results = await Promise.all(
    selectors.map(async (sel) =>
      (await prom.query(build(sel))).map((sample) => ({ namespace: sel.namespace, sample })),
    ),
  );
  return results.flat();
}

function versionOfSample(
  { namespace, sample }: NamespacedSample,
  versionOf: Map<string, Version>,
): Version | undefined {
  const workload = sample.labels.destination_workload;
  return workload === undefined ? undefined : versionOf.get(`${namespace}/${workload}`);
}

function toRequestSeries(
  found: NamespacedSample,
  versionOf: Map<string, Version>,
): RequestSeries[] {
  const version = versionOfSample(found, versionOf);
  if (!version) return [];
  const { labels, value } = found.sample;
  const responseCode = labels.response_code ?? '';
  return [{ key: seriesKey(found), version, responseCode, value }];
}

function toBucketSeries(found: NamespacedSample, versionOf: Map<string, Version>): BucketSeries[] {
  const version = versionOfSample(found, versionOf);
  const le = parseLe(found.sample.labels.le);
  if (!version || le === undefined) return [];
  return [{ key: seriesKey(found), version, le, value: found.sample.value }];
}

/** Bucket bounds as Prometheus writes them: decimal numbers and `+Inf`. */
function parseLe(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  const value = Number(text);
  return text.trim() === '' || Number.isNaN(value) ? undefined : value;
}

/** A stable identity for a series, whatever order Prometheus returned the labels in. */
function seriesKey({ namespace, sample }: NamespacedSample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([namespace, labels]);
}
