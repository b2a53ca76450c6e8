/**
 * The sandbox's mesh: clients send requests that are routed by the VirtualServices in the sandbox
 * API server, answered by simulated Deployments with a chosen error rate and latency, and counted
 * in Istio's standard metrics, which Prometheus (or the built-in evaluator) reads.
 */
import { fitLogNormal, pickCumulative, sampleLogNormal, seededRandom } from './simulator-random.ts';
import type { LogNormal, Random } from './simulator-random.ts';
import { IstioMetrics } from './simulator-metrics.ts';
import type { IstioLabels, MetricSample, Series } from './simulator-metrics.ts';
import { mirrorRequest, routeRequest, takeSnapshot } from './simulator-routing.ts';
import type { ClusterSnapshot, MirrorTarget, Outcome, RequestInfo } from './simulator-routing.ts';
import { serveMetrics } from './simulator-http.ts';
import type { MetricsServer } from './simulator-http.ts';
import type { SandboxObjects } from './types.ts';

/** A group of callers of one host. */
export interface ClientSpec {
  namespace: string;
  sourceWorkload: string;
  /** Pod labels of the caller (`app`, `version` become source_app, source_version). */
  sourceLabels: Record<string, string>;
  /** `backend`, `backend.shop` or `backend.shop.svc.cluster.local`; short names are relative to `namespace`. */
  host: string;
  /** Requests per second. */
  rps: number;
  headers?: Record<string, string>;
  /** Request path, for `uri` matches; `/` by default. */
  path?: string;
}

/** How the pods of one Deployment answer. */
export interface Behaviour {
  /** Probability in [0, 1] that a request gets a 500. */
  errorRate: number;
  latencyMs: { median: number; p99: number };
}

export interface SimulatorOptions {
  objects: SandboxObjects;
  /** PRNG seed; the same seed and the same calls give the same counts. Default 1. */
  seed?: number;
  /** Real-time loop period in ms. Default 100. */
  tickMs?: number;
  clients: ClientSpec[];
  /** Keyed by Deployment name; Deployments not listed use DEFAULT_BEHAVIOUR. */
  behaviours: Record<string, Behaviour>;
}

/** Requests and 5xx answers one Deployment served, as its own sidecar counted them. */
export interface DeploymentTotals {
  requests: number;
  errors: number;
}

/** A healthy service: no errors, 20 ms median, 100 ms p99. */
export const DEFAULT_BEHAVIOUR: Behaviour = { errorRate: 0, latencyMs: { median: 20, p99: 100 } };

/** After a stalled event loop, catch up at most this many ticks rather than send a burst. */
const MAX_CATCH_UP_TICKS = 10;
/** Latency of a reply the source sidecar makes itself (no upstream to wait for). */
const LOCAL_REPLY_MS = 0.5;

interface FittedBehaviour {
  errorRate: number;
  latency: LogNormal;
}

function fit(behaviour: Behaviour): FittedBehaviour {
  return {
    errorRate: Math.min(1, Math.max(0, behaviour.errorRate)),
    latency: fitLogNormal(behaviour.latencyMs.median, behaviour.latencyMs.p99),
  };
}

const DEFAULT_FITTED = fit(DEFAULT_BEHAVIOUR);

interface Client {
  spec: ClientSpec;
  request: RequestInfo;
  /** Requests owed but not yet sent: rps * elapsed leaves fractions between ticks. */
  carry: number;
}

function toClient(spec: ClientSpec): Client {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {}))
    headers[name.toLowerCase()] = value;
  return {
    spec: { ...spec },
    request: {
      namespace: spec.namespace,
      sourceLabels: { ...spec.sourceLabels },
      host: spec.host,
      headers,
      path: spec.path ?? '/',
    },
    carry: 0,
  };
}

type Reporter = 'source' | 'destination';

function labelsFor(
  client: ClientSpec,
  outcome: Outcome,
  reporter: Reporter,
  code: number,
): IstioLabels {
  const endpoint = outcome.kind === 'endpoint' ? outcome.endpoint : undefined;
  return {
    reporter,
    source_workload: client.sourceWorkload,
    source_workload_namespace: client.namespace,
    source_app: client.sourceLabels.app ?? 'unknown',
    source_version: client.sourceLabels.version ?? 'unknown',
    destination_workload: endpoint?.deployment ?? 'unknown',
    destination_workload_namespace: endpoint?.namespace ?? 'unknown',
    destination_app: endpoint?.app ?? 'unknown',
    destination_version: endpoint?.version ?? 'unknown',
    destination_service: outcome.service.fqdn,
    destination_service_name: outcome.service.name,
    destination_service_namespace: outcome.service.namespace,
    request_protocol: 'http',
    response_code: String(code),
    response_flags: outcome.kind === 'local-reply' ? outcome.flags : '-',
    connection_security_policy: reporter === 'destination' ? 'mutual_tls' : 'unknown',
  };
}

/** The series one outcome writes to, created on first use within a tick. */
class OutcomeSeries {
  private readonly cache = new Map<string, Series>();
  private readonly metrics: IstioMetrics;
  private readonly client: ClientSpec;
  private readonly outcome: Outcome;

  constructor(metrics: IstioMetrics, client: ClientSpec, outcome: Outcome) {
    this.metrics = metrics;
    this.client = client;
    this.outcome = outcome;
  }

  get(reporter: Reporter, code: number): Series {
    const key = `${reporter}${code}`;
    let series = this.cache.get(key);
    if (series === undefined) {
      series = this.metrics.seriesFor(labelsFor(this.client, this.outcome, reporter, code));
      this.cache.set(key, series);
    }
    return series;
  }
}

/** Simulated Istio traffic over the sandbox's objects, with Istio's metrics. */
export class TrafficSimulator {
  private readonly objects: SandboxObjects;
  private readonly random: Random;
  private readonly tickMs: number;
  private readonly metrics = new IstioMetrics();
  private readonly behaviours = new Map<string, FittedBehaviour>();
  private clients: Client[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private server: Promise<MetricsServer> | undefined;

  constructor(options: SimulatorOptions) {
    this.objects = options.objects;
    this.random = seededRandom(options.seed ?? 1);
    this.tickMs = options.tickMs ?? 100;
    if (!(this.tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${this.tickMs}`);
    this.setClients(options.clients);
    for (const [name, behaviour] of Object.entries(options.behaviours))
      this.setBehaviour(name, behaviour);
  }

  /** Changes how a Deployment answers from the next request on. */
  setBehaviour(deployment: string, behaviour: Behaviour): void {
    this.behaviours.set(deployment, fit(behaviour));
  }

  /** Replaces every client. */
  setClients(clients: ClientSpec[]): void {
    this.clients = clients.map(toClient);
  }

  /** Sets the rate of every client, or only of those of one source workload. */
  setRate(rps: number, sourceWorkload?: string): void {
    for (const client of this.clients) {
      if (sourceWorkload === undefined || client.spec.sourceWorkload === sourceWorkload)
        client.spec.rps = rps;
    }
  }

  /** Starts sending requests in real time, one batch every `tickMs`. */
  start(): void {
    if (this.timer !== undefined) return;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.tick(Math.min(now - last, this.tickMs * MAX_CATCH_UP_TICKS));
      last = now;
    }, this.tickMs);
  }

  /** Stops sending requests; the metrics stay as they are (and stay served). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the traffic and the HTTP server. */
  async close(): Promise<void> {
    this.stop();
    const server = this.server;
    this.server = undefined;
    await server?.then(
      (s) => s.close(),
      () => undefined,
    );
  }

  /** Advances simulated time by `ms`: each client sends rps * ms / 1000 requests (fractions carry). */
  tick(ms: number): void {
    if (!(ms > 0)) return;
    let snapshot: ClusterSnapshot | undefined;
    for (const client of this.clients) {
      client.carry += (Math.max(0, client.spec.rps) * ms) / 1000;
      // The epsilon keeps 10 x 0.3 from flooring to 2 through rounding error.
      const count = Math.floor(client.carry + 1e-9);
      client.carry = Math.max(0, client.carry - count);
      if (count === 0) continue;
      // Listed once per tick, and only when someone sends: the objects may change between ticks.
      snapshot ??= takeSnapshot(this.objects);
      const outcomes = routeRequest(snapshot, client.request);
      this.send(client, outcomes, count, mirrorRequest(snapshot, client.request));
    }
  }

  private send(
    client: Client,
    outcomes: Outcome[],
    count: number,
    mirror: MirrorTarget | undefined,
  ): void {
    if (outcomes.length === 0) return;
    const pick = this.picker(client, outcomes);
    const shadow = mirror && this.picker(client, mirror.endpoints);
    for (let i = 0; i < count; i++) {
      const [outcome, series] = pick();
      this.answer(outcome, series);
      // A request mirrored with probability percent/100; at 100 every one, with no draw.
      if (shadow && (mirror.percent >= 100 || this.random() * 100 < mirror.percent)) {
        const [copy, copySeries] = shadow();
        this.answerMirror(copy, copySeries);
      }
    }
  }

  /** Draws one of `outcomes` by share, with the series it writes to. */
  private picker(client: Client, outcomes: Outcome[]): () => [Outcome, OutcomeSeries] {
    const cumulative: number[] = [];
    let total = 0;
    for (const o of outcomes) cumulative.push((total += o.share));
    const series = outcomes.map((o) => new OutcomeSeries(this.metrics, client.spec, o));
    return () => {
      const index = pickCumulative(this.random, cumulative);
      return [outcomes[index], series[index]];
    };
  }

  /**
   * A mirrored copy: the mirror's sidecar counts it like any request it serves (Istio adds
   * `-shadow` to the authority, but the destination workload reports it as its own), while the
   * caller's sidecar never reports it, since its answer is discarded.
   */
  private answerMirror(outcome: Outcome, series: OutcomeSeries): void {
    if (outcome.kind !== 'endpoint' || !outcome.endpoint.sidecar) return;
    const behaviour = this.behaviours.get(outcome.endpoint.deployment) ?? DEFAULT_FITTED;
    const code = this.random() < behaviour.errorRate ? 500 : 200;
    IstioMetrics.observe(
      series.get('destination', code),
      sampleLogNormal(this.random, behaviour.latency),
    );
  }

  private answer(outcome: Outcome, series: OutcomeSeries): void {
    if (outcome.kind === 'local-reply') {
      IstioMetrics.observe(series.get('source', outcome.code), LOCAL_REPLY_MS);
      return;
    }
    const behaviour = this.behaviours.get(outcome.endpoint.deployment) ?? DEFAULT_FITTED;
    const code = this.random() < behaviour.errorRate ? 500 : 200;
    const latency = sampleLogNormal(this.random, behaviour.latency);
    IstioMetrics.observe(series.get('source', code), latency);
    // Only a sidecar reports as destination: a pod without one serves unseen by those metrics.
    if (outcome.endpoint.sidecar) IstioMetrics.observe(series.get('destination', code), latency);
  }

  /** Forgets every series, as when the pods restart and their counters start again from zero. */
  resetCounters(): void {
    this.metrics.reset();
  }

  /** The metrics in Prometheus text exposition format 0.0.4. */
  metricsText(): string {
    return this.metrics.exposition();
  }

  /** The current counters as PromQL samples (for the built-in evaluator). */
  samples(): MetricSample[] {
    return this.metrics.samples();
  }

  /** Per Deployment name, requests and 5xx answers as the destination sidecars counted them. */
  totals(): Record<string, DeploymentTotals> {
    const totals: Record<string, DeploymentTotals> = {};
    for (const s of this.metrics.all()) {
      if (s.labels.reporter !== 'destination') continue;
      const t = (totals[s.labels.destination_workload] ??= { requests: 0, errors: 0 });
      t.requests += s.requests;
      if (s.labels.response_code.startsWith('5')) t.errors += s.requests;
    }
    return totals;
  }

  /** Serves `/metrics` and the query API on 127.0.0.1; resolves with the base URL. */
  async serve(port = 0): Promise<string> {
    const pending = (this.server ??= serveMetrics(this, port));
    try {
      return (await pending).url;
    } catch (err) {
      if (this.server === pending) this.server = undefined;
      throw err;
    }
  }
}
