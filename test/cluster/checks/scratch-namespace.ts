/**
 * A namespace of its own for the control-plane checks, on the test control plane or a
 * maintainer's cluster alike: created fresh, given the namespaced part of examples/rbac.yaml
 * (ServiceAccount, Role, RoleBinding, with `shop` replaced by this namespace), and deleted after.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clusterAdmin, serviceAccountToken } from '../../helpers/cluster-ground.ts';
import { createOrReplace, expectStatus, ResourcePaths } from '../resources.ts';
import { rest, type Credentials } from '../rest.ts';

const RBAC_MANIFEST = resolve(import.meta.dirname, '../../../examples/rbac.yaml');

/** The namespace, the admin, and the identity examples/rbac.yaml grants in it. */
export interface ScratchNamespace {
  name: string;
  admin: Credentials;
  pipeline: Credentials;
  paths: ResourcePaths;
  remove(): Promise<void>;
}

/** The documents of examples/rbac.yaml that live in the pipeline's namespace. */
export function pipelineRbac(namespace: string): Record<string, unknown>[] {
  const inNamespace = JSON.stringify(namespace);
  return parseAllDocuments(readFileSync(RBAC_MANIFEST, 'utf8'))
    .map((doc) => doc.toJS() as Record<string, unknown> & { metadata: { namespace?: string } })
    .filter((o) => o.metadata.namespace === 'shop')
    .map(
      (o) =>
        JSON.parse(JSON.stringify(o).replaceAll('"shop"', inNamespace)) as Record<string, unknown>,
    );
}

/** Creates the namespace and applies the pipeline's RBAC in it. */
export async function createScratchNamespace(): Promise<ScratchNamespace> {
  const admin = await clusterAdmin();
  const paths = new ResourcePaths(admin);
  const name = `istio-canary-checks-${randomBytes(3).toString('hex')}`;
  await createOrReplace(admin, paths, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const remove = async () => {
    await rest(admin, 'DELETE', `/api/v1/namespaces/${name}`);
  };
  try {
    for (const object of pipelineRbac(name)) await createOrReplace(admin, paths, object);
    const token = await serviceAccountToken(admin, name, 'istio-canary');
    return { name, admin, pipeline: { server: admin.server, ca: admin.ca, token }, paths, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Creates an object as the admin (the checks' fixtures). */
export async function adminCreate(
  scratch: ScratchNamespace,
  object: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { path } = await scratch.paths.collection(
    String(object.apiVersion),
    String(object.kind),
    scratch.name,
  );
  const res = await rest(scratch.admin, 'POST', path, { body: object });
  return expectStatus(res, [201], `create ${path}`).body as Record<string, unknown>;
}
