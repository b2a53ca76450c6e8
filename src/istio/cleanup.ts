/**
 * Clean-up after a promotion (`cleanup: true`): the old subset leaves the DestinationRule once
 * nothing routes to it, as the canary guides recommend before the old Deployment is deleted.
 * Workloads are never touched: deleting them is the user's decision.
 */
import { UserError } from '../errors.ts';
import { sameHost } from './host-canary.ts';
import { objectLabel } from './names.ts';
import { routeLabel } from './route.ts';
import type { Destination, DestinationRule, VirtualService } from './types.ts';

/** The DestinationRule after removeSubset, and whether the subset was in it. */
export interface SubsetRemoval {
  destinationRule: DestinationRule;
  removed: boolean;
}

/** One place that still sends traffic to a subset, as errors name it. */
export interface SubsetUse {
  virtualService: string;
  /** `http route "primary"`, `mirror of http route http[2]`, `tcp[0]`. */
  where: string;
}

/**
 * A copy of `destinationRule` without `subset`. Refused with a UserError naming the routes when
 * a route of `virtualServices` (http destinations and mirrors, tcp and tls destinations) still
 * sends to that subset of the rule's host. A subset that is already gone is not an error: a
 * re-run finds it removed (`removed: false`). An emptied `subsets` list is dropped.
 */
export function removeSubset(
  destinationRule: DestinationRule,
  subset: string,
  virtualServices: readonly VirtualService[],
): SubsetRemoval {
  const subsets = destinationRule.spec.subsets ?? [];
  if (!subsets.some((s) => s.name === subset)) {
    return { destinationRule: structuredClone(destinationRule), removed: false };
  }
  const uses = subsetUses(destinationRule, subset, virtualServices);
  if (uses.length > 0) {
    const listed = uses.map((u) => `${u.where} of VirtualService "${u.virtualService}"`);
    throw new UserError(
      `Cannot remove subset "${subset}" from ${objectLabel('DestinationRule', destinationRule.metadata)}: ` +
        `${listed.join('; ')} still sends traffic to it. Promote or roll back first, or change ` +
        `that route, then run the clean-up again`,
    );
  }
  const next = structuredClone(destinationRule);
  const kept = subsets.filter((s) => s.name !== subset).map((s) => structuredClone(s));
  if (kept.length > 0) next.spec.subsets = kept;
  else delete next.spec.subsets;
  return { destinationRule: next, removed: true };
}

/**
 * Every route of `virtualServices` that sends to `subset` of the DestinationRule's host, read as
 * Istio reads it: a destination's short host name is resolved in its VirtualService's namespace
 * (see qualify),
 * a wildcard rule host (`*.shop.svc.cluster.local`) covers the hosts under it, and a
 * VirtualService only counts when some namespace's proxies see both it and the rule (their
 * `exportTo`, see visibleTo). What cannot be ruled out counts as a use.
 */
export function subsetUses(
  destinationRule: DestinationRule,
  subset: string,
  virtualServices: readonly VirtualService[],
): SubsetUse[] {
  const drNamespace = destinationRule.metadata.namespace ?? 'default';
  const drHost = qualify(destinationRule.spec.host, drNamespace);
  const ruleSeenBy = visibleTo(destinationRule.spec.exportTo, drNamespace);
  const uses: SubsetUse[] = [];
  for (const vs of virtualServices) {
    const namespace = vs.metadata.namespace ?? 'default';
    if (!overlap(ruleSeenBy, visibleTo(vs.spec.exportTo, namespace))) continue;
    const name = `${namespace}/${vs.metadata.name}`;
    const hits = (d: unknown): boolean =>
      isDestination(d) && d.subset === subset && coveredBy(d.host, drHost, namespace);
    (vs.spec.http ?? []).forEach((route, i) => {
      const label = `http route ${routeLabel(route, i)}`;
      if (asList(route.route).some((d) => hits(record(d)?.destination)))
        uses.push({ virtualService: name, where: label });
      const mirrors = [route.mirror, ...asList(route.mirrors).map((m) => record(m)?.destination)];
      if (mirrors.some(hits)) uses.push({ virtualService: name, where: `mirror of ${label}` });
    });
    for (const kind of ['tcp', 'tls'] as const) {
      asList(vs.spec[kind]).forEach((route, i) => {
        const destinations = asList(record(route)?.route).map((d) => record(d)?.destination);
        if (destinations.some(hits)) uses.push({ virtualService: name, where: `${kind}[${i}]` });
      });
    }
  }
  return uses;
}

/** The namespaces whose proxies see an object: every one, or those listed (maybe none). */
export type Visibility = 'all' | ReadonlySet<string>;

/**
 * Where Istio makes an object with `exportTo` in `namespace` visible: `*` everywhere, `~`
 * nowhere, `.` its own namespace, other entries the namespaces they name. Absent or empty means
 * the mesh's default, which a cluster may narrow but this cannot see, so it counts as everywhere.
 */
export function visibleTo(exportTo: unknown, namespace: string): Visibility {
  const entries = asList(exportTo).filter((e): e is string => typeof e === 'string');
  if (entries.length === 0 || entries.includes('*')) return 'all';
  if (entries.includes('~')) return new Set();
  return new Set(entries.map((e) => (e === '.' ? namespace : e)));
}

function overlap(a: Visibility, b: Visibility): boolean {
  if (a === 'all') return b === 'all' || b.size > 0;
  if (b === 'all') return a.size > 0;
  return [...a].some((namespace) => b.has(namespace));
}

/** Whether a destination's `host`, seen from `namespace`, is the rule's host or under its wildcard. */
function coveredBy(host: string, ruleHost: string, namespace: string): boolean {
  if (sameHost(host, ruleHost, namespace)) return true;
  if (!ruleHost.startsWith('*')) return false;
  const full = qualify(host, namespace).toLowerCase();
  return ruleHost === '*' || full.endsWith(ruleHost.slice(1).toLowerCase());
}

/**
 * A host as seen from `namespace`: a short name (`reviews`) becomes the Service's FQDN, as Istio
 * resolves it. `reviews.shop` and `reviews.shop.svc` are completed too, which Istio does not do
 * (it takes any name with a dot as written); for the clean-up that errs on the side of keeping.
 * Wildcards and other names stay.
 */
function qualify(host: string, namespace: string): string {
  const parts = host.split('.');
  if (host.startsWith('*') || parts.length > 3) return host;
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  return parts[2] === 'svc' ? `${host}.cluster.local` : host;
}

function isDestination(value: unknown): value is Destination {
  return typeof record(value)?.host === 'string';
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
