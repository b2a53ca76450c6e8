/**
 * Checks on a write's body, in the order the real server runs them: request shape (400), object
 * validation against the schema (422 Invalid), then validating admission webhooks (400).
 */
import { ISTIO_GROUP, apiVersionOf, type ResourceType } from './apiserver-resources.ts';
import { badRequest, invalid, webhookDenied, type FieldError } from './apiserver-status.ts';
import { asText } from './apiserver-json.ts';
import { metadataOf } from './apiserver-store.ts';
import {
  ISTIO_WEBHOOK,
  formatWebhookErrors,
  validateIstioSchema,
  virtualServiceWebhookErrors,
} from './istio-schema.ts';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Rejects a body that is not a JSON object (400, as the decoder does). */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the body of the request was not a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Rejects a body whose apiVersion or kind names another type (400). */
export function checkTypeMeta(
  type: ResourceType,
  version: string,
  body: Record<string, unknown>,
): void {
  const expected = apiVersionOf(type.group, version);
  if (body.kind !== undefined && body.kind !== type.kind) {
    throw badRequest(
      `the kind in the data (${asText(body.kind)}) does not match the expected kind (${type.kind})`,
    );
  }
  const apiVersion = body.apiVersion;
  if (
    apiVersion !== undefined &&
    apiVersion !== expected &&
    !asText(apiVersion).startsWith(`${type.group}/`)
  ) {
    throw badRequest(
      `the API version in the data (${asText(apiVersion)}) does not match the expected API version (${expected})`,
    );
  }
}

/**
 * Makes the body's namespace and name agree with the URL: a missing namespace is filled in, a
 * different one is a 400; on update (`urlName` given) a different name is a 400.
 */
export function reconcileIdentity(
  type: ResourceType,
  body: Record<string, unknown>,
  namespace: string | undefined,
  urlName?: string,
): void {
  const meta = metadataOf(body);
  if (type.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = namespace;
  } else {
    delete meta.namespace;
  }
  if (urlName !== undefined && meta.name !== urlName) {
    throw badRequest(
      `the name of the object (${asText(meta.name)}) does not match the name on the URL (${urlName})`,
    );
  }
}

function nameErrors(meta: Record<string, unknown>): FieldError[] {
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    return [
      {
        field: 'metadata.name',
        reason: 'FieldValueRequired',
        detail: 'Required value: name or generateName is required',
      },
    ];
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [
      {
        field: 'metadata.name',
        reason: 'FieldValueInvalid',
        detail: `Invalid value: "${name}": ${DNS1123_SUBDOMAIN_MESSAGE}`,
      },
    ];
  }
  return [];
}

const CEL_NOT_CHECKED = {
  field: '<nil>',
  reason: 'FieldValueInvalid',
  detail:
    'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
};

/** Validates an object about to be stored; throws 422 for schema errors and 400 for webhook denials. */
export function validateObject(
  type: ResourceType,
  version: string,
  object: Record<string, unknown>,
): void {
  const meta = metadataOf(object);
  const name = typeof meta.name === 'string' ? meta.name : '';
  const errors = nameErrors(meta);
  if (type.group === ISTIO_GROUP) {
    const schemaErrors = validateIstioSchema(type.kind, version, object);
    errors.push(...schemaErrors);
    // Istio's CRDs carry CEL rules, which the real server skips on an object that fails the
    // schema, and says so in one more cause.
    if (schemaErrors.length > 0) errors.push(CEL_NOT_CHECKED);
  }
  if (errors.length > 0) throw invalid(type.kind, type.group, name, errors);
  if (type.kind === 'VirtualService') {
    const denials = virtualServiceWebhookErrors(object.spec);
    if (denials.length > 0) {
      throw webhookDenied(
        ISTIO_WEBHOOK,
        `configuration is invalid: ${formatWebhookErrors(denials)}`,
      );
    }
  }
}
