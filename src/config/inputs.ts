/**
 * Every input of the step, in one table. action.yml, the CLI's flags and help, the GitLab
 * templates' `spec: inputs` and the README's table are all derived from (or checked against) it,
 * so a documented name or default cannot drift from what the code reads.
 */
export interface InputSpec {
  /** The input's name in action.yml, the CLI flag without `--`, the GitLab input name. */
  name: string;
  description: string;
  /** The default as a string, as action.yml writes it; undefined = no default. */
  default?: string;
  /** What the default means when it cannot be written as a literal (e.g. "current context"). */
  defaultNote?: string;
  /** Required for every command. */
  required?: boolean;
  /** A secret: masked in logs and never echoed back. */
  secret?: boolean;
  /** Accepted values, when the input is an enumeration. */
  options?: string[];
  /** The GitLab `spec: inputs` type. */
  type: 'string' | 'number' | 'boolean';
  /** The commands the input has an effect on; every command when absent. */
  commands?: readonly CommandName[];
  /** Another input without which this one has no effect (e.g. a weight for a match). */
  needs?: string;
}

/** The commands, as the `command` input names them. */
export type CommandName = 'step' | 'promote' | 'rollback' | 'status';

/** Inputs that only the watch of a step reads. */
const STEP: readonly CommandName[] = ['step'];

export const INPUTS: readonly InputSpec[] = [
  {
    name: 'command',
    description:
      'What to do: step (set the weights of one stage and watch), promote, rollback, or status.',
    default: 'step',
    options: ['step', 'promote', 'rollback', 'status'],
    type: 'string',
  },
  {
    name: 'kubeconfig',
    description: 'Kubeconfig content, plain YAML or base64.',
    defaultNote: 'KUBECONFIG, then ~/.kube/config, then the in-cluster service account',
    secret: true,
    type: 'string',
  },
  {
    name: 'context',
    description: 'Kubeconfig context to use.',
    defaultNote: 'the current context',
    type: 'string',
  },
  {
    name: 'namespace',
    description: 'Namespace of the VirtualService.',
    defaultNote: "the context's namespace, else default",
    type: 'string',
  },
  {
    name: 'virtual-service',
    description:
      'Name of the VirtualService to shift; a comma or newline list (a gateway VirtualService and a mesh one for the same service) moves them all together and rolls them all back together. The first one carries the caller routes of dependents.',
    required: true,
    type: 'string',
  },
  {
    name: 'route',
    description:
      'Name of the http route to shift, or http[N] to pick one by position (an unnamed route): N counts the http routes from 0, as error messages label them. Default: the one route that sends traffic to the stable subset (or to the host with no subset); ambiguity is an error naming the candidates.',
    type: 'string',
  },
  {
    name: 'host',
    description: 'Destination host under rollout. Default: taken from the route.',
    type: 'string',
  },
  {
    name: 'destination-rule',
    description:
      "DestinationRule holding the subsets. Default: the one in the namespace whose host matches the route's host.",
    type: 'string',
    commands: ['step', 'promote'],
  },
  {
    name: 'stable-subset',
    description:
      'Subset of the running version. Required for step and promote, unless stable-host and canary-host name two Services.',
    type: 'string',
  },
  {
    name: 'canary-subset',
    description:
      'Subset of the new version. Required for step and promote, unless stable-host and canary-host name two Services.',
    type: 'string',
  },
  {
    name: 'stable-host',
    description:
      'Host canaries: the Service of the running version (e.g. app-stable), for teams that run two Services instead of two subsets. Give it with canary-host, instead of stable-subset and canary-subset.',
    type: 'string',
  },
  {
    name: 'canary-host',
    description:
      'Host canaries: the Service of the new version (e.g. app-canary). Give it with stable-host, instead of stable-subset and canary-subset.',
    type: 'string',
  },
  {
    name: 'weight',
    description:
      'Canary percent, 0-100; a comma list (10,25,50) walks the weights in one job, watching after each. Required for step.',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'duration',
    description: 'Watch time after each weight change (90s, 5m, 1h30m; 0 = no watch).',
    default: '5m',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'interval',
    description: 'Time between metric checks.',
    default: '30s',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'prometheus-url',
    description:
      "Prometheus base URL: http(s)://..., or k8s://<namespace>/<service>:<port> to go through the API server's service proxy with the kubeconfig's credentials.",
    default: 'k8s://istio-system/prometheus:9090',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'prometheus-headers',
    description: 'Extra HTTP headers for Prometheus, one "Name: value" a line.',
    secret: true,
    type: 'string',
    commands: STEP,
  },
  {
    name: 'prometheus-token',
    description: 'Bearer token for Prometheus (masked in logs).',
    secret: true,
    type: 'string',
    commands: STEP,
  },
  {
    name: 'min-success-rate',
    description: 'Percent of canary responses that must not be 5xx.',
    default: '99',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'max-latency',
    description: 'Canary latency limit in milliseconds at latency-percentile. Default: off.',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'latency-percentile',
    description: 'Percentile that max-latency applies to.',
    default: '99',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'min-requests',
    description: 'Canary requests a check needs before it counts.',
    default: '20',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'failure-limit',
    description: 'Failed checks tolerated; one more rolls back.',
    default: '1',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'analysis',
    description:
      "How the canary is judged: sequential (compare its error rate and latency with stable's by an anytime-valid sequential test, checked every interval without inflating false rollbacks) or threshold (each check against min-success-rate and max-latency, failed checks counted against failure-limit).",
    default: 'sequential',
    options: ['sequential', 'threshold'],
    type: 'string',
    commands: STEP,
  },
  {
    name: 'alpha',
    description:
      'Sequential analysis: the chance, at most, that a canary no worse than stable is ever rolled back (more than 0, at most 0.5).',
    default: '0.01',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'max-error-ratio',
    description:
      'Sequential analysis: the canary/stable error-rate ratio tolerated (1 = no worse than stable, 1.2 = 20% more errors); at least 1.',
    default: '1',
    type: 'number',
    commands: STEP,
  },
  {
    name: 'metrics',
    description:
      'YAML list of custom PromQL checks, each with name, query, and min and/or max. Queries may use {{ namespace }}, {{ canary_workload }}, {{ stable_workload }}, {{ interval }}.',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'on-no-data',
    description: 'What a watch with too little canary traffic means: fail (roll back) or pass.',
    default: 'fail',
    options: ['fail', 'pass'],
    type: 'string',
    commands: STEP,
  },
  {
    name: 'canary-match',
    description:
      'Tester route: a YAML list of Istio HTTPMatchRequest entries (e.g. "- headers: {canary: {exact: tester}}", or a cookie regex) whose requests reach the canary at any stage. The route is inserted just before the shifted route, copying its other fields; rollback and promote remove it.',
    type: 'string',
    commands: STEP,
  },
  {
    name: 'canary-match-weight',
    description:
      'Percent of the requests matching canary-match sent to the canary (50 = half of the testers), 1-100.',
    default: '100',
    type: 'number',
    commands: STEP,
    needs: 'canary-match',
  },
  {
    name: 'mirror-percent',
    description:
      "Percent of the route's requests copied to the canary (0-100, decimals allowed), whose answers are discarded: with weight 0 a canary can be watched before it serves anyone. Mirrored requests are analysed like served ones.",
    type: 'number',
    commands: STEP,
  },
  {
    name: 'dependents',
    description:
      "YAML list of other VirtualServices whose canary the canary's own pods must call, each {virtual-service, stable-subset, canary-subset, route? (a name or http[N]), namespace?}: each gets a route matching the canary's pod labels (sourceLabels) to its canary subset. Rollback and promote undo them together.",
    type: 'string',
    commands: STEP,
  },
  {
    name: 'cleanup',
    description:
      'Promote only: then remove the old (stable) subset from the DestinationRule once no VirtualService in any namespace routes to it, before you delete the old Deployment (checking needs list on VirtualServices at the cluster scope; without it the subset stays). Never deletes workloads; a subset still routed to stays, named in a warning. Host canaries: nothing to do.',
    default: 'false',
    type: 'boolean',
    commands: ['promote'],
  },
  {
    name: 'dry-run',
    description: 'Print the planned change and touch nothing.',
    default: 'false',
    type: 'boolean',
    commands: ['step', 'promote', 'rollback'],
  },
  {
    name: 'github-token',
    description: 'Optional token to post a commit status per stage.',
    secret: true,
    type: 'string',
  },
];

/** Outputs of the step, for action.yml, the dotenv report and the docs. */
export const OUTPUTS: readonly { name: string; description: string }[] = [
  { name: 'result', description: 'passed, rolled-back, promoted, noop or dry-run.' },
  { name: 'weight', description: 'Canary weight in percent when the job ended.' },
  { name: 'success-rate', description: "Canary success rate (percent) over the stage's watch." },
  { name: 'latency', description: 'Canary latency in ms at latency-percentile over the watch.' },
  { name: 'report', description: 'Path of the JSON report of every check.' },
  {
    name: 'html-report',
    description:
      'Path of the HTML report beside it (charts, stages, the verdict in words); empty when it could not be written.',
  },
];
