import { ConflictError } from '../errors.ts';
import type { VirtualService } from '../istio/types.ts';
import type { Cluster } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';

/** How many times a conditional write is re-applied to a fresh read before giving up. */
const MAX_CONFLICTS = 8;

/**
 * Reads the VirtualService, applies `edit`, and writes it back conditionally on the
 * resourceVersion that was read. When someone else wrote in between (409), the same edit is
 * applied again to the fresh object, so their change survives and ours lands on top of it.
 * `edit` returns undefined when nothing needs writing.
 */
export async function updateVirtualService(
  cluster: Cluster,
  namespace: string,
  name: string,
  logger: Logger,
  edit: (current: VirtualService) => VirtualService | undefined,
): Promise<{ before: VirtualService; after: VirtualService; written: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const before = await cluster.getVirtualService(namespace, name);
    const next = edit(structuredClone(before));
    if (next === undefined) return { before, after: before, written: false };
    next.metadata.resourceVersion = before.metadata.resourceVersion;
    try {
      const after = await cluster.replaceVirtualService(next);
      return { before, after, written: true };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_CONFLICTS) throw error;
      logger.info(
        `VirtualService ${namespace}/${name} changed while we wrote it (conflict ${attempt}); re-reading and applying the same change to the new version.`,
      );
    }
  }
}
