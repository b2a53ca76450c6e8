import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../src/config/duration.ts';
import { INPUTS } from '../../src/config/inputs.ts';
import { decodeKubeconfig, parseHeaders, parseSettings } from '../../src/config/settings.ts';
import { UserError } from '../../src/errors.ts';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n';
const STEP = {
  'virtual-service': 'backend',
  'stable-subset': 'v1',
  'canary-subset': 'v2',
  weight: '10',
};

function parse(inputs: Record<string, string>) {
  return parseSettings((name) => inputs[name]);
}

function rejects(inputs: Record<string, string>, input: string): void {
  assert.throws(
    () => parse(inputs),
    (error: unknown) => error instanceof UserError && error.message.includes(`"${input}"`),
    `expected an error naming input "${input}" for ${JSON.stringify(inputs)}`,
  );
}

describe('parseSettings', () => {
  test('applies every documented default', () => {
    const settings = parse(STEP);
    assert.equal(settings.command, 'step');
    assert.deepEqual(settings.weights, [10]);
    assert.equal(settings.durationMs, 300_000);
    assert.equal(settings.intervalMs, 30_000);
    assert.equal(settings.prometheus.url, 'k8s://istio-system/prometheus:9090');
    assert.equal(settings.minSuccessRate, 99);
    assert.equal(settings.maxLatencyMs, undefined);
    assert.equal(settings.latencyPercentile, 99);
    assert.equal(settings.minRequests, 20);
    assert.equal(settings.failureLimit, 1);
    assert.equal(settings.onNoData, 'fail');
    assert.equal(settings.dryRun, false);
    assert.equal(settings.namespace, undefined);
  });

  test('blank inputs count as not given (the runner passes "" for unset inputs)', () => {
    const settings = parse({ ...STEP, namespace: '  ', duration: '', 'max-latency': '' });
    assert.equal(settings.namespace, undefined);
    assert.equal(settings.durationMs, 300_000);
    assert.equal(settings.maxLatencyMs, undefined);
  });

  test('reads every value it is given', () => {
    const settings = parse({
      ...STEP,
      command: 'step',
      namespace: 'shop',
      route: 'primary',
      host: 'backend',
      'destination-rule': 'backend',
      weight: '10,25,50',
      duration: '1h30m',
      interval: '45s',
      'prometheus-url': 'https://prom.example:9090/prometheus',
      'prometheus-headers': 'X-Scope-OrgID: team-a\nX-Other:  b ',
      'prometheus-token': 'secret-token',
      'min-success-rate': '99.5',
      'max-latency': '250',
      'latency-percentile': '95',
      'min-requests': '50',
      'failure-limit': '0',
      'on-no-data': 'pass',
      'dry-run': 'true',
    });
    assert.deepEqual(settings.weights, [10, 25, 50]);
    assert.equal(settings.durationMs, 5_400_000);
    assert.equal(settings.intervalMs, 45_000);
    assert.deepEqual(settings.prometheus.headers, { 'X-Scope-OrgID': 'team-a', 'X-Other': 'b' });
    assert.equal(settings.prometheus.token, 'secret-token');
    assert.equal(settings.minSuccessRate, 99.5);
    assert.equal(settings.maxLatencyMs, 250);
    assert.equal(settings.latencyPercentile, 95);
    assert.equal(settings.minRequests, 50);
    assert.equal(settings.failureLimit, 0);
    assert.equal(settings.onNoData, 'pass');
    assert.equal(settings.dryRun, true);
  });

  test('every bad value is refused with the input named', () => {
    const bad: [Record<string, string>, string][] = [
      [{ command: 'deploy' }, 'command'],
      [{ 'virtual-service': '' }, 'virtual-service'],
      [{ 'virtual-service': 'Backend' }, 'virtual-service'],
      [{ namespace: 'shop_ns' }, 'namespace'],
      [{ 'stable-subset': 'V1' }, 'stable-subset'],
      [{ 'canary-subset': 'v2!' }, 'canary-subset'],
      [{ 'canary-subset': 'v1' }, 'canary-subset'],
      [{ 'destination-rule': 'a..b' }, 'destination-rule'],
      [{ weight: '' }, 'weight'],
      [{ weight: '101' }, 'weight'],
      [{ weight: '-5' }, 'weight'],
      [{ weight: '10.5' }, 'weight'],
      [{ weight: '10,,20' }, 'weight'],
      [{ duration: '5' }, 'duration'],
      [{ duration: '5 minutes' }, 'duration'],
      [{ duration: '7h' }, 'duration'],
      [{ interval: '500ms' }, 'interval'],
      [{ interval: 'often' }, 'interval'],
      [{ 'prometheus-url': 'ftp://prom' }, 'prometheus-url'],
      [{ 'prometheus-url': 'k8s://istio-system/prometheus' }, 'prometheus-url'],
      [{ 'prometheus-headers': 'no colon here' }, 'prometheus-headers'],
      [{ 'min-success-rate': '101' }, 'min-success-rate'],
      [{ 'min-success-rate': 'high' }, 'min-success-rate'],
      [{ 'max-latency': '0' }, 'max-latency'],
      [{ 'max-latency': '-3' }, 'max-latency'],
      [{ 'latency-percentile': '100' }, 'latency-percentile'],
      [{ 'min-requests': '1.5' }, 'min-requests'],
      [{ 'failure-limit': '-1' }, 'failure-limit'],
      [{ metrics: 'not: [a list' }, 'metrics'],
      [{ 'on-no-data': 'ignore' }, 'on-no-data'],
      [{ 'dry-run': 'yes' }, 'dry-run'],
      [{ kubeconfig: 'definitely not a kubeconfig' }, 'kubeconfig'],
    ];
    for (const [override, input] of bad) rejects({ ...STEP, ...override }, input);
  });

  test('step needs subsets and a weight; rollback and status need neither', () => {
    rejects({ 'virtual-service': 'backend', 'canary-subset': 'v2', weight: '10' }, 'stable-subset');
    rejects({ 'virtual-service': 'backend', 'stable-subset': 'v1', weight: '10' }, 'canary-subset');
    rejects(
      { 'virtual-service': 'backend', 'stable-subset': 'v1', 'canary-subset': 'v2' },
      'weight',
    );
    rejects(
      { command: 'promote', 'virtual-service': 'backend', 'stable-subset': 'v1' },
      'canary-subset',
    );
    assert.equal(parse({ command: 'rollback', 'virtual-service': 'backend' }).command, 'rollback');
    assert.equal(parse({ command: 'status', 'virtual-service': 'backend' }).command, 'status');
  });

  test('a secret is never quoted back in an error', () => {
    assert.throws(
      () => parse({ ...STEP, 'prometheus-headers': 'Authorization Bearer hunter2' }),
      (error: Error) => !error.message.includes('hunter2'),
    );
    assert.throws(
      () => parse({ ...STEP, kubeconfig: 'token: hunter2' }),
      (error: Error) => !error.message.includes('hunter2'),
    );
  });
});

describe('kubeconfig input', () => {
  test('accepts plain YAML and base64 of it', () => {
    assert.equal(decodeKubeconfig(KUBECONFIG), KUBECONFIG.trim());
    assert.equal(decodeKubeconfig(Buffer.from(KUBECONFIG).toString('base64')), KUBECONFIG);
    const wrapped = Buffer.from(KUBECONFIG)
      .toString('base64')
      .replace(/(.{20})/g, '$1\n');
    assert.equal(decodeKubeconfig(wrapped), KUBECONFIG);
    assert.equal(decodeKubeconfig(''), undefined);
  });
});

describe('parseDuration', () => {
  test('reads Go-style durations', () => {
    assert.equal(parseDuration('duration', '0', 1e9), 0);
    assert.equal(parseDuration('duration', '90s', 1e9), 90_000);
    assert.equal(parseDuration('duration', '5m', 1e9), 300_000);
    assert.equal(parseDuration('duration', '1h30m', 1e9), 5_400_000);
    assert.equal(parseDuration('duration', '1m500ms', 1e9), 60_500);
  });
});

describe('parseHeaders', () => {
  test('one "Name: value" a line, blank lines ignored, values may contain colons', () => {
    assert.deepEqual(parseHeaders('A: 1\n\nB: x:y\r\n'), { A: '1', B: 'x:y' });
    assert.deepEqual(parseHeaders(undefined), {});
  });
});

describe('input table', () => {
  test('names are unique and every default parses', () => {
    const names = INPUTS.map((i) => i.name);
    assert.equal(new Set(names).size, names.length);
    const defaults = Object.fromEntries(
      INPUTS.filter((i) => i.default !== undefined).map((i) => [i.name, i.default!]),
    );
    assert.doesNotThrow(() => parse({ ...defaults, ...STEP }));
  });
});
