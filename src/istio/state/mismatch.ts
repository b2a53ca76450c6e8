/**
 * What a person sees when a saved state does not explain its object or disagrees with the
 * inputs: the error that stops every write, each difference (what the object has, what the state
 * explains), and how to put things right by hand. Values come from the cluster, so they are
 * shown as escaped JSON and cut to a length a log line can hold.
 */
import { MultilineError } from '../../errors.ts';
import type { ObjectMeta, VirtualService } from '../types.ts';
import {
  ANNOTATIONS,
  CALLER_ROUTES_ANNOTATION,
  STATE_PREFIX,
  isOwnStateKey,
  type DependentRef,
} from './format.ts';
import { readRestorePoint } from './read.ts';

/** One thing the state does not explain, or an input it disagrees with. */
export type Finding =
  | {
      /** What is compared, e.g. `route "primary", field "mirror"`. */
      subject: string;
      /** What the VirtualService has there; undefined when absent. */
      now: unknown;
      /** What the state explains there; undefined when absent. */
      explained: unknown;
      /** What gives `explained`, when it is not the stage of the whole message. */
      by?: string;
    }
  | { subject: string; note: string };

/** A saved state that must not be acted on. Nothing was written when it is thrown. */
export class StateMismatchError extends MultilineError {
  override name = 'StateMismatchError';
}

/** Longest value shown in a finding; the rest is counted, not printed. */
const MAX_SHOWN = 240;

/**
 * The error for findings about the rollout state of `vs`. `stage` says what the state explains
 * (e.g. `the saved original at 10% (v1 -> v2)`).
 */
export function stateMismatch(
  vs: VirtualService,
  findings: readonly Finding[],
  stage: string,
): StateMismatchError {
  const inputs = findings.some((f) => f.subject.startsWith('input '));
  const object = findings.some((f) => !f.subject.startsWith('input '));
  const what = [
    object ? 'does not explain the object it sits on' : '',
    inputs ? 'disagrees with the inputs' : '',
  ]
    .filter(Boolean)
    .join(', and ');
  const lines = [
    `Nothing was written: the rollout state on ${label(vs)} (its annotations under ` +
      `${STATE_PREFIX}) ${what}. It was changed since the last stage, or it is not this tool's.`,
    ...findings.map((f) => `  - ${render(f, stage)}`),
  ];
  if (inputs) lines.push('If an input is wrong, run again with the inputs of that rollout.');
  lines.push(...restoreByHand(vs.metadata), ...dependentsByHand(vs));
  return new StateMismatchError(lines);
}

/** The error for findings about the caller routes `owner` recorded on the dependent `vs`. */
export function callerRoutesMismatch(
  vs: VirtualService,
  owner: string,
  findings: readonly Finding[],
): StateMismatchError {
  const { namespace, name } = vs.metadata;
  const lines = [
    `Nothing was written: annotation "${CALLER_ROUTES_ANNOTATION}" on ${label(vs)} names ` +
      `routes as caller routes of the rollout of VirtualService ${quote(owner)} that are not ` +
      `what that rollout inserts.`,
    ...findings.map((f) => `  - ${render(f, 'a caller route rebuilt from the route it precedes')}`),
    'If they are caller routes of that rollout after all, remove them by hand:',
    `    kubectl -n ${word(namespace ?? 'default')} edit virtualservice ${word(name)}`,
    `and drop ${quote(owner)} from annotation "${CALLER_ROUTES_ANNOTATION}" in the same edit.`,
  ];
  return new StateMismatchError(lines);
}

/** Several VirtualServices' errors as one, each message kept whole. */
export function combinedMismatch(errors: readonly StateMismatchError[]): StateMismatchError {
  if (errors.length === 1) return errors[0];
  return new StateMismatchError(errors.flatMap((e, i) => (i === 0 ? e.lines : ['', ...e.lines])));
}

function render(finding: Finding, stage: string): string {
  if ('note' in finding) return `${finding.subject}: ${finding.note}`;
  return (
    `${finding.subject}: the VirtualService has ${shown(finding.now)}; ` +
    `${finding.by ?? stage} gives ${shown(finding.explained)}`
  );
}

/**
 * What to do by hand: decide what the route should be (the saved original is only a candidate:
 * it comes from the cluster too), then forget the rollout by removing exactly our annotations.
 */
function restoreByHand(metadata: ObjectMeta): string[] {
  const namespace = word(metadata.namespace ?? 'default');
  const name = word(metadata.name);
  const keys = Object.keys(metadata.annotations ?? {}).filter(isOwnStateKey);
  return [
    `To restore by hand, decide what the route should be: the saved original is in annotation ` +
      `"${ANNOTATIONS.originalRoute}", but it comes from the cluster too, so read it before ` +
      `you put it back. Edit the route with`,
    `    kubectl -n ${namespace} edit virtualservice ${name}`,
    'then forget the rollout (other annotations stay as they are):',
    `    kubectl -n ${namespace} annotate virtualservice ${name} ${keys.map((k) => `${k}-`).join(' ')}`,
  ];
}

/** The dependents the state names keep their caller routes until a person removes them. */
function dependentsByHand(vs: VirtualService): string[] {
  let dependents: DependentRef[];
  try {
    dependents = readRestorePoint(vs)?.dependents ?? [];
  } catch {
    return [];
  }
  if (dependents.length === 0) return [];
  const owner = `${vs.metadata.namespace ?? ''}/${vs.metadata.name}`;
  const names = dependents.map((d) => quote(`${d.namespace}/${d.name}`)).join(', ');
  return [
    `The state also names dependents (${names}): on each, remove the caller routes recorded ` +
      `under ${quote(owner)} in annotation "${CALLER_ROUTES_ANNOTATION}", and that entry.`,
  ];
}

function label(vs: VirtualService): string {
  const { namespace, name } = vs.metadata;
  return `VirtualService ${quote(namespace ? `${namespace}/${name}` : name)}`;
}

/**
 * `value` as JSON, or `nothing` when absent, with the characters a terminal or log would act on
 * escaped (JSON already escapes the C0 controls) and cut at MAX_SHOWN characters.
 */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  return quoteJson(JSON.stringify(value) ?? 'nothing');
}

/** How a finding names a route of the cluster: its name, quoted and escaped, or `http[i]`. */
export function routeName(route: { name?: unknown }, index: number): string {
  if (route.name === undefined) return `http[${index}]`;
  return typeof route.name === 'string' ? quote(route.name) : shown(route.name);
}

/** A string from the cluster, quoted and escaped like shown(). */
export function quote(text: string): string {
  return quoteJson(JSON.stringify(text));
}

function quoteJson(json: string): string {
  const escaped = json.replace(
    /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (escaped.length <= MAX_SHOWN) return escaped;
  return `${escaped.slice(0, MAX_SHOWN)}... (${escaped.length - MAX_SHOWN} more characters)`;
}

/** A name for a shell command line: as is when it is a DNS name, else single-quoted. */
function word(text: string): string {
  return /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
