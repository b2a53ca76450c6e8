import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { createGitlabProject, runGitlabCiLocal } from '../helpers/gitlab-ci-local.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Job {
  uses?: string;
  needs?: string | string[];
  'runs-on'?: string;
  permissions?: Record<string, string>;
  container?: { image: string; options?: string };
  environment?: string;
  steps?: Step[];
}

interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = (name: string): Workflow => parse(read(`.github/workflows/${name}`)) as Workflow;

/**
 * Whether a ref name matches a GitHub filter pattern: `*` any run of characters but `/`, `?` and
 * `+` the preceding character (or class) zero-or-one and one-or-more times, `[...]` a class.
 */
function matchesFilter(pattern: string, ref: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '[') {
      const end = pattern.indexOf(']', i);
      source += pattern.slice(i, end + 1);
      i = end;
    } else if (c === '*') source += '[^/]*';
    else if (c === '+' || c === '?') source += c;
    else source += c.replace(/[.\\^$|(){}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(ref);
}

/** The run scripts of a job, in order, with the step names. */
function runs(job: Job): { name: string; run: string }[] {
  return (job.steps ?? [])
    .filter((s): s is Step & { run: string } => typeof s.run === 'string')
    .map((s) => ({ name: s.name ?? s.run, run: s.run }));
}

describe('the release workflow (.github/workflows/release.yml)', () => {
  const release = workflow('release.yml');
  const publish = release.jobs.publish;

  test('starts on a vX.Y.Z tag only', () => {
    const push = release.on.push as { tags: string[]; branches?: unknown };
    assert.deepEqual(Object.keys(release.on), ['push']);
    assert.equal(push.branches, undefined);
    const starts = (tag: string) => push.tags.some((p) => matchesFilter(p, tag));
    for (const tag of ['v0.1.0', 'v1.2.3', 'v10.20.30']) assert.ok(starts(tag), tag);
    for (const tag of ['v1', 'v1.2', '1.2.3', 'v1.2.3-rc.1', 'v1.2.3.4', 'vx.2.3'])
      assert.ok(!starts(tag), tag);
  });

  test('runs the tests first, and only the publishing job may write', () => {
    assert.deepEqual(release.permissions, { contents: 'read' });
    assert.equal(release.jobs.test.uses, './.github/workflows/test.yml');
    assert.equal(publish.needs, 'test');
    assert.deepEqual(publish.permissions, { contents: 'write', 'id-token': 'write' });
    assert.equal(publish.environment, 'release', 'a place for required reviewers');
  });

  test('checks the tag, dist/ and the tarball, then publishes with provenance, releases and moves vX, in that order', () => {
    const steps = runs(publish);
    const at = (pattern: RegExp): number => {
      const index = steps.findIndex((s) => pattern.test(s.run));
      assert.ok(index >= 0, `a step runs ${pattern}`);
      return index;
    };
    const order = [
      at(/release-check\.ts tag "\$TAG"/),
      at(/git merge-base --is-ancestor "\$GITHUB_SHA" origin\/main/),
      at(/npm run bundle[\s\S]*git status --porcelain -- dist/),
      at(/npm pack --ignore-scripts[\s\S]*release-check\.ts package/),
      at(/^npm publish "\$TARBALL" --provenance --access public$/),
      at(/release-check\.ts registry/),
      at(/gh release create "\$TAG" "\$TARBALL" --verify-tag/),
      at(/git push --force origin "refs\/tags\/\$major"/),
    ];
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    const major = steps.find((s) => s.run.includes('git push --force'))!.run;
    assert.match(major, /major="\$\{TAG%%\.\*\}"/, 'v1.2.3 moves v1');
  });

  test('checks out main with history, for the ancestry check', () => {
    const checkout = publish.steps!.find((s) => s.uses?.startsWith('actions/checkout@'))!;
    assert.equal(checkout.with?.['fetch-depth'], 0);
  });
});

describe('the test workflow (.github/workflows/test.yml)', () => {
  const tests = workflow('test.yml');

  test('runs .ci/run on Debian as root, for pushes to main, pull requests and releases', () => {
    assert.deepEqual(Object.keys(tests.on).sort(), ['pull_request', 'push', 'workflow_call']);
    assert.deepEqual(tests.permissions, { contents: 'read' });
    const job = tests.jobs.test;
    assert.match(job.container!.image, /^node:24-bookworm$/);
    assert.match(job.container!.options ?? '', /--privileged/);
    assert.ok(runs(job).some((s) => s.run === 'bash .ci/run'));
  });
});

describe('every workflow', () => {
  const all = ['release.yml', 'test.yml'].map((name) => [name, workflow(name)] as const);

  test('pins each action by commit, with the version it is in a comment', () => {
    for (const name of ['release.yml', 'test.yml']) {
      const text = read(`.github/workflows/${name}`);
      const uses = [...text.matchAll(/uses: (\S+)(.*)$/gm)];
      assert.ok(uses.length > 0);
      for (const [, target, rest] of uses) {
        if (target.startsWith('./')) continue;
        assert.match(target, /^[\w-]+\/[\w-]+@[0-9a-f]{40}$/, `${name}: ${target}`);
        assert.match(rest, /^ # v\d+\.\d+\.\d+$/, `${name}: ${target} names its version`);
      }
    }
  });

  test('puts no expression inside a script: values reach scripts through env', () => {
    for (const [name, wf] of all)
      for (const job of Object.values(wf.jobs))
        for (const { name: step, run } of runs(job))
          assert.doesNotMatch(run, /\$\{\{/, `${name}: ${step}`);
  });
});

describe('the GitLab release pipeline (.gitlab-ci.yml, resolved by gitlab-ci-local)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** The jobs that would run (gitlab-ci-local lists the others with `when: never`). */
  const jobsFor = async (variables: string[]): Promise<{ name: string; stage: string }[]> => {
    const dir = createGitlabProject(read('.gitlab-ci.yml'));
    dirs.push(dir);
    const args = ['--list-json', ...variables.flatMap((v) => ['--variable', v])];
    const run = await runGitlabCiLocal(dir, args, 30_000);
    assert.equal(run.code, 0, run.output);
    const start = run.output.indexOf('[');
    const jobs = JSON.parse(run.output.slice(start, run.output.lastIndexOf(']') + 1)) as {
      name: string;
      stage: string;
      when: string;
    }[];
    return jobs.filter((job) => job.when !== 'never');
  };

  test('on a vX.Y.Z tag: verify, then the release job of the `release` keyword', async () => {
    const jobs = await jobsFor(['CI_COMMIT_TAG=v1.2.3']);
    assert.deepEqual(
      jobs.map((j) => [j.name, j.stage]),
      [
        ['verify', 'verify'],
        ['release', 'release'],
      ],
    );
    const config = parse(read('.gitlab-ci.yml')) as {
      release: { needs: string[]; release: { tag_name: string } };
      verify: { script: string[] };
    };
    assert.equal(config.release.release.tag_name, '$CI_COMMIT_TAG');
    assert.deepEqual(config.release.needs, ['verify']);
    assert.ok(config.verify.script.some((line) => /release-check\.ts registry/.test(line)));
  });

  test('on any other pipeline: nothing', async () => {
    for (const variables of [[], ['CI_COMMIT_TAG=v1.2'], ['CI_COMMIT_TAG=v1.2.3-rc.1']])
      assert.deepEqual(await jobsFor(variables), [], variables.join(' '));
  });
});
