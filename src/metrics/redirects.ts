/** What to do with a 3xx from Prometheus (or what stands in front of it). */
export type RedirectDecision =
  { follow: true; url: URL; method: 'GET' | 'POST' } | { follow: false; why: string };

/** Statuses that carry a Location to go to. */
export function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/**
 * Judges one redirect. Never from https to http. With credentials (prometheus-token or
 * prometheus-headers), only to the same origin, or from http up to https on the same host: they
 * are meant for the server the user named, not for wherever that server points. 307 and 308 keep
 * the method (and the form body); the others continue as GET, as browsers do.
 */
export function judgeRedirect(
  from: URL,
  location: string | undefined,
  status: number,
  method: 'GET' | 'POST',
  credentials: boolean,
): RedirectDecision {
  if (!location) return { follow: false, why: `answered HTTP ${status} without a Location` };
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return { follow: false, why: `answered HTTP ${status} with a Location that is not a URL` };
  }
  const where = `${to.origin}${to.pathname}`;
  if (to.protocol !== 'http:' && to.protocol !== 'https:') {
    return { follow: false, why: `redirected (HTTP ${status}) to ${where}, which is not http(s)` };
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    return {
      follow: false,
      why: `redirected (HTTP ${status}) from https down to plain http, to ${where}; not followed`,
    };
  }
  const upgrade =
    from.protocol === 'http:' && to.protocol === 'https:' && from.hostname === to.hostname;
  if (credentials && to.origin !== from.origin && !upgrade) {
    return {
      follow: false,
      why: `redirected (HTTP ${status}) to another origin, ${where}; not followed, so that prometheus-token and prometheus-headers go to ${from.origin} only. If Prometheus is there, set prometheus-url to it`,
    };
  }
  const keep = status === 307 || status === 308;
  return { follow: true, url: to, method: keep ? method : 'GET' };
}
