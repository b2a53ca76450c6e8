/**
 * The sandbox's cluster: one service under rollout, shaped like the ones users run. The
 * VirtualService has a header-matched tester route, a route of another service with its own
 * timeout, and a host-only default route with retries: the step must change only the last one.
 */
import type { VirtualService } from '../istio/types.ts';
import type { ClientSpec } from './simulator.ts';

export const SHOP = 'shop';

export function shopObjects(): Record<string, unknown>[] {
  return [
    service('backend', { app: 'backend' }),
    service('reviews', { app: 'reviews' }),
    service('frontend', { app: 'frontend' }),
    deployment('backend-v1', { app: 'backend', version: 'v1' }, 3),
    deployment('backend-v2', { app: 'backend', version: 'v2' }, 1),
    deployment('reviews-v1', { app: 'reviews', version: 'v1' }, 1),
    deployment('frontend-v1', { app: 'frontend', version: 'v1' }, 2),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'backend', namespace: SHOP },
      spec: {
        host: 'backend.shop.svc.cluster.local',
        trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1000 } } },
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    },
    backendVirtualService(),
  ];
}

/** The user's VirtualService before any rollout; tests compare against it byte for byte. */
export function backendVirtualService(): VirtualService & {
  spec: { http: NonNullable<VirtualService['spec']['http']> };
} {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: 'backend',
      namespace: SHOP,
      labels: { team: 'checkout' },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'shop:networking.istio.io/VirtualService:shop/backend',
      },
    },
    spec: {
      hosts: ['backend'],
      http: [
        {
          name: 'testers',
          match: [{ headers: { 'x-canary': { exact: 'tester' } } }],
          route: [{ destination: { host: 'backend', subset: 'v2', port: { number: 8080 } } }],
        },
        {
          name: 'reviews-api',
          match: [{ uri: { prefix: '/reviews' } }],
          timeout: '2s',
          route: [{ destination: { host: 'reviews', port: { number: 8080 } } }],
        },
        {
          name: 'primary',
          retries: { attempts: 3, perTryTimeout: '1s', retryOn: '5xx,reset' },
          timeout: '5s',
          headers: { request: { set: { 'x-served-by': 'mesh' } } },
          route: [{ destination: { host: 'backend', port: { number: 8080 } } }],
        },
      ],
    },
  };
}

/** Callers of backend: the frontend at `rps`, and a few testers with the canary header. */
export function shopClients(rps: number): ClientSpec[] {
  const frontend = {
    namespace: SHOP,
    sourceWorkload: 'frontend-v1',
    sourceLabels: { app: 'frontend', version: 'v1' },
  };
  return [
    { ...frontend, host: 'backend', rps },
    { ...frontend, host: 'backend', rps: 2, headers: { 'x-canary': 'tester' } },
    { ...frontend, host: 'backend', rps: 5, path: '/reviews/42' },
  ];
}

function service(name: string, selector: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: SHOP, labels: { app: name } },
    spec: { selector, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
  };
}

function deployment(
  name: string,
  labels: Record<string, string>,
  replicas: number,
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: SHOP, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, 'security.istio.io/tlsMode': 'istio' } },
        spec: {
          containers: [
            { name: labels.app, image: `registry.example/${labels.app}:${labels.version}` },
          ],
        },
      },
    },
  };
}

/**
 * Objects for traffic shaping, added on demand by the tests that need them (the default sandbox
 * stays as above): a `frontend` with a v2 and its own VirtualService, whose canary pins its calls
 * to backend v2; two Services of backend's versions for host canaries, with the VirtualService
 * callers of `backend-stable` use; and a gateway VirtualService in front of backend.
 */
export function shapingObjects(): Record<string, unknown>[] {
  return [
    deployment('frontend-v2', { app: 'frontend', version: 'v2' }, 1),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'frontend', namespace: SHOP },
      spec: {
        host: 'frontend',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    },
    frontendVirtualService(),
    service('backend-stable', { app: 'backend', version: 'v1' }),
    service('backend-canary', { app: 'backend', version: 'v2' }),
    hostsVirtualService(),
    gatewayVirtualService(),
  ];
}

/** The frontend's VirtualService before any rollout. */
export function frontendVirtualService(): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'frontend', namespace: SHOP },
    spec: {
      hosts: ['frontend'],
      http: [
        {
          name: 'web',
          timeout: '3s',
          route: [{ destination: { host: 'frontend', port: { number: 8080 } } }],
        },
      ],
    },
  };
}

/** A VirtualService of a team that runs two Services: callers use `backend-stable`. */
export function hostsVirtualService(): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'backend-hosts', namespace: SHOP },
    spec: {
      hosts: ['backend-stable'],
      http: [
        {
          name: 'main',
          retries: { attempts: 2, perTryTimeout: '1s' },
          route: [{ destination: { host: 'backend-stable', port: { number: 8080 } } }],
        },
      ],
    },
  };
}

/** The ingress gateway's VirtualService for backend, next to the mesh one (`backend`). */
export function gatewayVirtualService(): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'backend-gateway', namespace: SHOP },
    spec: {
      hosts: ['shop.example.com'],
      gateways: ['shop-gateway'],
      http: [
        {
          name: 'api',
          match: [{ uri: { prefix: '/api/' } }],
          rewrite: { uri: '/' },
          route: [
            { destination: { host: 'backend.shop.svc.cluster.local', port: { number: 8080 } } },
          ],
        },
      ],
    },
  };
}
