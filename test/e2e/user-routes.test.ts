import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { HTTPRoute, VirtualService } from '../../src/istio/types.ts';
import { backendVirtualService, SHOP, shopObjects } from '../../src/sandbox/fixtures.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { assertPassed, runAction, type ActionRun } from '../helpers/action-runner.ts';
import { assertExactly, backendVs, resetShop } from '../helpers/shop.ts';

const RPS = 40;

/** backend's VirtualService with `http` in place of its routes. */
function backendWith(http: HTTPRoute[]): VirtualService {
  const vs: VirtualService = backendVirtualService();
  vs.spec.http = http;
  return vs;
}

/** The default route split by hand: each version on its own port, answering its own header. */
function handSplit(): VirtualService {
  return backendWith([
    {
      name: 'primary',
      timeout: '5s',
      route: [
        {
          destination: { host: 'backend', subset: 'v1', port: { number: 8080 } },
          headers: { response: { set: { 'x-version': 'v1' } } },
          weight: 95,
        },
        {
          destination: { host: 'backend', subset: 'v2', port: { number: 9090 } },
          headers: { response: { set: { 'x-version': 'v2' } } },
          weight: 5,
        },
      ],
    },
  ]);
}

/** As Istio's bookinfo samples write it: a fault for one user, then the default, both unnamed. */
function faultThenDefault(): VirtualService {
  return backendWith([
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      fault: { abort: { percentage: { value: 100 }, httpStatus: 500 } },
      route: [{ destination: { host: 'backend', subset: 'v1' } }],
    },
    { route: [{ destination: { host: 'backend', subset: 'v1' } }] },
  ]);
}

function destinations(vs: VirtualService, index: number): unknown {
  return vs.spec.http![index].route;
}

function assertFailed(run: ActionRun, message: RegExp): void {
  assert.equal(run.code, 1, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, message);
  assert.doesNotMatch(run.stdout, /\n\s+at /, 'no stack trace');
}

// No check reads metrics here (duration 0, or a refusal first): the simulator's endpoint will do.
describe('routes as users write them, end to end (dist/, sandbox)', () => {
  let sandbox: Sandbox;
  let inputs: Record<string, string>;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off', rps: RPS });
    inputs = {
      kubeconfig: sandbox.kubeconfig,
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
    };
  });
  after(() => sandbox?.stop());
  beforeEach(() => {
    resetShop(sandbox, RPS);
    for (const object of shopObjects()) sandbox.api.put(object);
  });

  const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;

  test('a route split by hand keeps each version its own port and headers, through promote', async () => {
    sandbox.api.put(handSplit());
    const own = (handSplit().spec.http![0].route ?? []).map(({ weight: _w, ...rest }) => rest);
    assertPassed(await runAction('main', { inputs: { ...inputs, weight: '30', duration: '0' } }));
    assert.deepEqual(destinations(backendVs(sandbox), 0), [
      { ...own[0], weight: 70 },
      { ...own[1], weight: 30 },
    ]);
    assertPassed(await runAction('main', { inputs: { ...inputs, command: 'promote' } }));
    const promoted = backendVs(sandbox);
    assert.deepEqual(
      destinations(promoted, 0),
      [own[1]],
      'v2 as the user wrote it: port 9090, x-version v2',
    );
    assert.equal(promoted.spec.http[0].timeout, '5s');
  });

  test('a user mirror to the canary is refused before any write', async () => {
    const vs = handSplit();
    Object.assign(vs.spec.http![0], { mirror: { host: 'backend', subset: 'v2' } });
    sandbox.api.put(vs);
    const before = writes();
    const run = await runAction('main', { inputs: { ...inputs, weight: '30', duration: '0' } });
    assertFailed(
      run,
      /Route "primary" of VirtualService "shop\/backend" mirrors its requests to the canary/,
    );
    assert.equal(writes(), before);
    assertExactly(backendVs(sandbox), vs);
  });

  test('one of two unnamed candidates is shifted by position, and rolled back byte for byte', async () => {
    sandbox.api.put(faultThenDefault());
    const ambiguous = await runAction('main', {
      inputs: { ...inputs, weight: '10', duration: '0' },
    });
    assertFailed(
      ambiguous,
      /2 http routes .*Set input "route" .*position for an unnamed one \(e\.g\. "http\[0\]"\)/,
    );
    const run = await runAction('main', {
      inputs: { ...inputs, route: 'http[1]', weight: '10', duration: '0' },
    });
    assertPassed(run);
    const staged = backendVs(sandbox);
    assert.deepEqual(destinations(staged, 0), destinations(faultThenDefault(), 0));
    assert.deepEqual(destinations(staged, 1), [
      { destination: { host: 'backend', subset: 'v1' }, weight: 90 },
      { destination: { host: 'backend', subset: 'v2' }, weight: 10 },
    ]);
    assertPassed(await runAction('main', { inputs: { ...inputs, command: 'rollback' } }));
    assertExactly(backendVs(sandbox), faultThenDefault());
  });

  test('a destination without host is refused by name, and nothing is saved', async () => {
    const broken = backendWith([
      { name: 'primary', route: [{ destination: { subset: 'v1' } } as never] },
    ]);
    sandbox.api.put(broken);
    const before = writes();
    const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '0' } });
    assertFailed(
      run,
      /Route "primary" of VirtualService "shop\/backend" does not follow Istio's schema: route\[0\]\.destination has no host/,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /TypeError/);
    assert.equal(writes(), before);
    assertExactly(backendVs(sandbox), broken);
  });

  test('a VirtualService with tcp routes only says they are not supported', async () => {
    const tcp = backendVirtualService() as VirtualService;
    delete tcp.spec.http;
    tcp.spec.tcp = [{ route: [{ destination: { host: 'backend', port: { number: 5432 } } }] }];
    sandbox.api.put(tcp);
    const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '0' } });
    assertFailed(
      run,
      /has no http routes \(it has 1 tcp only\).*tcp and tls routes are not supported/,
    );
  });
});

describe('preflight refuses before any write (dist/, sandbox)', () => {
  let sandbox: Sandbox;
  let inputs: Record<string, string>;

  before(async () => {
    sandbox = await startSandbox({ prometheus: 'off', rps: RPS });
    inputs = {
      kubeconfig: sandbox.kubeconfig,
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
      interval: '2s',
      'min-requests': '1',
    };
  });
  after(() => sandbox?.stop());
  beforeEach(() => resetShop(sandbox, RPS));

  const writes = () => sandbox.api.requests.filter((r) => r.method !== 'GET').length;

  test('a Deployment name that could break out of a PromQL string, before the weights move', async () => {
    const hostile = structuredClone(
      shopObjects().find(
        (o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === 'backend-v2',
      )!,
    );
    (hostile.metadata as { name: string }).name = 'backend-v2"} or vector(1) #';
    sandbox.api.put(hostile);
    sandbox.api.delete('deployments', SHOP, 'backend-v2');
    try {
      const before = writes();
      const run = await runAction('main', { inputs: { ...inputs, weight: '10', duration: '6s' } });
      assertFailed(
        run,
        /The canary's Deployment \(as the cluster names it\) "backend-v2\\"} or vector\(1\) #" is not a valid workload name/,
      );
      assert.equal(writes(), before, 'nothing was written');
      assertExactly(backendVs(sandbox), backendVirtualService());
    } finally {
      sandbox.api.delete('deployments', SHOP, 'backend-v2"} or vector(1) #');
      sandbox.api.put(
        shopObjects().find((o) => (o.metadata as { name: string }).name === 'backend-v2')!,
      );
    }
  });

  test('an interval not shorter than the duration is refused before any call', async () => {
    const before = sandbox.api.requests.length;
    const run = await runAction('main', {
      inputs: { ...inputs, weight: '10', duration: '20s', interval: '30s' },
    });
    assertFailed(run, /Input "interval" \(30s\) must be shorter than input "duration" \(20s\)/);
    assert.equal(sandbox.api.requests.length, before, 'the cluster was not even asked');
  });

  test('a tester match Istio would refuse (a lookahead) is refused before any call', async () => {
    const before = sandbox.api.requests.length;
    const run = await runAction('main', {
      inputs: {
        ...inputs,
        weight: '10',
        duration: '0',
        'canary-match': '- headers: {x-user: {regex: "(?=qa).*"}}',
      },
    });
    assertFailed(run, /Input "canary-match", entry 1: headers\.x-user\.regex .*RE2/);
    assert.equal(sandbox.api.requests.length, before);
  });

  test('an input that has no effect for the command is named in a warning', async () => {
    const run = await runAction('main', {
      inputs: { ...inputs, command: 'rollback', weight: '10' },
    });
    assertPassed(run);
    assert.match(
      run.stdout,
      /::warning::Inputs "weight", "interval", "min-requests" have no effect for command "rollback"; ignored\./,
    );
  });
});
