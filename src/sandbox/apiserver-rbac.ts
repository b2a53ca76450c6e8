/**
 * RBAC for the sandbox API server: the rules that Roles, ClusterRoles and their bindings in a
 * manifest (such as examples/rbac.yaml) grant one ServiceAccount, evaluated as the real
 * authorizer does. A request is allowed when some granted rule matches its verb, API group,
 * resource (`services/proxy` for a subresource), name and namespace. Tests use it to prove that
 * the manifest we publish allows every call the tool makes, and grants nothing it does not use.
 */
import type { RequestAttributes } from './apiserver-auth.ts';

/** One rule of a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** When not empty, the rule only allows requests for these object names. */
  resourceNames: string[];
}

/** A rule as granted to the subject: where it applies and which object granted it. */
export interface Grant {
  rule: PolicyRule;
  /** The namespace it applies in; undefined = every namespace and the cluster scope. */
  namespace?: string;
  /** `Role shop/istio-canary, rule 1`: how reports name the rule. */
  source: string;
}

/** Everything one ServiceAccount may do, from the manifest's bindings. */
export interface RbacPolicy {
  /** The user name the API server gives the ServiceAccount: `system:serviceaccount:<ns>:<name>`. */
  user: string;
  grants: Grant[];
}

/** The documents of an RBAC manifest, as parsed from YAML. */
export type Manifest = readonly unknown[];

interface RoleRef {
  kind: string;
  name: string;
}

/**
 * The grants of the ServiceAccount `namespace/name` in `manifest`: a RoleBinding grants the
 * rules of its Role (or of a ClusterRole) in the binding's namespace; a ClusterRoleBinding grants
 * a ClusterRole's rules everywhere. A binding whose role is not in the manifest grants nothing.
 */
export function policyFromManifest(
  manifest: Manifest,
  subject: { namespace: string; name: string },
): RbacPolicy {
  const objects = manifest.filter(isRecord);
  const grants: Grant[] = [];
  for (const binding of objects) {
    const kind = binding.kind;
    if (kind !== 'RoleBinding' && kind !== 'ClusterRoleBinding') continue;
    const meta = recordOf(binding.metadata);
    const bindingNamespace = kind === 'RoleBinding' ? textOf(meta.namespace) : undefined;
    if (!bindsSubject(binding, subject, bindingNamespace)) continue;
    const ref = recordOf(binding.roleRef) as unknown as RoleRef;
    const role = objects.find(
      (o) =>
        o.kind === ref.kind &&
        textOf(recordOf(o.metadata).name) === ref.name &&
        (ref.kind === 'ClusterRole' || textOf(recordOf(o.metadata).namespace) === bindingNamespace),
    );
    if (role === undefined) continue;
    const where =
      ref.kind === 'Role'
        ? `Role ${bindingNamespace ?? ''}/${ref.name}`
        : `ClusterRole ${ref.name}`;
    listOf(role.rules).forEach((rule, i) => {
      grants.push({
        rule: ruleOf(rule),
        namespace: bindingNamespace,
        source: `${where}, rule ${i + 1}${kind === 'RoleBinding' && ref.kind === 'ClusterRole' ? ` (in ${bindingNamespace ?? ''})` : ''}`,
      });
    });
  }
  return { user: `system:serviceaccount:${subject.namespace}:${subject.name}`, grants };
}

/** The grants that allow a request; empty when RBAC denies it. */
export function grantsFor(policy: RbacPolicy, attrs: RequestAttributes): Grant[] {
  return policy.grants.filter((grant) => grantAllows(grant, attrs));
}

function grantAllows(grant: Grant, attrs: RequestAttributes): boolean {
  if (grant.namespace !== undefined && attrs.namespace !== grant.namespace) return false;
  const { rule } = grant;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return (
    matches(rule.verbs, attrs.verb) &&
    matches(rule.apiGroups, attrs.group) &&
    matches(rule.resources, resource) &&
    (rule.resourceNames.length === 0 || rule.resourceNames.includes(attrs.name))
  );
}

function matches(list: readonly string[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

function bindsSubject(
  binding: Record<string, unknown>,
  subject: { namespace: string; name: string },
  bindingNamespace: string | undefined,
): boolean {
  return listOf(binding.subjects).some((entry) => {
    const s = recordOf(entry);
    if (s.kind === 'ServiceAccount') {
      return (
        textOf(s.name) === subject.name &&
        (textOf(s.namespace) ?? bindingNamespace) === subject.namespace
      );
    }
    if (s.kind === 'Group') {
      const group = textOf(s.name);
      return (
        group === 'system:serviceaccounts' ||
        group === `system:serviceaccounts:${subject.namespace}` ||
        group === 'system:authenticated'
      );
    }
    return false;
  });
}

function ruleOf(value: unknown): PolicyRule {
  const rule = recordOf(value);
  const strings = (v: unknown): string[] =>
    listOf(v).filter((s): s is string => typeof s === 'string');
  return {
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    verbs: strings(rule.verbs),
    resourceNames: strings(rule.resourceNames),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
