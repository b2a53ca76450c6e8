import { parse } from 'yaml';
import { UserError } from '../errors.ts';
import { RetryExhaustedError } from '../retry.ts';
import { assertNamespace, workloadRegex } from './promql.ts';
import { formatNumber } from './thresholds.ts';
import type { CustomCheckResult, PrometheusClient } from './types.ts';

/** One user-defined PromQL check from the `metrics` input. */
export interface CustomMetric {
  /** Unique name, shown in logs and reports. */
  name: string;
  /** PromQL returning one value; may use the placeholders of `CustomMetricVars`. */
  query: string;
  /** The value must be at least this. */
  min?: number;
  /** The value must be at most this. */
  max?: number;
}

/** Values substituted into custom queries, validated before use. */
export interface CustomMetricVars {
  /** `{{ namespace }}`: namespace of the workloads. */
  namespace: string;
  /** `{{ canary_workload }}`: the canary Deployments as a regex alternation, for `=~"..."`. */
  canaryWorkloads: string[];
  /** `{{ stable_workload }}`: the stable Deployments as a regex alternation, for `=~"..."`. */
  stableWorkloads: string[];
  /** `{{ interval }}`: the check interval as a Prometheus duration (`30s`). */
  intervalMs: number;
}

const PLACEHOLDERS = ['namespace', 'canary_workload', 'stable_workload', 'interval'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const NAME = /^[A-Za-z0-9]([A-Za-z0-9 _.-]{0,61}[A-Za-z0-9_.-])?$/;
const KEYS = new Set(['name', 'query', 'min', 'max']);
const FORMS = 'a YAML list of {name, query, min and/or max}';

/**
 * Parses the `metrics` input: a YAML list of `{ name, query, min?, max? }`, each with at least one
 * bound, names unique, only known placeholders. Empty text means no custom checks. Errors name
 * the input and the item, so a person can find the line to fix.
 */
export function parseCustomMetrics(yamlText: string): CustomMetric[] {
  let doc: unknown;
  try {
    doc = parse(yamlText);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserError(`Input "metrics" is not valid YAML (${why}); expected ${FORMS}.`);
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new UserError(`Input "metrics" must be ${FORMS}.`);
  const metrics = doc.map((item: unknown, i) => parseItem(item, i + 1));
  const seen = new Set<string>();
  for (const m of metrics) {
    if (seen.has(m.name))
      throw new UserError(
        `Input "metrics": the name "${m.name}" is used twice; names must be unique.`,
      );
    seen.add(m.name);
  }
  return metrics;
}

function parseItem(item: unknown, position: number): CustomMetric {
  const fail = (why: string): never => {
    throw new UserError(`Input "metrics", item ${position}${label(item)}: ${why}.`);
  };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return fail(`expected a mapping with name, query, min and/or max`);
  }
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !KEYS.has(k));
  if (unknown.length > 0)
    fail(`unknown field ${unknown.join(', ')} (allowed: name, query, min, max)`);
  const { name, query, min, max } = fields;
  if (typeof name !== 'string' || !NAME.test(name)) {
    fail(`name must be 1-63 letters, digits, spaces, '.', '_' or '-'`);
  }
  if (typeof query !== 'string' || query.trim() === '')
    fail('query must be a non-empty PromQL string');
  const metric: CustomMetric = { name: name as string, query: (query as string).trim() };
  const placeholderError = checkPlaceholders(metric.query);
  if (placeholderError) fail(placeholderError);
  if (min !== undefined) metric.min = bound('min', min, fail);
  if (max !== undefined) metric.max = bound('max', max, fail);
  if (metric.min === undefined && metric.max === undefined) fail('give min, max or both');
  if (metric.min !== undefined && metric.max !== undefined && metric.min > metric.max) {
    fail(`min ${metric.min} is above max ${metric.max}`);
  }
  return metric;
}

function bound(key: string, value: unknown, fail: (why: string) => never): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${key} must be a number`);
  return value;
}

/** ` ("name")` when the item has a usable name, to point at it. */
function label(item: unknown): string {
  const name = (item as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? ` (${JSON.stringify(name)})` : '';
}

/** Why the query's placeholders are wrong, or undefined when they are fine. */
function checkPlaceholders(query: string): string | undefined {
  for (const [, name] of query.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      return `unknown placeholder {{ ${name} }} (known: ${PLACEHOLDERS.map((p) => `{{ ${p} }}`).join(', ')})`;
    }
  }
  if (query.replace(PLACEHOLDER, '').includes('{{'))
    return 'malformed placeholder: write {{ name }}';
  return undefined;
}

/**
 * Substitutes the placeholders with validated values. Workloads become a regex alternation with
 * dots escaped for a PromQL string, so use them with `=~`: `destination_workload=~"{{ canary_workload }}"`.
 */
export function renderQuery(query: string, vars: CustomMetricVars): string {
  const values: Record<Placeholder, () => string> = {
    namespace: () => assertNamespace('Namespace', vars.namespace),
    canary_workload: () => workloadRegex(vars.canaryWorkloads),
    stable_workload: () => workloadRegex(vars.stableWorkloads),
    interval: () => promDuration(vars.intervalMs),
  };
  return query.replace(PLACEHOLDER, (_, name: string) => values[name as Placeholder]());
}

/** Milliseconds as a Prometheus duration: `30s`, or `1500ms` when not whole seconds. */
export function promDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0)
    throw new RangeError(`interval ${ms} ms is not a positive whole number`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Runs each custom check once. No sample, or NaN (e.g. 0/0 without traffic): no-data. More than
 * one sample is the query's fault, not the canary's, and no single value could be judged from it,
 * so it throws a UserError asking for an aggregation; preflight should run the checks once to
 * surface that before any weight moves.
 */
export async function runCustomChecks(
  prom: PrometheusClient,
  metrics: CustomMetric[],
  vars: CustomMetricVars,
): Promise<CustomCheckResult[]> {
  return Promise.all(metrics.map((m) => runOne(prom, m, vars)));
}

async function runOne(
  prom: PrometheusClient,
  metric: CustomMetric,
  vars: CustomMetricVars,
): Promise<CustomCheckResult> {
  const { name } = metric;
  const samples = await prom.query(renderQuery(metric.query, vars)).catch((error: unknown) => {
    // A rejected query is the check's own fault: say which one. Prometheus being down is not.
    if (error instanceof UserError && !(error instanceof RetryExhaustedError)) {
      throw new UserError(`Input "metrics", check "${name}": ${error.message}`, { cause: error });
    }
    throw error;
  });
  if (samples.length > 1) {
    const shown = samples
      .slice(0, 2)
      .map((s) => JSON.stringify(s.labels))
      .join(', ');
    throw new UserError(
      `Input "metrics", check "${name}": the query returned ${samples.length} series (${shown}${samples.length > 2 ? ', ...' : ''}); a check needs exactly one value, so aggregate it (sum, max, ...).`,
    );
  }
  const value = samples[0]?.value;
  if (value === undefined)
    return { name, verdict: 'no-data', reason: `custom check "${name}" returned no sample` };
  if (Number.isNaN(value))
    return {
      name,
      value,
      verdict: 'no-data',
      reason: `custom check "${name}" is NaN (nothing to compute it from)`,
    };
  if (metric.min !== undefined && value < metric.min) {
    return {
      name,
      value,
      verdict: 'fail',
      reason: `custom check "${name}" = ${formatNumber(value)} < min ${formatNumber(metric.min)}`,
    };
  }
  if (metric.max !== undefined && value > metric.max) {
    return {
      name,
      value,
      verdict: 'fail',
      reason: `custom check "${name}" = ${formatNumber(value)} > max ${formatNumber(metric.max)}`,
    };
  }
  return { name, value, verdict: 'pass' };
}
