import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors.ts';
import { parseDependents, type DependentSpec } from '../istio/dependents.ts';
import { parseMirrorPercent } from '../istio/mirror.ts';
import { assertDns1123 } from '../istio/names.ts';
import { assertRouteInput } from '../istio/route.ts';
import { parseCanaryMatch, parseCanaryMatchWeight } from '../istio/testers.ts';
import type { HTTPMatchRequest } from '../istio/types.ts';
import { parseWeights } from '../istio/weights.ts';
import { parseCustomMetrics, type CustomMetric } from '../metrics/custom.ts';
import { parsePrometheusUrl } from '../metrics/prometheus.ts';
import { parseDuration } from './duration.ts';
import { ignoredInputs } from './ignored-inputs.ts';
import { INPUTS } from './inputs.ts';
import { isBase64Kubeconfig } from './secrets.ts';

export type Command = 'step' | 'promote' | 'rollback' | 'status';

/** Where Prometheus is and how to authenticate to it. */
export interface PrometheusSettings {
  /** `http(s)://...` or `k8s://<namespace>/<service>:<port>`. */
  url: string;
  /** Extra request headers. */
  headers: Record<string, string>;
  /** Bearer token, sent as `Authorization: Bearer`. */
  token?: string;
}

/** Everything the step was asked to do, read once, validated, defaults applied. */
export interface Settings {
  /** What to do. */
  command: Command;
  /** Kubeconfig YAML (decoded when given as base64); undefined = default loading rules. */
  kubeconfig?: string;
  /** Kubeconfig context; undefined = current context. */
  context?: string;
  /** Namespace of the VirtualService; undefined = the context's namespace, else `default`. */
  namespace?: string;
  /** VirtualService name: the first of `virtualServices`, which carries the dependents. */
  virtualService: string;
  /** Every VirtualService the stage moves together, in the order given (at least one). */
  virtualServices: string[];
  /**
   * Name of the http route to shift, or `http[N]` for its position; undefined = the one route
   * sending to the stable subset.
   */
  route?: string;
  /** Destination host under rollout; undefined = taken from the route. */
  host?: string;
  /** DestinationRule holding the subsets; undefined = the one whose host matches. */
  destinationRule?: string;
  /** Subset of the running version (required for step and promote). */
  stableSubset?: string;
  /** Subset of the new version (required for step and promote). */
  canarySubset?: string;
  /** Host canaries: the Service of the running version; set together with `canaryHost`. */
  stableHost?: string;
  /** Host canaries: the Service of the new version; set together with `stableHost`. */
  canaryHost?: string;
  /** Tester route conditions (`canary-match`); undefined = no tester route. */
  canaryMatch?: HTTPMatchRequest[];
  /** Percent of the tester requests sent to the canary, 1-100. */
  canaryMatchWeight: number;
  /** Percent of the route's requests mirrored to the canary; undefined = no mirror. */
  mirrorPercent?: number;
  /** Other VirtualServices whose canary the canary's pods must call; empty = none. */
  dependents: DependentSpec[];
  /** Canary weights this job walks, in order (step only). */
  weights: number[];
  /** Watch time after each weight change, ms; 0 = no watch. */
  durationMs: number;
  /** Time between metric checks, ms. */
  intervalMs: number;
  /** Prometheus endpoint and credentials. */
  prometheus: PrometheusSettings;
  /** Percent of canary responses that must not be 5xx. */
  minSuccessRate: number;
  /** Canary latency limit in ms at `latencyPercentile`; undefined = off. */
  maxLatencyMs?: number;
  /** Percentile for the latency check and reports. */
  latencyPercentile: number;
  /** Canary requests a check needs before it counts. */
  minRequests: number;
  /** Failed checks tolerated; one more rolls back. */
  failureLimit: number;
  /** How the canary is judged: the sequential test against stable, or absolute thresholds. */
  analysis: 'sequential' | 'threshold';
  /** Sequential analysis: the false-rollback budget of a canary that is no worse, in (0, 0.5]. */
  alpha: number;
  /** Sequential analysis: the tolerated canary/stable error-rate ratio (the null r0), >= 1. */
  maxErrorRatio: number;
  /** User-defined PromQL checks. */
  metrics: CustomMetric[];
  /** What a watch without enough canary traffic means. */
  onNoData: 'fail' | 'pass';
  /**
   * Promote only: afterwards remove the old (stable) subset from the DestinationRule once nothing
   * routes to it. Workloads are never deleted.
   */
  cleanup: boolean;
  /** Print the planned change and touch nothing. */
  dryRun: boolean;
  /** Token for commit statuses; undefined = none posted. */
  githubToken?: string;
  /** One warning per input given that has no effect for this command (see ignoredInputs). */
  ignoredInputs: string[];
}

/** Reads one raw input by its action name; empty or whitespace means "not given". */
export type InputReader = (name: string) => string | undefined;

/** Longest watch a job can hold (GitHub's job limit is 6 hours). */
const MAX_DURATION_MS = 6 * 3_600_000;

/** A false-rollback budget above one half would be no protection at all. */
const MAX_ALPHA = 0.5;
/** A tolerance beyond this would let the canary fail almost every request stable serves. */
const MAX_ERROR_RATIO = 1000;

/** Reads and validates every input. Throws UserError naming the first bad input. */
export function parseSettings(read: InputReader): Settings {
  const raw = (name: string): string | undefined => {
    const value = read(name);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const withDefault = (name: string): string => raw(name) ?? defaultOf(name);
  // YAML keeps its indentation: trimming the first line alone could change its structure.
  const yaml = (name: string): string | undefined =>
    raw(name) === undefined ? undefined : read(name);

  const command = oneOf('command', withDefault('command'), [
    'step',
    'promote',
    'rollback',
    'status',
  ]);
  const virtualServices = parseNameList('virtual-service', raw('virtual-service'));
  if (virtualServices.length === 0)
    throw new UserError(
      'Input "virtual-service" is required: the name of the VirtualService to shift.',
    );

  const settings: Settings = {
    command,
    kubeconfig: decodeKubeconfig(read('kubeconfig')),
    context: raw('context'),
    namespace: optionalName('namespace', raw('namespace'), 'label'),
    virtualService: virtualServices[0],
    virtualServices,
    route: optional(raw('route'), (value) => assertRouteInput('Input "route"', value)),
    host: raw('host'),
    destinationRule: optionalName('destination-rule', raw('destination-rule'), 'subdomain'),
    stableSubset: optionalName('stable-subset', raw('stable-subset'), 'label'),
    canarySubset: optionalName('canary-subset', raw('canary-subset'), 'label'),
    stableHost: optionalName('stable-host', raw('stable-host'), 'subdomain'),
    canaryHost: optionalName('canary-host', raw('canary-host'), 'subdomain'),
    canaryMatch: optional(yaml('canary-match'), parseCanaryMatch),
    canaryMatchWeight: parseCanaryMatchWeight(withDefault('canary-match-weight')),
    mirrorPercent: optional(raw('mirror-percent'), parseMirrorPercent),
    dependents: optional(yaml('dependents'), parseDependents) ?? [],
    weights: [],
    durationMs: parseDuration('duration', withDefault('duration'), MAX_DURATION_MS),
    intervalMs: parseDuration('interval', withDefault('interval'), MAX_DURATION_MS),
    prometheus: {
      url: withDefault('prometheus-url'),
      headers: parseHeaders(raw('prometheus-headers')),
      token: raw('prometheus-token'),
    },
    minSuccessRate: number('min-success-rate', withDefault('min-success-rate'), 0, 100),
    maxLatencyMs: optional(raw('max-latency'), (v) => number('max-latency', v, 0, 3_600_000, true)),
    latencyPercentile: number('latency-percentile', withDefault('latency-percentile'), 1, 99.99),
    minRequests: integer('min-requests', withDefault('min-requests'), 0),
    failureLimit: integer('failure-limit', withDefault('failure-limit'), 0),
    analysis: oneOf('analysis', withDefault('analysis'), ['sequential', 'threshold']),
    alpha: number('alpha', withDefault('alpha'), 0, MAX_ALPHA, true),
    maxErrorRatio: number('max-error-ratio', withDefault('max-error-ratio'), 1, MAX_ERROR_RATIO),
    metrics: optional(raw('metrics'), parseCustomMetrics) ?? [],
    onNoData: oneOf('on-no-data', withDefault('on-no-data'), ['fail', 'pass']),
    cleanup: boolean('cleanup', withDefault('cleanup')),
    dryRun: boolean('dry-run', withDefault('dry-run')),
    githubToken: raw('github-token'),
    ignoredInputs: ignoredInputs(command, raw),
  };
  parsePrometheusUrl(settings.prometheus.url);
  if (settings.intervalMs < 1000) {
    throw new UserError(`Input "interval" must be at least 1s; got "${withDefault('interval')}".`);
  }
  requireForCommand(settings, raw('weight'));
  checkWatch(settings, withDefault('duration'), withDefault('interval'));
  return settings;
}

/**
 * A step whose interval is not shorter than its duration would end its watch before the first
 * check: nothing judged, and with `on-no-data: pass` a failing canary would pass.
 */
function checkWatch(settings: Settings, duration: string, interval: string): void {
  if (settings.command !== 'step' || settings.durationMs === 0) return;
  if (settings.intervalMs >= settings.durationMs) {
    throw new UserError(
      `Input "interval" (${interval}) must be shorter than input "duration" (${duration}): the watch ` +
        'would end before its first check and judge nothing. Set a shorter interval or a longer ' +
        'duration (duration 0 skips the watch).',
    );
  }
}

function requireForCommand(settings: Settings, weight: string | undefined): void {
  const { command } = settings;
  checkHosts(settings);
  if ((command === 'step' || command === 'promote') && settings.stableHost === undefined) {
    for (const name of ['stable-subset', 'canary-subset'] as const) {
      const value = name === 'stable-subset' ? settings.stableSubset : settings.canarySubset;
      if (!value) throw new UserError(`Input "${name}" is required for command "${command}".`);
    }
    if (settings.stableSubset === settings.canarySubset) {
      throw new UserError(
        `Inputs "stable-subset" and "canary-subset" must differ; both are "${settings.stableSubset}".`,
      );
    }
  }
  if (command === 'step') {
    if (weight === undefined) {
      throw new UserError(
        'Input "weight" is required for command "step": a percent 0-100 or a list like 10,25,50.',
      );
    }
    settings.weights = parseWeights(weight);
  }
}

/**
 * Host canaries name two Services instead of two subsets: both hosts or neither, never mixed
 * with subsets (the route would not know which pair to split).
 */
function checkHosts(settings: Settings): void {
  const { stableHost, canaryHost } = settings;
  if (stableHost === undefined && canaryHost === undefined) return;
  if (stableHost === undefined || canaryHost === undefined) {
    const missing = stableHost === undefined ? 'stable-host' : 'canary-host';
    throw new UserError(
      `Input "${missing}" is required with "${missing === 'stable-host' ? 'canary-host' : 'stable-host'}": a host canary names both Services.`,
    );
  }
  if (stableHost === canaryHost) {
    throw new UserError(
      `Inputs "stable-host" and "canary-host" must differ; both are "${stableHost}".`,
    );
  }
  if (settings.stableSubset !== undefined || settings.canarySubset !== undefined) {
    throw new UserError(
      'Inputs "stable-host"/"canary-host" and "stable-subset"/"canary-subset" exclude each other: a canary is two Services or two subsets of one, not both.',
    );
  }
}

/**
 * A comma or newline separated list of object names, each a DNS-1123 subdomain, none twice.
 * Empty items (a trailing comma, a blank line) are skipped.
 */
export function parseNameList(input: string, text: string | undefined): string[] {
  const names = (text ?? '')
    .split(/[,\n]/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) assertDns1123(input, name, 'subdomain');
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new UserError(`Input "${input}" lists "${twice}" twice.`);
  }
  return names;
}

function defaultOf(name: string): string {
  const spec = INPUTS.find((input) => input.name === name);
  if (spec?.default === undefined) throw new Error(`input ${name} has no default`);
  return spec.default;
}

function optional<T>(value: string | undefined, parse: (value: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function optionalName(
  input: string,
  value: string | undefined,
  kind: 'label' | 'subdomain',
): string | undefined {
  if (value !== undefined) assertDns1123(input, value, kind);
  return value;
}

function oneOf<T extends string>(input: string, value: string, options: readonly T[]): T {
  if ((options as readonly string[]).includes(value)) return value as T;
  throw new UserError(`Input "${input}" must be one of ${options.join(', ')}; got "${value}".`);
}

function number(
  input: string,
  text: string,
  min: number,
  max: number,
  exclusiveMin = false,
): number {
  const value = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  const tooLow = exclusiveMin ? value <= min : value < min;
  if (Number.isNaN(value) || tooLow || value > max) {
    const low = exclusiveMin ? `more than ${min}` : `${min}`;
    throw new UserError(`Input "${input}" must be a number from ${low} to ${max}; got "${text}".`);
  }
  return value;
}

function integer(input: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UserError(`Input "${input}" must be a whole number, ${min} or more; got "${text}".`);
  }
  return Number(text);
}

function boolean(input: string, text: string): boolean {
  // The same words YAML 1.2 core schema and actions/toolkit's getBooleanInput accept.
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  throw new UserError(`Input "${input}" must be true or false; got "${text}".`);
}

/** `Name: value` a line; blank lines ignored. */
export function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (text === undefined) return headers;
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const match = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!match) {
      throw new UserError(
        `Input "prometheus-headers" line ${index + 1} must look like "Name: value" (the value is not shown, it may be secret).`,
      );
    }
    headers[match[1]] = match[2]!;
  }
  return headers;
}

/**
 * Accepts kubeconfig YAML as is, or base64 of it (what most teams store in a secret). Base64 is
 * recognised by decoding to something that parses as a kubeconfig mapping.
 */
export function decodeKubeconfig(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (isBase64Kubeconfig(trimmed)) {
    const decoded = Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (looksLikeKubeconfig(decoded)) return decoded;
  }
  if (looksLikeKubeconfig(trimmed)) return trimmed;
  throw new UserError(
    'Input "kubeconfig" must be a kubeconfig (YAML with clusters, users and contexts), plain or base64; it did not parse as either (the content is not shown, it is secret).',
  );
}

function looksLikeKubeconfig(text: string): boolean {
  try {
    // Silent: the YAML library prints a warning that quotes the line, credential and all.
    const doc: unknown = parseYaml(text, { logLevel: 'silent' });
    return typeof doc === 'object' && doc !== null && ('clusters' in doc || 'contexts' in doc);
  } catch {
    return false;
  }
}
