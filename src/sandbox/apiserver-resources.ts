/** The resource types the sandbox API server serves, and how each one behaves. */

/** One served resource type. */
export interface ResourceType {
  /** API group; '' for core. */
  group: string;
  /** Versions served, most preferred first. */
  versions: string[];
  /** Plural, as in the URL. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** Custom resources: list items carry apiVersion/kind and PUT needs a resourceVersion. */
  custom: boolean;
  /** DELETE answers with the deleted object; otherwise with a Success Status. */
  returnsDeletedObject: boolean;
  /** Discovery categories (`kubectl get all` takes `all`). */
  categories: string[];
  /** Served at `<object>/status`, where only status is written; the main resource keeps it. */
  statusSubresource: boolean;
}

/** Every Istio networking version this server can serve, most preferred first (kube version order). */
export const ISTIO_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

/** An Istio networking API version. */
export type IstioVersion = (typeof ISTIO_VERSIONS)[number];

/** The Istio networking API group. */
export const ISTIO_GROUP = 'networking.istio.io';

/** The categories Istio's networking CRDs declare. */
const ISTIO_CATEGORIES = ['istio-io', 'networking-istio-io'];

/** The verbs discovery lists for every served resource (watch is not served). */
export const RESOURCE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update'];

function core(
  plural: string,
  singular: string,
  kind: string,
  namespaced: boolean,
  short: string[],
): ResourceType {
  return {
    group: '',
    versions: ['v1'],
    plural,
    singular,
    kind,
    namespaced,
    shortNames: short,
    custom: false,
    returnsDeletedObject: true,
    categories: kind === 'Namespace' ? [] : ['all'],
    statusSubresource: false,
  };
}

/** Builds the table of served resources; Istio types at the given versions. */
export function resourceTable(istioVersions: readonly IstioVersion[]): ResourceType[] {
  const istio = ISTIO_VERSIONS.filter((v) => istioVersions.includes(v));
  return [
    core('services', 'service', 'Service', true, ['svc']),
    core('pods', 'pod', 'Pod', true, ['po']),
    core('namespaces', 'namespace', 'Namespace', false, ['ns']),
    {
      group: 'apps',
      versions: ['v1'],
      plural: 'deployments',
      singular: 'deployment',
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      custom: false,
      returnsDeletedObject: false,
      categories: ['all'],
      statusSubresource: true,
    },
    {
      group: ISTIO_GROUP,
      versions: istio,
      plural: 'virtualservices',
      singular: 'virtualservice',
      kind: 'VirtualService',
      namespaced: true,
      shortNames: ['vs'],
      custom: true,
      // Custom resources answer a delete with a Success Status, not the object.
      returnsDeletedObject: false,
      categories: ISTIO_CATEGORIES,
      statusSubresource: true,
    },
    {
      group: ISTIO_GROUP,
      versions: istio,
      plural: 'destinationrules',
      singular: 'destinationrule',
      kind: 'DestinationRule',
      namespaced: true,
      shortNames: ['dr'],
      custom: true,
      // Custom resources answer a delete with a Success Status, not the object.
      returnsDeletedObject: false,
      categories: ISTIO_CATEGORIES,
      statusSubresource: true,
    },
  ];
}

/** `networking.istio.io/v1`, or `v1` for core. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Finds a served resource by group, version and plural. */
export function findResource(
  table: ResourceType[],
  group: string,
  version: string,
  plural: string,
): ResourceType | undefined {
  return table.find(
    (t) => t.group === group && t.plural === plural && t.versions.includes(version),
  );
}

/** Finds the resource type an object belongs to, by its apiVersion group and kind. */
export function resourceForObject(
  table: ResourceType[],
  apiVersion: string,
  kind: string,
): ResourceType | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return table.find((t) => t.group === group && t.kind === kind);
}

/** Finds a resource type by plural alone (direct store access). */
export function resourceByPlural(table: ResourceType[], plural: string): ResourceType | undefined {
  return table.find((t) => t.plural === plural);
}
