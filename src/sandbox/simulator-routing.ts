/**
 * Request routing as an Istio sidecar does it, over a snapshot of the sandbox's objects:
 * VirtualService host and match rules, weighted destinations, DestinationRule subsets, and the
 * Deployments behind a Service spread by ready replicas. Pure: the simulator turns the outcome
 * shares this returns into counted requests.
 */
import { fullMatch, regexProblem } from '../istio/regex.ts';
import type { SandboxObjects } from './types.ts';

type Obj = Record<string, unknown>;

/** The objects routing reads, listed once per tick. */
export interface ClusterSnapshot {
  virtualServices: Obj[];
  destinationRules: Obj[];
  deployments: Obj[];
  services: Obj[];
}

/** What a client sends, as far as routing cares. Header names are lower case. */
export interface RequestInfo {
  namespace: string;
  sourceLabels: Record<string, string>;
  host: string;
  headers: Record<string, string>;
  path: string;
}

/** A Service as metric labels name it. */
export interface ServiceRef {
  fqdn: string;
  name: string;
  namespace: string;
}

/** A Deployment that serves requests, with the labels Istio reports for it. */
export interface Endpoint {
  deployment: string;
  namespace: string;
  app: string;
  version: string;
  readyReplicas: number;
  /**
   * False when the pods run without an Istio sidecar (`sidecar.istio.io/inject: "false"` on the
   * pod template): callers' sidecars still route to them, but nothing reports as destination.
   */
  sidecar: boolean;
}

/** One way a request can end, with its share of the client's requests (shares sum to 1). */
export type Outcome =
  | { kind: 'endpoint'; share: number; service: ServiceRef; endpoint: Endpoint }
  | { kind: 'local-reply'; share: number; code: number; flags: string; service: ServiceRef };

/** Lists the four kinds of objects routing needs. */
export function takeSnapshot(objects: SandboxObjects): ClusterSnapshot {
  return {
    virtualServices: objects.list('virtualservices'),
    destinationRules: objects.list('destinationrules'),
    deployments: objects.list('deployments'),
    services: objects.list('services'),
  };
}

function record(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Obj)
    : undefined;
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(record(value) ?? {})) {
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function nameOf(obj: Obj): string {
  return text(record(obj.metadata)?.name) ?? '';
}

function namespaceOf(obj: Obj): string {
  return text(record(obj.metadata)?.namespace) ?? 'default';
}

/**
 * Expands a host to its cluster FQDN the way Kubernetes DNS search paths and Istio's short-name
 * rule do: `name` is relative to `namespace`, `name.ns` and `name.ns.svc` get the cluster suffix.
 * Wildcards and longer names are left as written.
 */
export function toFqdn(host: string, namespace: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h.startsWith('*')) return h;
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${h}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${h}.cluster.local`;
  return h;
}

/** How well a VirtualService host matches: 2 exact, 1 wildcard, 0 not at all. */
function hostMatch(pattern: string, fqdn: string): number {
  if (pattern === fqdn) return 2;
  if (pattern === '*') return 1;
  if (pattern.startsWith('*.') && fqdn.endsWith(pattern.slice(1))) return 1;
  return 0;
}

function appliesToMesh(vs: Obj): boolean {
  const gateways = array(record(vs.spec)?.gateways);
  return gateways.length === 0 || gateways.includes('mesh');
}

/** The VirtualService sidecars use for `fqdn`: exact hosts win over wildcards, then by name. */
export function findVirtualService(snapshot: ClusterSnapshot, fqdn: string): Obj | undefined {
  let best: Obj | undefined;
  let bestScore = 0;
  let bestKey = '';
  for (const vs of snapshot.virtualServices) {
    if (!appliesToMesh(vs)) continue;
    const ns = namespaceOf(vs);
    let score = 0;
    for (const host of array(record(vs.spec)?.hosts)) {
      if (typeof host === 'string') score = Math.max(score, hostMatch(toFqdn(host, ns), fqdn));
    }
    const key = `${ns}/${nameOf(vs)}`;
    if (score > bestScore || (score > 0 && score === bestScore && key < bestKey)) {
      best = vs;
      bestScore = score;
      bestKey = key;
    }
  }
  return best;
}

/** Istio regexes are RE2 and match the whole value; one Istio would refuse matches nothing. */
function regexMatches(pattern: string, value: string): boolean {
  return regexProblem(pattern) === undefined && fullMatch(pattern, value);
}

/** Evaluates an Istio StringMatch; an empty one only asks that the value be present. */
export function matchString(
  match: unknown,
  value: string | undefined,
  ignoreCase = false,
): boolean {
  const m = record(match);
  if (m === undefined || value === undefined) return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  const fold = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  const exact = text(m.exact);
  if (exact !== undefined) return v === fold(exact);
  const prefix = text(m.prefix);
  if (prefix !== undefined) return v.startsWith(fold(prefix));
  const regex = text(m.regex);
  if (regex !== undefined) return regexMatches(regex, value);
  return true;
}

function headersMatch(conditions: unknown, request: RequestInfo): boolean {
  return Object.entries(record(conditions) ?? {}).every(([name, match]) =>
    matchString(match, request.headers[name.toLowerCase()]),
  );
}

function withoutHeadersMatch(conditions: unknown, request: RequestInfo): boolean {
  return Object.entries(record(conditions) ?? {}).every(
    ([name, match]) => !matchString(match, request.headers[name.toLowerCase()]),
  );
}

/** One HTTPMatchRequest: every condition it states must hold. */
export function matchRequest(entry: Obj, request: RequestInfo): boolean {
  if (
    entry.uri !== undefined &&
    !matchString(entry.uri, request.path, entry.ignoreUriCase === true)
  )
    return false;
  if (!headersMatch(entry.headers, request)) return false;
  if (!withoutHeadersMatch(entry.withoutHeaders, request)) return false;
  if (entry.method !== undefined && !matchString(entry.method, 'GET')) return false;
  const ns = text(entry.sourceNamespace);
  if (ns !== undefined && ns !== request.namespace) return false;
  return Object.entries(stringMap(entry.sourceLabels)).every(
    ([key, value]) => request.sourceLabels[key] === value,
  );
}

/** The first http route whose match list matches (an absent or empty list matches everything). */
export function findHttpRoute(vs: Obj, request: RequestInfo): Obj | undefined {
  for (const route of array(record(vs.spec)?.http)) {
    const r = record(route);
    if (r === undefined) continue;
    const matches = array(r.match);
    if (matches.length === 0) return r;
    if (matches.map(record).some((m) => m !== undefined && matchRequest(m, request))) return r;
  }
  return undefined;
}

function serviceRef(fqdn: string): ServiceRef {
  const [name = fqdn, namespace = 'unknown'] = fqdn.split('.');
  return { fqdn, name, namespace };
}

function findService(snapshot: ClusterSnapshot, ref: ServiceRef): Obj | undefined {
  return snapshot.services.find((s) => nameOf(s) === ref.name && namespaceOf(s) === ref.namespace);
}

/** The labels of a subset, from the DestinationRule whose host is this service; undefined if none. */
function subsetLabels(
  snapshot: ClusterSnapshot,
  ref: ServiceRef,
  subset: string,
): Record<string, string> | undefined {
  for (const dr of snapshot.destinationRules) {
    const host = text(record(dr.spec)?.host);
    if (host === undefined || toFqdn(host, namespaceOf(dr)) !== ref.fqdn) continue;
    for (const s of array(record(dr.spec)?.subsets)) {
      const entry = record(s);
      if (entry !== undefined && entry.name === subset) return stringMap(entry.labels);
    }
  }
  return undefined;
}

function toEndpoint(deployment: Obj): Endpoint {
  const labels = podLabels(deployment);
  const ready = record(deployment.status)?.readyReplicas;
  return {
    deployment: nameOf(deployment),
    namespace: namespaceOf(deployment),
    app: labels.app ?? labels['app.kubernetes.io/name'] ?? 'unknown',
    version: labels.version ?? labels['app.kubernetes.io/version'] ?? 'unknown',
    readyReplicas: typeof ready === 'number' ? ready : 0,
    sidecar: !injectionDisabled(deployment),
  };
}

/** Istio reads the opt-out from the pod template's label, or its older annotation. */
function injectionDisabled(deployment: Obj): boolean {
  const metadata = record(record(record(deployment.spec)?.template)?.metadata);
  const key = 'sidecar.istio.io/inject';
  return (
    stringMap(metadata?.labels)[key] === 'false' ||
    stringMap(metadata?.annotations)[key] === 'false'
  );
}

function podLabels(deployment: Obj): Record<string, string> {
  return stringMap(record(record(record(deployment.spec)?.template)?.metadata)?.labels);
}

function containsAll(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

/** Deployments with ready pods behind a Service, optionally narrowed to a subset's labels. */
export function readyEndpoints(
  snapshot: ClusterSnapshot,
  service: Obj,
  extraLabels: Record<string, string>,
): Endpoint[] {
  const selector = stringMap(record(service.spec)?.selector);
  if (Object.keys(selector).length === 0) return [];
  const ns = namespaceOf(service);
  return snapshot.deployments
    .filter((d) => namespaceOf(d) === ns)
    .filter((d) => containsAll(podLabels(d), selector) && containsAll(podLabels(d), extraLabels))
    .map(toEndpoint)
    .filter((e) => e.readyReplicas > 0);
}

/** Outcomes of sending `share` of the traffic to one destination host (and maybe a subset). */
function destinationOutcomes(
  snapshot: ClusterSnapshot,
  fqdn: string,
  subset: string | undefined,
  share: number,
): Outcome[] {
  const ref = serviceRef(fqdn);
  const service = findService(snapshot, ref);
  const labels = subset === undefined ? {} : subsetLabels(snapshot, ref, subset);
  // Envoy has no cluster for an unknown service or subset: a local 503 "no cluster found".
  if (service === undefined || labels === undefined)
    return [{ kind: 'local-reply', share, code: 503, flags: 'NC', service: ref }];
  const endpoints = readyEndpoints(snapshot, service, labels);
  const ready = endpoints.reduce((n, e) => n + e.readyReplicas, 0);
  if (ready === 0) return [{ kind: 'local-reply', share, code: 503, flags: 'UH', service: ref }];
  return endpoints.map((endpoint) => ({
    kind: 'endpoint',
    share: (share * endpoint.readyReplicas) / ready,
    service: ref,
    endpoint,
  }));
}

interface WeightedDestination {
  host: string;
  subset: string | undefined;
  weight: number;
}

function weightedDestinations(route: Obj): WeightedDestination[] {
  const entries = array(route.route)
    .map(record)
    .filter((r) => r !== undefined);
  const stated = entries.some((r) => typeof r.weight === 'number');
  return entries
    .map((r) => ({
      host: text(record(r.destination)?.host) ?? '',
      subset: text(record(r.destination)?.subset),
      // Istio: a lone destination without weight takes it all; equal split is the fallback.
      weight: stated ? (typeof r.weight === 'number' ? r.weight : 0) : 1,
    }))
    .filter((d) => d.host !== '' && d.weight > 0);
}

/** The VirtualService and http route a request takes, when a VirtualService names its host. */
interface Matched {
  fqdn: string;
  vs: Obj | undefined;
  route: Obj | undefined;
}

function matchRoute(snapshot: ClusterSnapshot, request: RequestInfo): Matched {
  const fqdn = toFqdn(request.host, request.namespace);
  const vs = findVirtualService(snapshot, fqdn);
  return { fqdn, vs, route: vs === undefined ? undefined : findHttpRoute(vs, request) };
}

/** Where the requests of one client go, as shares of its traffic. */
export function routeRequest(snapshot: ClusterSnapshot, request: RequestInfo): Outcome[] {
  const { fqdn, vs, route } = matchRoute(snapshot, request);
  if (vs === undefined) return destinationOutcomes(snapshot, fqdn, undefined, 1);
  const destinations = route === undefined ? [] : weightedDestinations(route);
  const total = destinations.reduce((n, d) => n + d.weight, 0);
  // Envoy answers 404 "no route" when no http route matches the request.
  if (total === 0)
    return [{ kind: 'local-reply', share: 1, code: 404, flags: 'NR', service: serviceRef(fqdn) }];
  const vsNamespace = namespaceOf(vs);
  return destinations.flatMap((d) =>
    destinationOutcomes(snapshot, toFqdn(d.host, vsNamespace), d.subset, d.weight / total),
  );
}

/** Where a route copies its requests: the endpoints of the mirror destination, and how often. */
export interface MirrorTarget {
  /** Percent of the route's requests copied, 0-100. */
  percent: number;
  /** The endpoints that receive the copies; their shares sum to 1. */
  endpoints: Extract<Outcome, { kind: 'endpoint' }>[];
}

/**
 * The mirror of the route a request takes (`mirror` with `mirrorPercentage.value`, which Istio
 * takes as 100 when absent), or undefined when it mirrors nothing. A mirror destination without
 * ready pods (or unknown) gets nothing: Envoy drops the copy, and nobody reports it.
 */
export function mirrorRequest(
  snapshot: ClusterSnapshot,
  request: RequestInfo,
): MirrorTarget | undefined {
  const { vs, route } = matchRoute(snapshot, request);
  const mirror = record(route?.mirror);
  const host = text(mirror?.host);
  if (vs === undefined || route === undefined || host === undefined) return undefined;
  const value = record(route.mirrorPercentage)?.value;
  const percent = typeof value === 'number' ? Math.min(100, Math.max(0, value)) : 100;
  const outcomes = destinationOutcomes(
    snapshot,
    toFqdn(host, namespaceOf(vs)),
    text(mirror?.subset),
    1,
  );
  const endpoints = outcomes.filter((o) => o.kind === 'endpoint');
  return percent > 0 && endpoints.length > 0 ? { percent, endpoints } : undefined;
}
