import { UserError } from '../errors.ts';
import type { VirtualService } from '../istio/types.ts';
import type { Cluster } from './cluster.ts';

/** A write refused because the run is being shut down and its route restored. */
export class FencedWriteError extends UserError {
  override name = 'FencedWriteError';
}

/** A Cluster whose writes can be stopped, so that a last-minute restore is not undone behind it. */
export interface WriteFence {
  /** The cluster the run uses; its writes throw FencedWriteError once the fence is closed. */
  readonly cluster: Cluster;
  /** The same cluster without the fence: for the restore that follows closing it. */
  readonly unfenced: Cluster;
  /** True once the run's first write to the cluster started. */
  wrote(): boolean;
  /**
   * Each VirtualService as the API server returned it after this run's last write of it: what
   * the run wrote itself, which a restore of last resort may trust as its own.
   */
  written(): VirtualService[];
  /** Refuses every write from now on and resolves when the writes in flight have settled. */
  close(): Promise<void>;
}

/** Wraps `cluster`'s writes (the two replace calls) with the fence and a record of writing. */
export function writeFence(cluster: Cluster): WriteFence {
  let closed = false;
  let wrote = false;
  const inFlight = new Set<Promise<unknown>>();
  const written = new Map<string, VirtualService>();
  const guarded =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (closed)
        return Promise.reject(
          new FencedWriteError('The run is shutting down: no further write to the cluster.'),
        );
      wrote = true;
      const promise = write(...args);
      inFlight.add(promise);
      const forget = (): void => void inFlight.delete(promise);
      promise.then(forget, forget);
      return promise;
    };
  const fenced: Cluster = {
    ...cluster,
    defaultNamespace: cluster.defaultNamespace,
    replaceVirtualService: guarded(async (vs) => {
      const stored = await cluster.replaceVirtualService(vs);
      written.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
      return stored;
    }),
    replaceDestinationRule: guarded((dr) => cluster.replaceDestinationRule(dr)),
  };
  return {
    cluster: fenced,
    unfenced: cluster,
    wrote: () => wrote,
    written: () => [...written.values()],
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
