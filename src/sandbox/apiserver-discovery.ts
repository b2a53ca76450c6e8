/**
 * Discovery documents (`/api`, `/apis`, `/apis/<group>/<version>`, `/version`) in the shapes
 * `kubectl` and client libraries read to learn which groups and versions a server serves.
 */
import { RESOURCE_VERBS, apiVersionOf, type ResourceType } from './apiserver-resources.ts';

/** What `/version` reports; a recent release, so version checks in clients pass. */
export const SERVER_VERSION = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

interface GroupVersion {
  groupVersion: string;
  version: string;
}

/** The named groups and their versions, each group's versions most preferred first. */
function groupsOf(table: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const type of table) {
    if (type.group === '' || type.versions.length === 0) continue;
    const versions = groups.get(type.group) ?? [];
    for (const v of type.versions) if (!versions.includes(v)) versions.push(v);
    groups.set(type.group, versions);
  }
  return groups;
}

function apiGroup(name: string, versions: string[]): Record<string, unknown> {
  const list: GroupVersion[] = versions.map((version) => ({
    groupVersion: `${name}/${version}`,
    version,
  }));
  return { name, versions: list, preferredVersion: list[0] };
}

/** `/api`: the core group's versions. */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** `/apis`: every named group. */
export function groupList(table: ResourceType[]): Record<string, unknown> {
  const groups = [...groupsOf(table)].map(([name, versions]) => apiGroup(name, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `/apis/<group>`, or undefined when the group is not served. */
export function group(table: ResourceType[], name: string): Record<string, unknown> | undefined {
  const versions = groupsOf(table).get(name);
  if (versions === undefined) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(name, versions) };
}

function resourceEntries(type: ResourceType): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: RESOURCE_VERBS,
    shortNames: type.shortNames,
  };
  if (type.categories.length > 0) main.categories = type.categories;
  const entries = [main];
  if (type.statusSubresource)
    entries.push({
      name: `${type.plural}/status`,
      singularName: '',
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: ['get', 'patch', 'update'],
    });
  if (type.plural === 'services')
    entries.push({
      name: 'services/proxy',
      singularName: '',
      namespaced: true,
      kind: 'ServiceProxyOptions',
      verbs: ['create', 'delete', 'get', 'patch', 'update'],
    });
  return entries;
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when that version is not served. */
export function resourceList(
  table: ResourceType[],
  groupName: string,
  version: string,
): Record<string, unknown> | undefined {
  const types = table.filter((t) => t.group === groupName && t.versions.includes(version));
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(groupName, version),
    resources: types.flatMap(resourceEntries),
  };
}
