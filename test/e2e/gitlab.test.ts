import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { dotenvName } from '../../src/cli/dotenv.ts';
import { backendVirtualService } from '../../src/sandbox/fixtures.ts';
import { waitForSeries } from '../../src/sandbox/prometheus.ts';
import { asStored, startSandbox, type Sandbox } from '../helpers/ground.ts';
import {
  createGitlabProject,
  dotenvReport,
  listJobs,
  LOCAL_CLI,
  runGitlabCiLocal,
  type CiVariable,
  type PipelineRun,
} from '../helpers/gitlab-ci-local.ts';
import { skipWithoutPrometheus } from '../helpers/sandbox.ts';
import { assertRestored, backendVs, primaryRoute, resetShop, weights } from '../helpers/shop.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FRONTEND_RPS = 100;
const FAULTY = { errorRate: 0.3, latencyMs: { median: 20, p99: 100 } };
const DOTENV = 'istio-canary.env';
const RESULT = dotenvName('result');
const WEIGHT = dotenvName('weight');
const SUCCESS_RATE = dotenvName('success-rate');
const REPORT = dotenvName('report');

/**
 * A user's .gitlab-ci.yml: 10% (no gate) -> gate -> 50% -> gate -> promote, and the manual
 * rollback job. The shared inputs sit in one YAML anchor, as the README shows.
 */
function pipeline(duration: string): string {
  return `stages: [canary-10, canary-50, promote]

.canary: &canary
  virtual-service: backend
  stable-subset: v1
  canary-subset: v2
  kubeconfig: $KUBE_CONFIG
  interval: 2s
  min-requests: 10
  cli: '${LOCAL_CLI}'

include:
  - local: gitlab/step.yml
    inputs: { <<: *canary, stage: canary-10, weight: '10', gate: none, duration: ${duration} }
  - local: gitlab/step.yml
    inputs: { <<: *canary, stage: canary-50, weight: '50', duration: ${duration} }
  - local: gitlab/promote.yml
    inputs: { <<: *canary, stage: promote }
  - local: gitlab/rollback.yml
    inputs: *canary
`;
}

describe(
  'GitLab templates end to end (gitlab-ci-local, dist/cli.js, sandbox, real Prometheus)',
  { skip: skipWithoutPrometheus() },
  () => {
    let sandbox: Sandbox;
    const projects: string[] = [];

    before(async () => {
      sandbox = await startSandbox({ prometheus: 'required', rps: FRONTEND_RPS });
      await waitForSeries(
        sandbox.prometheusUrl,
        'istio_requests_total{destination_workload="backend-v1"}',
        20_000,
      );
    });
    after(async () => {
      await sandbox?.stop();
      for (const dir of projects) rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => resetShop(sandbox, FRONTEND_RPS));

    const vs = () => backendVs(sandbox);
    const primary = () => primaryRoute(sandbox);
    const project = (duration: string, variables: Record<string, CiVariable>): string => {
      const dir = createGitlabProject(pipeline(duration), variables);
      projects.push(dir);
      return dir;
    };
    // The kubeconfig as a File-type CI/CD variable: the job sees a path, the CLI reads it.
    const fileKubeconfig = (): Record<string, CiVariable> => ({
      KUBE_CONFIG: { type: 'file', value: sandbox.kubeconfig },
    });

    test('a healthy canary runs 10% -> gate -> 50% -> gate -> promote', async () => {
      const dir = project('5s', fileKubeconfig());
      const run = await runGitlabCiLocal(dir, [
        '--manual',
        'canary-50',
        '--manual',
        'canary-promote',
      ]);
      console.log(
        `gitlab-ci-local healthy pipeline (2 stages of 5s + promote): ${run.elapsedMs} ms`,
      );
      assertPipelinePassed(run, ['canary-10', 'canary-50', 'canary-promote']);

      const expected = structuredClone(backendVirtualService());
      expected.spec.http[2].route = [
        { destination: { host: 'backend', subset: 'v2', port: { number: 8080 } } },
      ];
      assert.equal(JSON.stringify(vs().spec), JSON.stringify(asStored(expected.spec)));
      assert.deepEqual(vs().metadata.annotations, expected.metadata.annotations);
      assert.ok(
        !Object.keys(vs().metadata.annotations ?? {}).some((k) =>
          k.startsWith('istio-canary.dev/'),
        ),
        'no rollout state left behind',
      );

      const first = dotenvReport(dir, 'canary-10', DOTENV);
      assert.equal(first[RESULT], 'passed');
      assert.equal(first[WEIGHT], '10');
      assert.ok(Number(first[SUCCESS_RATE]) >= 99, first[SUCCESS_RATE]);
      assert.match(first[REPORT], /^istio-canary-report\/.+\.json$/);
      const html = first[dotenvName('html-report')];
      assert.equal(html, first[REPORT].replace(/\.json$/, '.html'));
      const page = readFileSync(join(dir, '.gitlab-ci-local/artifacts/canary-10', html), 'utf8');
      assert.match(page, /Canary stage passed/, 'the HTML report is among the artifacts');
      const second = dotenvReport(dir, 'canary-50', DOTENV);
      assert.equal(second[RESULT], 'passed');
      assert.equal(
        second[WEIGHT],
        '50',
        "the 10% stage's dotenv output must not override the 50% stage's weight input",
      );
      assert.equal(dotenvReport(dir, 'canary-promote', DOTENV)[RESULT], 'promoted');
      assert.doesNotMatch(run.output, /canary-rollback/, 'the manual rollback job was not run');
      assert.doesNotMatch(run.output, /certificate-authority-data|BEGIN CERTIFICATE/);
    });

    test('a manual gate blocks: without approval only the first stage runs', async () => {
      const dir = project('4s', fileKubeconfig());
      const run = await runGitlabCiLocal(dir, []);
      console.log(
        `gitlab-ci-local pipeline held at the first gate (one 4s stage): ${run.elapsedMs} ms`,
      );
      assert.match(run.output, jobSummary('PASS', 'canary-10'), run.output);
      assert.doesNotMatch(run.output, /canary-50 starting/);
      assert.doesNotMatch(run.output, /canary-promote starting/);
      assert.deepEqual(weights(primary()), { v1: 90, v2: 10 });

      // Instead of approving 50%, a person plays the rollback job at the gate.
      const rollback = await runGitlabCiLocal(dir, ['canary-rollback']);
      assert.equal(rollback.code, 0, rollback.output);
      assert.equal(dotenvReport(dir, 'canary-rollback', DOTENV)[RESULT], 'rolled-back');
      assertRestored(vs());
    });

    test('a faulty canary stops the pipeline, the route restored, the manual rollback job left', async () => {
      sandbox.simulator.setBehaviour('backend-v2', FAULTY);
      // The kubeconfig's content in a plain variable this time: both forms must work.
      const dir = project('6s', { KUBE_CONFIG: sandbox.kubeconfig });
      const run = await runGitlabCiLocal(dir, [
        '--manual',
        'canary-50',
        '--manual',
        'canary-promote',
      ]);
      console.log(
        `gitlab-ci-local faulty pipeline (rolled back in the 10% stage): ${run.elapsedMs} ms`,
      );
      assert.notEqual(run.code, 0, run.output);
      assert.match(run.output, jobSummary('FAIL', 'canary-10'), run.output);
      assert.doesNotMatch(run.output, /canary-50 starting/, 'later stages do not run');
      assert.doesNotMatch(run.output, /canary-promote starting/, 'later stages do not run');
      assertRestored(vs());
      assert.equal(dotenvReport(dir, 'canary-10', DOTENV)[RESULT], 'rolled-back');
      assert.doesNotMatch(run.output, /BEGIN CERTIFICATE|certificate-authority-data/);

      const rollbackJob = (await listJobs(dir)).find((job) => job.name === 'canary-rollback');
      assert.ok(rollbackJob, 'the pipeline has a rollback job');
      assert.equal(rollbackJob.when, 'manual');
      assert.equal(rollbackJob.allow_failure, true, 'an unplayed rollback does not block');
      assert.deepEqual(
        rollbackJob.needs,
        [],
        'it waits for no stage, so a failed one cannot skip it',
      );
      const rollback = await runGitlabCiLocal(dir, ['canary-rollback']);
      assert.equal(rollback.code, 0, rollback.output);
      assert.equal(dotenvReport(dir, 'canary-rollback', DOTENV)[RESULT], 'noop');
      assertRestored(vs());
    });
  },
);

describe('examples/gitlab/.gitlab-ci.yml', () => {
  test('resolves against the templates as GitLab would: gates, serialised stages, the rollback job', async () => {
    const example = readFileSync(join(ROOT, 'examples/gitlab/.gitlab-ci.yml'), 'utf8');
    const remote = /remote: https:\/\/\S+\/gitlab\//g;
    assert.equal(example.match(remote)?.length, 4);
    const dir = createGitlabProject(example.replace(remote, 'local: gitlab/'));
    try {
      const jobs = Object.fromEntries((await listJobs(dir)).map((job) => [job.name, job]));
      assert.deepEqual(Object.keys(jobs).sort(), [
        'announce',
        'canary-10',
        'canary-25,50',
        'canary-promote',
        'canary-rollback',
      ]);
      assert.equal(jobs['canary-10'].when, 'on_success');
      for (const gated of ['canary-25,50', 'canary-promote']) {
        assert.equal(jobs[gated].when, 'manual');
        assert.equal(jobs[gated].allow_failure, false);
      }
      assert.equal(jobs['canary-rollback'].when, 'manual');
      assert.deepEqual(jobs['canary-rollback'].needs, []);
      const preview = await runGitlabCiLocal(dir, ['--preview']);
      assert.equal(preview.code, 0, preview.output);
      const groups = preview.output.match(/resource_group: .+/g) ?? [];
      assert.equal(groups.length, 4);
      assert.equal(new Set(groups).size, 1, 'every job of the rollout shares one resource group');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function assertPipelinePassed(run: PipelineRun, jobs: string[]): void {
  assert.equal(run.code, 0, run.output);
  for (const job of jobs) assert.match(run.output, jobSummary('PASS', job), run.output);
}

/**
 * gitlab-ci-local's summary line for a job (` PASS  [ 1.2 s] canary-10`), on a line of its own:
 * a check line of the job's log that reads PASS or FAIL must not stand in for it.
 */
function jobSummary(status: 'PASS' | 'FAIL', job: string): RegExp {
  return new RegExp(`^[ \\t]*${status}[ \\t]+(?:\\[[^\\]\\n]*\\][ \\t]+)?${job}[ \\t]*$`, 'm');
}
