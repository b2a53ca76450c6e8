import { UserError } from '../errors.ts';
import type { ObjectMeta } from './types.ts';

/** One DNS-1123 label without the length limit; a subdomain is dot-separated labels. */
const LABEL_CHARS = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const LABEL_MAX = 63;
const SUBDOMAIN_MAX = 253;

/** What each kind of name accepts, worded for a person reading an error. */
const ACCEPTED: Record<Dns1123Kind, string> = {
  label: `lower case letters, digits and "-", starting and ending with a letter or digit, at most ${LABEL_MAX} characters`,
  subdomain: `lower case letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit, at most ${SUBDOMAIN_MAX} characters`,
};

/** The two Kubernetes name forms: subset names are labels, object names and hosts subdomains. */
export type Dns1123Kind = 'label' | 'subdomain';

/** True when `value` is a DNS-1123 label (RFC 1123), as Kubernetes and Istio subset names are. */
export function isDns1123Label(value: string): boolean {
  return value.length <= LABEL_MAX && LABEL_CHARS.test(value);
}

/** True when `value` is a DNS-1123 subdomain, as Kubernetes object names are. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= SUBDOMAIN_MAX && value.split('.').every((part) => LABEL_CHARS.test(part));
}

/**
 * Returns `value` when it is a DNS-1123 name of `kind`; otherwise throws a UserError naming
 * `input` (the action input / CLI flag it came from) and the accepted form.
 */
export function assertDns1123(input: string, value: string, kind: Dns1123Kind): string {
  const ok = kind === 'label' ? isDns1123Label(value) : isDns1123Subdomain(value);
  if (!ok) {
    throw new UserError(
      `Input "${input}" must be a DNS-1123 ${kind} (${ACCEPTED[kind]}), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** `Kind "namespace/name"` (or `Kind "name"`), the way errors and logs name an object. */
export function objectLabel(kind: string, metadata: ObjectMeta): string {
  const name = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
  return `${kind} ${JSON.stringify(name)}`;
}
