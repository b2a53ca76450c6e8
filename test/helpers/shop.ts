import assert from 'node:assert/strict';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import { backendVirtualService, SHOP, shopClients } from '../../src/sandbox/fixtures.ts';
import { asStored, type Sandbox } from './ground.ts';
import { DEFAULT_BEHAVIOUR } from '../../src/sandbox/simulator.ts';

/** Puts the sandbox's shop back as a test expects to find it: original route, healthy canary. */
export function resetShop(sandbox: Pick<Sandbox, 'api' | 'simulator'>, rps: number): void {
  sandbox.api.put(backendVirtualService());
  sandbox.simulator.setBehaviour('backend-v2', DEFAULT_BEHAVIOUR);
  sandbox.simulator.setClients(shopClients(rps));
}

/** The backend VirtualService as the API server holds it now. */
export function backendVs(sandbox: Pick<Sandbox, 'api'>): ReturnType<typeof backendVirtualService> {
  return sandbox.api.get('virtualservices', SHOP, 'backend') as unknown as ReturnType<
    typeof backendVirtualService
  >;
}

/** The route the rollouts shift. */
export function primaryRoute(sandbox: Pick<Sandbox, 'api'>): HTTPRoute {
  return backendVs(sandbox).spec.http.find((r) => r.name === 'primary')!;
}

/** Spec (byte for byte, as the ground stores it), labels and annotations as `expected`. */
export function assertExactly(current: VirtualService, expected: VirtualService): void {
  const name = expected.metadata.name;
  assert.equal(
    JSON.stringify(current.spec),
    JSON.stringify(asStored(expected.spec)),
    `${name}: spec`,
  );
  assert.deepEqual(current.metadata.labels, expected.metadata.labels, `${name}: labels`);
  assert.deepEqual(
    current.metadata.annotations,
    expected.metadata.annotations,
    `${name}: annotations`,
  );
}

/** The backend VirtualService equals the user's original, byte for byte. */
export function assertRestored(current: VirtualService): void {
  assertExactly(current, backendVirtualService());
}

/** `{ v1: 90, v2: 10 }` for a split route; `host` for a destination without a subset. */
export function weights(route: HTTPRoute): Record<string, number> {
  return Object.fromEntries(
    (route.route ?? []).map((d) => [d.destination.subset ?? 'host', d.weight ?? 100]),
  );
}
