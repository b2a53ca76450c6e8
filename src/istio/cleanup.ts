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
 * Every route of `virtualServices` that sends to `subset` of the DestinationRule's host, short
 * and fully qualified host names resolved as each object's namespace resolves them.
 */
export function subsetUses(
  destinationRule: DestinationRule,
  subset: string,
  virtualServices: readonly VirtualService[],
): SubsetUse[] {
  const drNamespace = destinationRule.metadata.namespace;
  const drHost = qualify(destinationRule.spec.host, drNamespace);
  const uses: SubsetUse[] = [];
  for (const vs of virtualServices) {
    const name = vs.metadata.namespace
      ? `${vs.metadata.namespace}/${vs.metadata.name}`
      : vs.metadata.name;
    const hits = (d: unknown): boolean =>
      isDestination(d) && d.subset === subset && sameHost(d.host, drHost, vs.metadata.namespace);
    (vs.spec.http ?? []).forEach((route, i) => {
      const label = `http route ${routeLabel(route, i)}`;
      if ((route.route ?? []).some((d) => hits(d.destination)))
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

/** The DestinationRule's host as an FQDN, so VirtualServices in other namespaces compare right. */
function qualify(host: string, namespace: string | undefined): string {
  const parts = host.split('.');
  if (host.startsWith('*') || parts.length > 1 || namespace === undefined) return host;
  return `${host}.${namespace}.svc.cluster.local`;
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
