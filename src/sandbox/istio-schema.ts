/**
 * Validation of Istio networking objects, in the two layers a cluster applies: the CRD's OpenAPI
 * schema (types of fields; the API server answers 422 Invalid) and istiod's validating webhook
 * (semantic rules such as no negative weight and RE2-only regexes; the API server answers 400 with
 * the webhook's message). The rules and their wording follow istio.io/istio's pkg/config/validation,
 * which the real control plane under test/cluster runs.
 */
import { DestinationRule as DestinationRuleV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/DestinationRule';
import { VirtualService as VirtualServiceV1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/VirtualService';
import { DestinationRule as DestinationRuleV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { VirtualService as VirtualServiceV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import type { FieldError } from './apiserver-status.ts';

/** The name istiod registers its validating webhook under. */
export const ISTIO_WEBHOOK = 'validation.istio.io';

interface Validatable {
  validate(): void;
}

type ModelFactory = (data: Record<string, unknown>) => Validatable;

/**
 * The schema models by kind and version. The model package predates networking.istio.io/v1, whose
 * schema is the same as v1beta1's, so v1 borrows it.
 */
const MODELS: Record<string, Record<string, ModelFactory>> = {
  VirtualService: {
    v1: (d) =>
      new VirtualServiceV1beta1({ ...d, apiVersion: 'networking.istio.io/v1beta1' } as never),
    v1beta1: (d) =>
      new VirtualServiceV1beta1({ ...d, apiVersion: 'networking.istio.io/v1beta1' } as never),
    v1alpha3: (d) =>
      new VirtualServiceV1alpha3({ ...d, apiVersion: 'networking.istio.io/v1alpha3' } as never),
  },
  DestinationRule: {
    v1: (d) =>
      new DestinationRuleV1beta1({ ...d, apiVersion: 'networking.istio.io/v1beta1' } as never),
    v1beta1: (d) =>
      new DestinationRuleV1beta1({ ...d, apiVersion: 'networking.istio.io/v1beta1' } as never),
    v1alpha3: (d) =>
      new DestinationRuleV1alpha3({ ...d, apiVersion: 'networking.istio.io/v1alpha3' } as never),
  },
};

interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
}

/** `/spec/http/0/route/0/weight` -> `spec.http[0].route[0].weight`, the way field errors name paths. */
export function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((p) => p !== '')
    .reduce(
      (acc, part) =>
        /^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`,
      '',
    );
}

/** The Go-side name of a JSON value's type, as the structural schema validator prints it. */
function goTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function toFieldError(e: SchemaError): FieldError {
  const field = fieldPath(e.instancePath);
  switch (e.keyword) {
    case 'type': {
      const got = goTypeName(e.data);
      return {
        field,
        reason: 'FieldValueTypeInvalid',
        detail: `Invalid value: "${got}": ${field} in body must be of type ${String(e.params.type)}: "${got}"`,
      };
    }
    case 'required': {
      const missing = String(e.params.missingProperty);
      return {
        field: field === '' ? missing : `${field}.${missing}`,
        reason: 'FieldValueRequired',
        detail: 'Required value',
      };
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[])
        .map((v) => JSON.stringify(v))
        .join(', ');
      return {
        field,
        reason: 'FieldValueNotSupported',
        detail: `Unsupported value: ${JSON.stringify(e.data)}: supported values: ${allowed}`,
      };
    }
    default:
      return {
        field,
        reason: 'FieldValueInvalid',
        detail: `Invalid value: ${JSON.stringify(e.data)}: ${field} in body ${e.message ?? 'is invalid'}`,
      };
  }
}

function schemaErrorsOf(error: unknown): SchemaError[] {
  const errors = (error as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) throw error;
  return errors as SchemaError[];
}

/**
 * Checks an Istio object against its CRD schema at the given version. Returns the field errors
 * (empty when valid). Errors from inside a `oneOf` branch are folded into the oneOf's own error.
 */
export function validateIstioSchema(
  kind: string,
  version: string,
  object: Record<string, unknown>,
): FieldError[] {
  const factory = MODELS[kind]?.[version];
  if (factory === undefined) return [];
  try {
    factory(object).validate();
    return [];
  } catch (error) {
    return schemaErrorsOf(error)
      .filter((e) => !e.schemaPath.includes('/oneOf/'))
      .map(toFieldError);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function destinationErrors(entry: unknown): string[] {
  if (!isRecord(entry) || !isRecord(entry.destination)) return ['destination is required'];
  const errors: string[] = [];
  const host = entry.destination.host;
  if (typeof host !== 'string' || host === '') errors.push('empty domain name not allowed');
  else if (host === '*') errors.push(`invalid destination host ${host}`);
  const weight = entry.weight ?? 0;
  if (typeof weight === 'number' && weight < 0) errors.push(`weight ${weight} < 0`);
  return errors;
}

/** Weights are relative (Istio normalizes them), so only an all-zero split is refused. */
function routeDestinationsErrors(route: unknown[]): string[] {
  const errors = route.flatMap(destinationErrors);
  const total = route.reduce<number>((sum, entry) => {
    const weight = isRecord(entry) ? entry.weight : undefined;
    return sum + (typeof weight === 'number' ? weight : 0);
  }, 0);
  if (route.length > 1 && total === 0) errors.push('total destination weight = 0');
  return errors;
}

/** Perl syntax Go's regexp (RE2) refuses, with the token its error names. */
const PERL_ONLY = ['(?=', '(?!'];

function regexErrors(match: unknown, where: string): string[] {
  if (!isRecord(match) || typeof match.regex !== 'string') return [];
  const token = PERL_ONLY.find((t) => (match.regex as string).includes(t));
  if (token === undefined) return [];
  return [
    `"${where}": error parsing regexp: invalid or unsupported Perl syntax: \`${token}\`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`,
  ];
}

/** The string matches of one HTTP match request, named as Istio names them in errors. */
function matchErrors(match: unknown): string[] {
  if (!isRecord(match)) return [];
  const errors: string[] = [];
  const each = (value: unknown, where: string) => {
    if (isRecord(value))
      for (const item of Object.values(value)) errors.push(...regexErrors(item, where));
  };
  each(match.headers, 'headers');
  each(match.withoutHeaders, 'withoutHeaders');
  for (const where of ['uri', 'scheme', 'method', 'authority'])
    errors.push(...regexErrors(match[where], where));
  each(match.queryParams, 'queryParams');
  return errors;
}

function httpRouteErrors(http: unknown): string[] {
  if (!isRecord(http)) return [];
  const route = Array.isArray(http.route) ? http.route : [];
  if (route.length === 0 && http.redirect === undefined && http.directResponse === undefined) {
    return ['HTTP route, redirect or direct response is required'];
  }
  const matches = Array.isArray(http.match) ? http.match : [];
  return [...matches.flatMap(matchErrors), ...routeDestinationsErrors(route)];
}

/** The rules istiod's webhook applies to a VirtualService's spec, as its messages word them. */
export function virtualServiceWebhookErrors(spec: unknown): string[] {
  if (!isRecord(spec)) return ['virtual service must have at least one host'];
  const errors: string[] = [];
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0)
    errors.push('virtual service must have at least one host');
  const http = Array.isArray(spec.http) ? spec.http : [];
  return errors.concat(http.flatMap(httpRouteErrors));
}

/** Formats several errors the way go-multierror does; a single error stays bare, as Istio appends them. */
export function formatWebhookErrors(errors: string[]): string {
  if (errors.length === 1) return errors[0];
  return `${errors.length} errors occurred:\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}
