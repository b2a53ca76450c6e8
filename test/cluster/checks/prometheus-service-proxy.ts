/**
 * The default prometheus-url, k8s://istio-system/prometheus:9090, through kube-apiserver's own
 * services proxy: the Prometheus that scrapes the simulator is published at a test host's address
 * in a network namespace (see test/cluster/test-host.ts), since the server will not proxy to
 * loopback; and the identity examples/rbac.yaml grants can query it, and nothing else, that way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitForSeries } from '../../../src/sandbox/prometheus.ts';
import { clusterAdmin, serviceAccountToken } from '../../helpers/cluster-ground.ts';
import { startSandbox, type Sandbox } from '../../helpers/ground.ts';
import { skipWithoutPrometheus } from '../../helpers/sandbox.ts';
import { rest, type Credentials } from '../rest.ts';

const PROXY = '/api/v1/namespaces/istio-system/services/prometheus:9090/proxy';

describe('Prometheus through the real services proxy', { skip: skipWithoutPrometheus() }, () => {
  let sandbox: Sandbox;
  let pipeline: Credentials;
  let admin: Credentials;
  before(async () => {
    sandbox = await startSandbox({ prometheus: 'required' });
    admin = await clusterAdmin();
    pipeline = { ...admin, cert: undefined, key: undefined };
    pipeline.token = await serviceAccountToken(admin, 'shop', 'istio-canary');
    await waitForSeries(sandbox.prometheusUrl, 'istio_requests_total', 20_000);
  });
  after(() => sandbox?.stop());

  test('the pipeline identity queries Prometheus as /services/prometheus:9090/proxy/api/v1/query', async () => {
    const query = encodeURIComponent(
      'sum(istio_requests_total{destination_workload="backend-v1"})',
    );
    const res = await rest(pipeline, 'GET', `${PROXY}/api/v1/query?query=${query}`);
    assert.equal(res.status, 200, res.text);
    const body = res.body as { status: string; data: { result: { value: [number, string] }[] } };
    assert.equal(body.status, 'success');
    assert.ok(
      Number(body.data.result[0].value[1]) > 0,
      'the simulator counted backend-v1 requests',
    );
  });

  test('the pipeline identity may not proxy to another Service', async () => {
    const res = await rest(
      pipeline,
      'GET',
      '/api/v1/namespaces/istio-system/services/grafana:3000/proxy/',
    );
    assert.equal(res.status, 403, res.text);
    assert.match(
      (res.body as { message: string }).message,
      /cannot get resource "services\/proxy"/,
    );
  });

  test('the server refuses loopback endpoints, which is why the test host exists', async () => {
    const res = await rest(
      admin,
      'POST',
      '/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices?dryRun=All',
      {
        body: {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: 'loopback',
            namespace: 'istio-system',
            labels: { 'kubernetes.io/service-name': 'prometheus' },
          },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['127.0.0.1'] }],
          ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
        },
      },
    );
    assert.equal(res.status, 422, res.text);
    assert.match(res.text, /loopback/);
  });
});
