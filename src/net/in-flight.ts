import { seconds } from './deadline.ts';

/**
 * The Kubernetes and Prometheus calls under way. A step that runs past its deadline uses it to
 * say which call is hanging, instead of leaving a person to guess.
 */
export class InFlightCalls {
  readonly #calls = new Map<number, { what: string; since: number }>();
  readonly #now: () => number;
  #next = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Runs `fn`, recorded as `what` until it settles. */
  async track<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const id = this.#next++;
    this.#calls.set(id, { what, since: this.#now() });
    try {
      return await fn();
    } finally {
      this.#calls.delete(id);
    }
  }

  /** The call running longest, as "<what> (running for 12.3s)"; undefined when none is. */
  longest(): string | undefined {
    let oldest: { what: string; since: number } | undefined;
    for (const call of this.#calls.values())
      if (!oldest || call.since < oldest.since) oldest = call;
    return oldest && `${oldest.what} (running for ${seconds(this.#now() - oldest.since)})`;
  }
}
