/**
 * Kubernetes `Status` objects, worded like the real API server's (k8s.io/apimachinery
 * `errors.New*`), so clients and their error messages behave as they would against a cluster.
 */

/** One field-level cause inside a Status's details. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The `details` of a Status: which object, and why. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A metav1.Status as the API server writes it. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** The group and plural of a resource, the way error messages name it. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** An error that carries the Status the server answers with. */
export class ApiError extends Error {
  readonly status: Status;
  /** Extra response headers (Retry-After). */
  readonly headers: Record<string, string>;
  /** Sent as text/plain instead of the Status, where the real server has no Status to send. */
  readonly plainText: string | undefined;

  constructor(status: Status, headers: Record<string, string> = {}, plainText?: string) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.status = status;
    this.headers = headers;
    this.plainText = plainText;
  }
}

/** Builds a failure Status. */
export function failure(
  code: number,
  reason: string | undefined,
  message: string,
  details?: StatusDetails,
): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    code,
  };
  if (reason !== undefined) status.reason = reason;
  if (details !== undefined) status.details = details;
  return status;
}

/** `virtualservices.networking.istio.io`, or `services` for the core group. */
export function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

function objectDetails(gr: GroupResource, name: string): StatusDetails {
  const details: StatusDetails = { name };
  if (gr.group !== '') details.group = gr.group;
  details.kind = gr.resource;
  return details;
}

/** 404 for a named object. */
export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(
    failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, objectDetails(gr, name)),
  );
}

/**
 * 404 for a path the server does not serve (unknown group, version or resource). kube-apiserver
 * has no route for it, so its mux answers in plain text, not with a Status.
 */
export function pathNotFound(): ApiError {
  return new ApiError(
    failure(404, 'NotFound', 'the server could not find the requested resource', {}),
    {},
    '404 page not found\n',
  );
}

/** 409 on create of a name that exists. */
export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(
    failure(
      409,
      'AlreadyExists',
      `${qualified(gr)} "${name}" already exists`,
      objectDetails(gr, name),
    ),
  );
}

/** 409 optimistic-lock failure. */
export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
      objectDetails(gr, name),
    ),
  );
}

/** The reason a stale resourceVersion gives. */
export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 401 for a missing or unknown bearer token. */
export function unauthorized(): ApiError {
  return new ApiError(failure(401, 'Unauthorized', 'Unauthorized'));
}

/** 403 from the authorizer; `name` is empty for collection requests. */
export function forbidden(gr: GroupResource, name: string, why: string): ApiError {
  const subject = name === '' ? qualified(gr) : `${qualified(gr)} "${name}"`;
  return new ApiError(
    failure(403, 'Forbidden', `${subject} is forbidden: ${why}`, objectDetails(gr, name)),
  );
}

/** 403 for a non-resource path (discovery) the user may not read. */
export function forbiddenPath(user: string, verb: string, path: string): ApiError {
  return new ApiError(
    failure(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`, {}),
  );
}

/** 400 for a malformed request. */
export function badRequest(message: string): ApiError {
  return new ApiError(failure(400, 'BadRequest', message));
}

/** 405 for a verb the path does not take. */
export function methodNotAllowed(): ApiError {
  return new ApiError(
    failure(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
      {},
    ),
  );
}

/** 415 for a body in a format the endpoint does not take. */
export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
  );
}

/** A field error, as `field.Invalid` renders it. */
export interface FieldError {
  field: string;
  /** The cause reason: FieldValueInvalid, FieldValueTypeInvalid, FieldValueRequired... */
  reason: string;
  /** The text after `<field>: `. */
  detail: string;
}

/** 422 with field causes, as the registry's validation answers. */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => `${e.field}: ${e.detail}`);
  const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const details: StatusDetails = { name };
  if (group !== '') details.group = group;
  details.kind = kind;
  details.causes = errors.map((e) => ({ reason: e.reason, message: e.detail, field: e.field }));
  return new ApiError(
    failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, details),
  );
}

/**
 * 422 for a JSON patch that cannot be applied (a failed `test`, a missing path). The real server
 * uses NewGenericServerResponse here, which drops the patch library's text.
 */
export function patchNotApplicable(): ApiError {
  return new ApiError(
    failure(422, 'Invalid', 'the server rejected our request due to an error in our request', {}),
  );
}

/**
 * A validating admission webhook's denial. The API server turns the webhook's message into a
 * Status with code 400 and no reason (apiserver `webhookerrors.ToStatusErr`).
 */
export function webhookDenied(webhook: string, message: string): ApiError {
  return new ApiError(
    failure(400, undefined, `admission webhook "${webhook}" denied the request: ${message}`),
  );
}

/** 503 from the services proxy when nothing backs the service. */
/** 503 for a services-proxy port the Service does not declare. */
export function noServicePort(service: string, port: string): ApiError {
  return new ApiError(
    failure(503, 'ServiceUnavailable', `no service port ${port} found for service "${service}"`),
  );
}

export function noEndpoints(service: string): ApiError {
  return new ApiError(
    failure(503, 'ServiceUnavailable', `no endpoints available for service "${service}"`),
  );
}

/** 503 from the services proxy when the upstream refused or failed. */
export function upstreamUnreachable(detail: string): ApiError {
  return new ApiError(
    failure(503, 'ServiceUnavailable', `error trying to reach service: ${detail}`),
  );
}

const REASONS: Record<number, [string, string]> = {
  400: ['BadRequest', 'the server rejected our request for an unknown reason'],
  401: ['Unauthorized', 'Unauthorized'],
  403: ['Forbidden', 'forbidden'],
  404: ['NotFound', 'the server could not find the requested resource'],
  409: ['Conflict', 'the server reported a conflict'],
  422: ['Invalid', 'the server rejected our request due to an error in our request'],
  429: ['TooManyRequests', 'Too many requests, please try again later.'],
  500: ['InternalError', 'Internal error occurred: injected fault'],
  503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
  504: ['Timeout', 'the server was unable to return a response in the time allotted'],
};

/** A Status for an arbitrary code, worded like the server's generic responses (for fault injection). */
export function genericStatus(code: number, retryAfterSeconds?: number): ApiError {
  const [reason, message] = REASONS[code] ?? [
    '',
    `the server responded with the status code ${code}`,
  ];
  const details: StatusDetails = {};
  if (retryAfterSeconds !== undefined) details.retryAfterSeconds = retryAfterSeconds;
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return new ApiError(failure(code, reason === '' ? undefined : reason, message, details), headers);
}
