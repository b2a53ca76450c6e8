import { ConflictError } from '../errors.ts';
import type { DestinationRule, ObjectMeta, VirtualService } from '../istio/types.ts';
import type { Cluster } from '../kube/cluster.ts';
import type { Logger } from '../logger.ts';

/** How many times a conditional write is re-applied to a fresh read before giving up. */
const MAX_CONFLICTS = 8;

/** What a conditional update returns: the object as read, as written, and whether it was written. */
export interface UpdateResult<T> {
  before: T;
  after: T;
  written: boolean;
}

/** How to read and conditionally replace one object, and how messages name it. */
interface ObjectIo<T> {
  label: string;
  get: () => Promise<T>;
  replace: (next: T) => Promise<T>;
}

/**
 * Reads the VirtualService, applies `edit`, and writes it back conditionally on the
 * resourceVersion that was read. When someone else wrote in between (409), the same edit is
 * applied again to the fresh object, so their change survives and ours lands on top of it.
 * `edit` returns undefined when nothing needs writing.
 */
export function updateVirtualService(
  cluster: Cluster,
  namespace: string,
  name: string,
  logger: Logger,
  edit: (current: VirtualService) => VirtualService | undefined,
): Promise<UpdateResult<VirtualService>> {
  const io: ObjectIo<VirtualService> = {
    label: `VirtualService ${namespace}/${name}`,
    get: () => cluster.getVirtualService(namespace, name),
    replace: (next) => cluster.replaceVirtualService(next),
  };
  return updateConditionally(io, logger, edit);
}

/** The DestinationRule counterpart of updateVirtualService, with the same conflict handling. */
export function updateDestinationRule(
  cluster: Cluster,
  namespace: string,
  name: string,
  logger: Logger,
  edit: (current: DestinationRule) => DestinationRule | undefined,
): Promise<UpdateResult<DestinationRule>> {
  const io: ObjectIo<DestinationRule> = {
    label: `DestinationRule ${namespace}/${name}`,
    get: () => cluster.getDestinationRule(namespace, name),
    replace: (next) => cluster.replaceDestinationRule(next),
  };
  return updateConditionally(io, logger, edit);
}

async function updateConditionally<T extends { metadata: ObjectMeta }>(
  io: ObjectIo<T>,
  logger: Logger,
  edit: (current: T) => T | undefined,
): Promise<UpdateResult<T>> {
  for (let attempt = 1; ; attempt++) {
    const before = await io.get();
    const next = edit(structuredClone(before));
    if (next === undefined) return { before, after: before, written: false };
    next.metadata.resourceVersion = before.metadata.resourceVersion;
    try {
      const after = await io.replace(next);
      return { before, after, written: true };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_CONFLICTS) throw error;
      logger.info(
        `${io.label} changed while we wrote it (conflict ${attempt}); re-reading and applying the same change to the new version.`,
      );
    }
  }
}

/** `next`, or undefined when it equals `current`: no write for a change that changes nothing. */
export function unchangedOrUndefined(
  current: VirtualService,
  next: VirtualService,
): VirtualService | undefined {
  const same =
    JSON.stringify(next.spec) === JSON.stringify(current.spec) &&
    JSON.stringify(next.metadata.annotations) === JSON.stringify(current.metadata.annotations);
  return same ? undefined : next;
}
