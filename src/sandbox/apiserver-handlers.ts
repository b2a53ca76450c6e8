/** The verbs on resources: get, list, create, replace, patch and delete, with the real server's checks. */
import { randomBytes } from 'node:crypto';
import {
  PatchApplyError,
  PatchFormatError,
  applyJsonPatch,
  applyMergePatch,
  type Json,
} from './apiserver-patch.ts';
import { apiVersionOf, type ResourceType } from './apiserver-resources.ts';
import {
  SelectorError,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  type FieldRequirement,
  type Requirement,
} from './apiserver-selectors.ts';
import {
  OBJECT_MODIFIED,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  methodNotAllowed,
  notFound,
  patchNotApplicable,
  unsupportedMediaType,
  type GroupResource,
} from './apiserver-status.ts';
import { asText, omit } from './apiserver-json.ts';
import { metadataOf, withTypeMeta, type KubeObject, type ObjectStore } from './apiserver-store.ts';
import {
  checkTypeMeta,
  reconcileIdentity,
  requireObject,
  validateObject,
} from './apiserver-validation.ts';

/** What a write hook learns about a write before it is applied. */
export interface WriteInfo {
  method: string;
  /** Plural resource name. */
  resource: string;
  namespace: string | undefined;
  name: string;
}

/** What the handlers need from the server. */
export interface HandlerContext {
  store: ObjectStore;
  /** Runs before a write touches the store (tests make concurrent edits here). */
  beforeWrite(info: WriteInfo): Promise<void>;
}

/** A request on a resource, already authenticated and authorized. */
export interface ResourceRequest {
  method: string;
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  query: URLSearchParams;
  contentType: string;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

/** The answer: an HTTP status and a JSON body. */
export interface Reply {
  status: number;
  body: unknown;
}

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

function groupResource(type: ResourceType): GroupResource {
  return { group: type.group, resource: type.plural };
}

/** The object as a client reading `version` sees it: apiVersion rewritten, kind set. */
export function present(type: ResourceType, version: string, object: KubeObject): KubeObject {
  return withTypeMeta(object, apiVersionOf(type.group, version), type.kind);
}

function isDryRun(query: URLSearchParams): boolean {
  const dryRun = query.get('dryRun');
  if (dryRun === null || dryRun === '') return false;
  if (dryRun !== 'All') throw badRequest(`Invalid dryRun value: ${dryRun}`);
  return true;
}

function mustExist(ctx: HandlerContext, req: ResourceRequest, name: string): KubeObject {
  const found = ctx.store.get(req.type, req.namespace ?? '', name);
  if (found === undefined) throw notFound(groupResource(req.type), name);
  return found;
}

function getOne(ctx: HandlerContext, req: ResourceRequest, name: string): Reply {
  return { status: 200, body: present(req.type, req.version, mustExist(ctx, req, name)) };
}

function selectorsOf(query: URLSearchParams): {
  labels: Requirement[];
  fields: FieldRequirement[];
} {
  try {
    return {
      labels: parseLabelSelector(query.get('labelSelector') ?? ''),
      fields: parseFieldSelector(query.get('fieldSelector') ?? ''),
    };
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

function listAll(ctx: HandlerContext, req: ResourceRequest): Reply {
  const { labels, fields } = selectorsOf(req.query);
  const items = ctx.store
    .list(req.type, req.namespace)
    .filter((o) => matchesLabels(labels, o.metadata.labels as Record<string, string> | undefined))
    .filter((o) => matchesFields(fields, o.metadata))
    .map((o) => present(req.type, req.version, o))
    // Built-in lists carry the type only on the list; custom resource lists on every item.
    .map((o) => (req.type.custom ? o : omit(o, ['apiVersion', 'kind'])));
  return {
    status: 200,
    body: {
      apiVersion: apiVersionOf(req.type.group, req.version),
      kind: `${req.type.kind}List`,
      metadata: { resourceVersion: ctx.store.currentRevision() },
      items,
    },
  };
}

function assignGeneratedName(meta: Record<string, unknown>): void {
  if (
    (meta.name === undefined || meta.name === '') &&
    typeof meta.generateName === 'string' &&
    meta.generateName !== ''
  ) {
    meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
  }
}

async function createOne(ctx: HandlerContext, req: ResourceRequest): Promise<Reply> {
  const dryRun = isDryRun(req.query);
  const body = structuredClone(requireObject(req.body));
  checkTypeMeta(req.type, req.version, body);
  reconcileIdentity(req.type, body, req.namespace);
  const meta = metadataOf(body);
  assignGeneratedName(meta);
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
    throw badRequest('resourceVersion should not be set on objects to be created');
  }
  // Types with a status subresource ignore status on create.
  delete body.status;
  const name = typeof meta.name === 'string' ? meta.name : '';
  await ctx.beforeWrite({
    method: req.method,
    resource: req.type.plural,
    namespace: req.namespace,
    name,
  });
  validateObject(req.type, req.version, body);
  if (ctx.store.get(req.type, req.namespace ?? '', name) !== undefined) {
    throw alreadyExists(groupResource(req.type), name);
  }
  const stored = ctx.store.create(req.type, body, dryRun);
  return { status: 201, body: present(req.type, req.version, stored) };
}

function checkResourceVersion(
  type: ResourceType,
  name: string,
  given: unknown,
  current: KubeObject,
): void {
  if (given === undefined || given === '') {
    if (type.custom) {
      // kube-apiserver names the resource (plural), not the kind, in this one error.
      throw invalid(type.plural, type.group, name, [
        {
          field: 'metadata.resourceVersion',
          reason: 'FieldValueInvalid',
          detail: 'Invalid value: 0: must be specified for an update',
        },
      ]);
    }
    return;
  }
  if (asText(given) !== current.metadata.resourceVersion)
    throw conflict(groupResource(type), name, OBJECT_MODIFIED);
}

/** Validates and stores the new state of an existing object; status is the old one's (status subresource). */
function commitUpdate(
  ctx: HandlerContext,
  req: ResourceRequest,
  current: KubeObject,
  next: Record<string, unknown>,
): Reply {
  const dryRun = isDryRun(req.query);
  if (current.status === undefined) delete next.status;
  else next.status = current.status;
  validateObject(req.type, req.version, next);
  const stored = ctx.store.update(req.type, current, next, dryRun);
  return { status: 200, body: present(req.type, req.version, stored) };
}

async function replaceOne(ctx: HandlerContext, req: ResourceRequest, name: string): Promise<Reply> {
  isDryRun(req.query);
  const body = structuredClone(requireObject(req.body));
  checkTypeMeta(req.type, req.version, body);
  reconcileIdentity(req.type, body, req.namespace, name);
  await ctx.beforeWrite({
    method: req.method,
    resource: req.type.plural,
    namespace: req.namespace,
    name,
  });
  const current = mustExist(ctx, req, name);
  checkResourceVersion(req.type, name, metadataOf(body).resourceVersion, current);
  return commitUpdate(ctx, req, current, body);
}

/**
 * The patch type of a Content-Type, or a 415 naming the accepted ones. Checked before the body
 * is parsed, as the real server refuses an unknown patch type whatever the body is.
 */
export function patchTypeOf(type: ResourceType, contentType: string): 'json' | 'merge' {
  return patchKind({ type, contentType });
}

function patchKind(req: Pick<ResourceRequest, 'type' | 'contentType'>): 'json' | 'merge' {
  const mediaType = req.contentType.split(';')[0].trim().toLowerCase();
  if (mediaType === JSON_PATCH) return 'json';
  if (mediaType === MERGE_PATCH) return 'merge';
  // Strategic merge is approximated by a merge patch; custom resources do not take it at all.
  if (mediaType === STRATEGIC_MERGE_PATCH && !req.type.custom) return 'merge';
  const accepted = req.type.custom
    ? [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
    : [JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH];
  throw unsupportedMediaType(accepted);
}

function applyPatch(
  kind: 'json' | 'merge',
  current: KubeObject,
  patch: unknown,
): Record<string, unknown> {
  try {
    const result =
      kind === 'json'
        ? applyJsonPatch(current as Json, patch)
        : applyMergePatch(current as Json, patch as Json);
    return requireObject(result);
  } catch (error) {
    if (error instanceof PatchApplyError) throw patchNotApplicable();
    if (error instanceof PatchFormatError) throw badRequest(error.message);
    throw error;
  }
}

async function patchOne(ctx: HandlerContext, req: ResourceRequest, name: string): Promise<Reply> {
  isDryRun(req.query);
  const kind = patchKind(req);
  if (req.body === undefined) throw badRequest('the body of the request was empty');
  await ctx.beforeWrite({
    method: req.method,
    resource: req.type.plural,
    namespace: req.namespace,
    name,
  });
  const current = mustExist(ctx, req, name);
  const patched = applyPatch(kind, present(req.type, req.version, current), req.body);
  reconcileIdentity(req.type, patched, req.namespace, name);
  const rv = metadataOf(patched).resourceVersion;
  // A patch that carries a resourceVersion is conditional on it, as on a real server.
  if (rv !== undefined && rv !== null && asText(rv) !== current.metadata.resourceVersion) {
    throw conflict(groupResource(req.type), name, OBJECT_MODIFIED);
  }
  return commitUpdate(ctx, req, current, patched);
}

function checkPreconditions(
  type: ResourceType,
  name: string,
  body: unknown,
  current: KubeObject,
): void {
  const preconditions = (
    body as { preconditions?: { resourceVersion?: string; uid?: string } } | undefined
  )?.preconditions;
  if (preconditions === undefined) return;
  const { resourceVersion, uid } = preconditions;
  if (uid !== undefined && uid !== current.metadata.uid) {
    throw conflict(
      groupResource(type),
      name,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(current.metadata.uid)}`,
    );
  }
  if (resourceVersion !== undefined && resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(
      groupResource(type),
      name,
      `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${String(current.metadata.resourceVersion)}`,
    );
  }
}

async function deleteOne(ctx: HandlerContext, req: ResourceRequest, name: string): Promise<Reply> {
  const dryRun = isDryRun(req.query);
  await ctx.beforeWrite({
    method: req.method,
    resource: req.type.plural,
    namespace: req.namespace,
    name,
  });
  const current = mustExist(ctx, req, name);
  checkPreconditions(req.type, name, req.body, current);
  ctx.store.remove(req.type, req.namespace ?? '', name, dryRun);
  if (req.type.returnsDeletedObject)
    return { status: 200, body: present(req.type, req.version, current) };
  const details: Record<string, unknown> = { name };
  if (req.type.group !== '') details.group = req.type.group;
  details.kind = req.type.plural;
  details.uid = current.metadata.uid;
  return {
    status: 200,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details },
  };
}

/** Serves one request on a resource. */
export async function handleResource(ctx: HandlerContext, req: ResourceRequest): Promise<Reply> {
  const { method, name } = req;
  if (name === undefined) {
    if (method === 'GET') return listAll(ctx, req);
    if (method === 'POST' && (req.namespace !== undefined || !req.type.namespaced))
      return createOne(ctx, req);
    throw methodNotAllowed();
  }
  switch (method) {
    case 'GET':
      return getOne(ctx, req, name);
    case 'PUT':
      return replaceOne(ctx, req, name);
    case 'PATCH':
      return patchOne(ctx, req, name);
    case 'DELETE':
      return deleteOne(ctx, req, name);
    default:
      throw methodNotAllowed();
  }
}

/** Stores `status` on the current object and nothing else, as a write to `<object>/status` does. */
function commitStatus(
  ctx: HandlerContext,
  req: ResourceRequest,
  current: KubeObject,
  status: unknown,
): Reply {
  const next: Record<string, unknown> = structuredClone(current);
  if (status === undefined) delete next.status;
  else next.status = status;
  const stored = ctx.store.update(req.type, current, next, isDryRun(req.query));
  return { status: 200, body: present(req.type, req.version, stored) };
}

/**
 * Serves `<object>/status`: GET reads the object; PUT and PATCH change only its status (spec,
 * labels and annotations in the body are ignored), under the same resourceVersion rules.
 */
export async function handleStatusSubresource(
  ctx: HandlerContext,
  req: ResourceRequest & { name: string },
): Promise<Reply> {
  const { name } = req;
  if (req.method === 'GET') return getOne(ctx, req, name);
  if (req.method !== 'PUT' && req.method !== 'PATCH') throw methodNotAllowed();
  isDryRun(req.query);
  const kind = req.method === 'PATCH' ? patchKind(req) : undefined;
  if (req.body === undefined) throw badRequest('the body of the request was empty');
  await ctx.beforeWrite({
    method: req.method,
    resource: `${req.type.plural}/status`,
    namespace: req.namespace,
    name,
  });
  const current = mustExist(ctx, req, name);
  if (kind === undefined) {
    const body = structuredClone(requireObject(req.body));
    checkTypeMeta(req.type, req.version, body);
    reconcileIdentity(req.type, body, req.namespace, name);
    checkResourceVersion(req.type, name, metadataOf(body).resourceVersion, current);
    return commitStatus(ctx, req, current, body.status);
  }
  const patched = applyPatch(kind, present(req.type, req.version, current), req.body);
  const rv = metadataOf(patched).resourceVersion;
  if (rv !== undefined && rv !== null && asText(rv) !== current.metadata.resourceVersion) {
    throw conflict(groupResource(req.type), name, OBJECT_MODIFIED);
  }
  return commitStatus(ctx, req, current, patched.status);
}
