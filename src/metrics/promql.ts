import { UserError } from '../errors.ts';

/**
 * The series of one version (canary or stable): Deployments in one namespace. The caller resolves
 * the Deployments from the DestinationRule subset's labels; nothing here guesses names.
 */
export interface VersionSelector {
  namespace: string;
  workloads: string[];
}

/** RFC 1123 label: what Kubernetes requires of a namespace name. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: what Kubernetes requires of a Deployment name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Characters that would end or escape a PromQL string or selector, or split a line. */
const UNSAFE = /["'`\\{}]|\p{Cc}/u;

/**
 * Returns `value` if it can be placed inside a double-quoted PromQL label matcher as is, else
 * throws a UserError naming `input`. Quotes, backslashes, braces and control characters could end
 * the string and smuggle in PromQL (`a"} or vector(1)`), so they are refused, not escaped.
 */
export function assertLabelValue(input: string, value: string): string {
  if (value === '' || UNSAFE.test(value)) {
    throw new UserError(
      `${input} ${JSON.stringify(value)} cannot be used in a PromQL label matcher: it must be non-empty, without quotes, backslashes, braces or line breaks.`,
    );
  }
  return value;
}

/** A namespace name (RFC 1123 label, at most 63 characters), or a UserError naming `input`. */
export function assertNamespace(input: string, value: string): string {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw new UserError(
      `${input} ${JSON.stringify(value)} is not a valid namespace name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters.`,
    );
  }
  return value;
}

/** A workload (Deployment) name (RFC 1123 subdomain, at most 253 characters), or a UserError. */
export function assertWorkloadName(input: string, value: string): string {
  if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    throw new UserError(
      `${input} ${JSON.stringify(value)} is not a valid workload name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters.`,
    );
  }
  return value;
}

/**
 * The workloads as one RE2 alternation for a `=~"..."` matcher, e.g. `reviews-v2|reviews-v2b`.
 * Names are validated first; RE2 metacharacters (in practice only `.`) are escaped, and the
 * escape's backslash doubled because the pattern sits inside a PromQL string literal.
 */
export function workloadRegex(workloads: string[]): string {
  if (workloads.length === 0) {
    throw new Error('A PromQL workload selector needs at least one workload.');
  }
  return workloads
    .map((w) => assertWorkloadName('Workload', w).replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&'))
    .join('|');
}

/**
 * Checks, before any write, that every value of `sel` can go into a query: the namespace and the
 * Deployment names, which are read from the cluster and so are not trusted. `side` names the
 * version in the error (`canary`). A name that could break out of a PromQL string is refused
 * here, while nothing has moved yet, rather than at the first query after the weights did.
 */
export function assertSelector(sel: VersionSelector, side: string): VersionSelector {
  assertNamespace(`The ${side}'s namespace`, sel.namespace);
  for (const workload of sel.workloads) {
    assertWorkloadName(`The ${side}'s Deployment (as the cluster names it)`, workload);
  }
  return sel;
}

/** The label matchers shared by every Istio query of one version. */
function istioMatchers(sel: VersionSelector): string {
  const namespace = assertNamespace('Namespace', sel.namespace);
  return `reporter="destination", destination_workload_namespace="${namespace}", destination_workload=~"${workloadRegex(sel.workloads)}"`;
}

/**
 * Raw request counters of the workloads, per workload, response code and scrape target.
 *
 * Summing over `instance` would merge counters of different pods; one pod restarting or going
 * away would then look like a reset of the whole sum and count every request again. Keeping
 * `instance` (one per sidecar) makes each series one process's counter, so resets are real.
 */
export function requestCountsQuery(sel: VersionSelector): string {
  return `sum by (destination_workload, response_code, instance) (istio_requests_total{${istioMatchers(sel)}})`;
}

/** Raw latency histogram buckets of the workloads, per workload, bucket and scrape target. */
export function latencyBucketsQuery(sel: VersionSelector): string {
  return `sum by (destination_workload, le, instance) (istio_request_duration_milliseconds_bucket{${istioMatchers(sel)}})`;
}

/**
 * How many Istio request series Prometheus holds for a namespace; empty when none.
 *
 * Preflight cannot demand canary series: a canary at weight 0 has served nothing, so it has none.
 * What it can check is that Istio's destination metrics reach this Prometheus at all (use
 * `istioMetricsExistQuery`; empty means a wrong URL or sidecars not scraped) and whether this
 * namespace has served anything yet (this query; empty means checks will start with no data).
 */
export function metricsExistQuery(namespace: string): string {
  return `count(istio_requests_total{reporter="destination", destination_workload_namespace="${assertNamespace('Namespace', namespace)}"})`;
}

/** How many Istio destination request series this Prometheus holds, mesh-wide. */
export function istioMetricsExistQuery(): string {
  return 'count(istio_requests_total{reporter="destination"})';
}
