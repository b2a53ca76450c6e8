import { ApiServer, type ApiServerOptions } from './apiserver.ts';
import { SHOP, shopClients, shopObjects } from './fixtures.ts';
import {
  findPrometheus,
  prometheusUnavailableMessage,
  startPrometheus,
  type RunningPrometheus,
} from './prometheus.ts';
import { TrafficSimulator, type Behaviour } from './simulator.ts';

export interface SandboxOptions {
  /**
   * `required`: a real Prometheus or an error; `auto`: real when the binary exists, else the
   * simulator's own query endpoint; `off`: always the simulator's endpoint.
   */
  prometheus?: 'required' | 'auto' | 'off';
  /** Requests per second of the frontend to backend (default 40). */
  rps?: number;
  seed?: number;
  behaviours?: Record<string, Behaviour>;
  /** networking.istio.io versions the API server serves (default all three). */
  servedIstioVersions?: ('v1' | 'v1beta1' | 'v1alpha3')[];
  /** Extra bearer tokens and what each may do (e.g. an RBAC policy from a manifest). */
  tokens?: ApiServerOptions['tokens'];
}

/** A running sandbox: API server, simulated mesh, Prometheus (real or built-in). */
export interface Sandbox {
  api: ApiServer;
  simulator: TrafficSimulator;
  /** Admin kubeconfig whose context namespace is `shop`. */
  kubeconfig: string;
  /** Base URL of the Prometheus HTTP API (also reachable as k8s://istio-system/prometheus:9090). */
  prometheusUrl: string;
  /** True when a real Prometheus scrapes the simulator; false on the built-in endpoint. */
  realPrometheus: boolean;
  namespace: string;
  stop(): Promise<void>;
}

/**
 * Starts the closed loop the end-to-end tests and the demo stand on: step -> API server ->
 * simulated mesh -> Prometheus -> step. Everything listens on 127.0.0.1 only.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const mode = options.prometheus ?? 'auto';
  const binary = mode === 'off' ? undefined : findPrometheus();
  if (mode === 'required' && !binary) throw new Error(prometheusUnavailableMessage);

  const api = await ApiServer.start({
    servedIstioVersions: options.servedIstioVersions,
    tokens: options.tokens,
  });
  const cleanups: (() => Promise<void>)[] = [() => api.stop()];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    for (const object of shopObjects()) api.put(object);
    api.put({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'prometheus', namespace: 'istio-system' },
      spec: { selector: { app: 'prometheus' }, ports: [{ name: 'http', port: 9090 }] },
    });
    const simulator = new TrafficSimulator({
      objects: api,
      seed: options.seed ?? 1,
      clients: shopClients(options.rps ?? 40),
      behaviours: options.behaviours ?? {},
    });
    const simulatorUrl = await simulator.serve();
    cleanups.push(() => simulator.close());
    simulator.start();
    let prometheus: RunningPrometheus | undefined;
    if (binary) {
      prometheus = await startPrometheus({ targets: [new URL(simulatorUrl).host], binary });
      cleanups.push(() => prometheus!.stop());
    }
    const prometheusUrl = prometheus?.url ?? simulatorUrl;
    api.registerServiceProxy('istio-system', 'prometheus', 9090, prometheusUrl);
    return {
      api,
      simulator,
      kubeconfig: api.kubeconfig({ namespace: SHOP }),
      prometheusUrl,
      realPrometheus: prometheus !== undefined,
      namespace: SHOP,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
