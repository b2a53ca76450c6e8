import { UserError } from '../errors.ts';

/**
 * A request that got no usable answer, in our own words: what failed and at which server. It
 * keeps the library's error code (for the retry decision) and nothing else of the library's
 * error, whose message can quote the request, headers and token included.
 */
export class NetworkError extends Error {
  override name = 'NetworkError';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

/** A call that ran out of its time budget: final, never retried (the budget is spent). */
export class DeadlineError extends UserError {
  override name = 'DeadlineError';
}

/** An answer larger than any real one: refused before it is all read. */
export class BodyTooLargeError extends UserError {
  override name = 'BodyTooLargeError';
}

/** A redirect we do not follow, naming where it pointed. */
export class RedirectRefusedError extends UserError {
  override name = 'RedirectRefusedError';
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** What to check when a server's certificate is not trusted, per kind of server. */
export interface TlsHints {
  /** Where the trusted authority comes from: "certificate-authority-data in the kubeconfig". */
  authority: string;
}

/**
 * Our own sentence for a failed connection to `server` (an origin such as https://host:6443),
 * or undefined when the error is not a network failure we know. Looks through `cause` chains.
 */
export function describeNetworkFailure(
  error: unknown,
  server: string,
  hints: TlsHints,
): string | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  const host = hostOf(server);
  if (UNKNOWN_AUTHORITY.has(code)) {
    return `the TLS certificate of ${server} is not signed by an authority we trust (${code}); check ${hints.authority}`;
  }
  switch (code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the TLS certificate of ${server} is not valid for the name ${host} (name mismatch); connect by a name the certificate lists`;
    case 'CERT_HAS_EXPIRED':
      return `the TLS certificate of ${server} has expired (CERT_HAS_EXPIRED)`;
    case 'CERT_NOT_YET_VALID':
      return `the TLS certificate of ${server} is not valid yet (CERT_NOT_YET_VALID); check the clocks`;
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'EPROTO':
      return `${server} does not answer TLS (${code}); is it a plain http server?`;
    case 'ECONNREFUSED':
      return `connection refused (ECONNREFUSED): nothing listens at ${server}`;
    case 'ENOTFOUND':
      return `the host name of ${server} does not resolve (ENOTFOUND)`;
    case 'EAI_AGAIN':
      return `the host name of ${server} could not be resolved just now (EAI_AGAIN)`;
    case 'ECONNRESET':
      return `${server} closed the connection (ECONNRESET)`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${server} timed out (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${server} cannot be reached from here (${code})`;
    default:
      return undefined;
  }
}

/** The first string `code` along the error's `cause` chain. */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Object; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

/** `https://host:port` of a URL, without path, query or credentials. */
export function originOf(url: string | URL): string {
  try {
    return new URL(url).origin;
  } catch {
    return String(url);
  }
}

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}

/** Mebibytes, for messages about body limits. */
export function mebibytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}
