import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { format, resolveConfig } from 'prettier';
import { parse, parseAllDocuments } from 'yaml';
import { renderActionYml } from '../../scripts/action-yml.ts';
import {
  actionInputsOf,
  gitlabOnlyInputs,
  GITLAB_TEMPLATES,
  OPTIONAL_NUMBER_REGEX,
  renderGitlabTemplates,
  type GitlabInput,
  type GitlabTemplate,
} from '../../scripts/gitlab-templates.ts';
import { withInputTables } from '../../scripts/readme-tables.ts';
import { envName, parseArgs } from '../../src/cli/args.ts';
import { INPUTS, type InputSpec } from '../../src/config/inputs.ts';
import { parseSettings } from '../../src/config/settings.ts';
import { VERSION } from '../../src/version.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface ActionYml {
  inputs: Record<string, { description: string; required: boolean; default?: string }>;
}

interface GitlabJob {
  stage: string;
  resource_group: string;
  variables: Record<string, string>;
  rules: { if?: string; when: string; allow_failure?: boolean }[];
  needs?: unknown[];
  dependencies?: unknown[];
  script: string[];
  artifacts: { when: string; expose_as?: string; paths: string[]; reports: { dotenv: string } };
}

/** A template as GitLab reads it: the `spec: inputs` header document, then the job. */
function loadTemplate(template: GitlabTemplate): {
  inputs: Record<string, GitlabInput>;
  name: string;
  job: GitlabJob;
} {
  const [header, body] = parseAllDocuments(read(template.file));
  assert.ok(header && body, `${template.file} has a header document and a job document`);
  const { spec } = header.toJS() as { spec: { inputs: Record<string, GitlabInput> } };
  const jobs = body.toJS() as Record<string, GitlabJob>;
  const names = Object.keys(jobs);
  assert.equal(names.length, 1, `${template.file} defines exactly one job`);
  return { inputs: spec.inputs, name: names[0], job: jobs[names[0]] };
}

const action = (): ActionYml => parse(read('action.yml')) as ActionYml;

/** A value of the input's type that the CLI accepts, for flag and variable round trips. */
function sample(input: InputSpec): string {
  if (input.options) return input.options[input.options.length - 1];
  if (input.type === 'boolean') return 'true';
  if (input.type === 'number') return '7';
  return `value-of-${input.name}`;
}

describe('the CLI, the action and the GitLab templates take the same inputs', () => {
  test('action.yml declares every input of the table, with its default and nothing more', () => {
    const { inputs } = action();
    assert.deepEqual(
      Object.keys(inputs),
      INPUTS.map((i) => i.name),
    );
    for (const input of INPUTS) {
      assert.equal(inputs[input.name].default, input.default, input.name);
      assert.equal(inputs[input.name].required, input.required === true, input.name);
    }
  });

  test('the CLI takes every input as a flag and as an ISTIO_CANARY_ variable, a flag winning', () => {
    for (const input of INPUTS) {
      const value = sample(input);
      assert.equal(parseArgs([`--${input.name}`, value], {}).inputs[input.name], value);
      const fromEnv = parseArgs([], { [envName(input.name)]: value });
      assert.equal(fromEnv.inputs[input.name], value, envName(input.name));
    }
    const both = parseArgs(['--duration', '2m'], { ISTIO_CANARY_DURATION: '9m' });
    assert.equal(both.inputs.duration, '2m');
  });

  test('an empty ISTIO_CANARY_ variable is no input, so a template may pass every input', () => {
    const env = Object.fromEntries(INPUTS.map((i) => [envName(i.name), '']));
    const parsed = parseArgs(['step'], env);
    assert.deepEqual(parsed.inputs, { command: 'step' });
  });

  for (const template of GITLAB_TEMPLATES) {
    test(`${template.file}: every action input but command, same defaults, types and options`, () => {
      const { inputs } = loadTemplate(template);
      const extras = Object.keys(gitlabOnlyInputs(template, '0'.repeat(64)));
      assert.deepEqual(Object.keys(inputs), [...extras, ...actionInputsOf().map((i) => i.name)]);
      assert.ok(!('command' in inputs), 'the template fixes the command');
      assert.deepEqual(extras.sort(), [
        'cli',
        ...(template.gated ? ['gate'] : []),
        'image',
        'job-prefix',
        'stage',
      ]);
      for (const input of actionInputsOf()) {
        const entry = inputs[input.name];
        assert.ok(entry.description.startsWith(input.description), input.name);
        if (template.requires.includes(input.name)) {
          assert.equal(
            entry.default,
            undefined,
            `${input.name} is required by ${template.command}`,
          );
        } else if (input.default === undefined) {
          assert.equal(entry.default, '', `${input.name}: empty means not set`);
          assert.equal(entry.type, undefined, `${input.name}: an optional input is a string`);
          if (input.type === 'number') assert.equal(entry.regex, OPTIONAL_NUMBER_REGEX);
        } else {
          assert.equal(String(entry.default), input.default, input.name);
          assert.equal(entry.type ?? 'string', input.type, input.name);
          assert.deepEqual(entry.options?.map(String), input.options, input.name);
        }
      }
      assert.equal(inputs.image.default, 'node:24');
      const cli = String(inputs.cli.default);
      assert.ok(
        cli.includes(`npm pack --loglevel=error --pack-destination "$d" istio-canary@${VERSION} `),
      );
      assert.match(cli, /if \[ "\$s" != [0-9a-f]{64} \]; then .*exit 1; fi; exec node /);
      assert.doesNotMatch(cli, /npx/, 'never a bare registry package');
      if (template.gated) assert.deepEqual(inputs.gate.options, ['manual', 'none']);
    });

    test(`${template.file}: each input reaches the CLI through the variable it reads`, () => {
      const { job } = loadTemplate(template);
      for (const input of actionInputsOf()) {
        const variable = envName(input.name);
        assert.equal(job.variables[variable], `$[[ inputs.${input.name} ]]`, variable);
        const value = sample(input);
        assert.equal(parseArgs([], { [variable]: value }).inputs[input.name], value);
      }
      assert.deepEqual(job.script, [
        `$[[ inputs.cli ]] ${template.command} --dotenv ${job.artifacts.reports.dotenv}`,
      ]);
      assert.equal(job.artifacts.when, 'always', 'a rolled-back stage keeps its report');
      assert.equal(job.artifacts.expose_as, 'istio-canary report');
      assert.deepEqual(job.artifacts.paths, [`${job.variables.ISTIO_CANARY_REPORT_DIR}/`]);
      assert.match(job.resource_group, /\$\[\[ inputs\.virtual-service \]\]/);
    });
  }

  test('gates block, and the rollback job is playable whatever happened before it', () => {
    for (const template of GITLAB_TEMPLATES.filter((t) => t.gated)) {
      const { job } = loadTemplate(template);
      const manual = job.rules.find((rule) => rule.when === 'manual')!;
      const condition = /^\$(\w+) == "manual"$/.exec(manual.if ?? '');
      assert.ok(condition, `${template.file}: the manual rule depends on the gate`);
      assert.equal(job.variables[condition[1]], '$[[ inputs.gate ]]');
      assert.equal(manual.allow_failure, false, `${template.file}: a gate blocks later stages`);
      assert.deepEqual(job.rules.at(-1), { when: 'on_success' }, 'gate: none runs at once');
      assert.deepEqual(job.dependencies, [], 'a stage job needs no earlier artifacts');
    }
    const rollback = GITLAB_TEMPLATES.find((t) => t.command === 'rollback')!;
    const { job } = loadTemplate(rollback);
    assert.deepEqual(job.rules, [{ when: 'manual', allow_failure: true }]);
    assert.deepEqual(job.needs, [], 'no stage it waits for can fail and skip it');
  });

  test('the action, the CLI and a GitLab stage job apply the same defaults', () => {
    const given: Record<string, string> = {
      'virtual-service': 'backend',
      'stable-subset': 'v1',
      'canary-subset': 'v2',
      weight: '10',
    };
    const flags = Object.entries(given).flatMap(([name, value]) => [`--${name}`, value]);
    const cli = parseArgs(['step', ...flags], {}).inputs;
    const fromCli = parseSettings((name) => cli[name]);

    const actionInputs = action().inputs;
    const fromAction = parseSettings((name) =>
      name === 'command' ? 'step' : (given[name] ?? actionInputs[name]?.default),
    );

    const step = GITLAB_TEMPLATES.find((t) => t.command === 'step')!;
    const { inputs, job } = loadTemplate(step);
    const env: Record<string, string> = {};
    for (const [variable, value] of Object.entries(job.variables)) {
      env[variable] = value.replace(/\$\[\[ inputs\.([a-z-]+) \]\]/g, (_, name: string) =>
        String(given[name] ?? inputs[name].default ?? ''),
      );
    }
    const gitlab = parseArgs(['step'], env).inputs;
    const fromGitlab = parseSettings((name) => gitlab[name]);

    assert.deepEqual(fromAction, fromCli);
    assert.deepEqual(fromGitlab, fromCli);
  });
});

describe('generated files are committed as the generator renders them now', () => {
  const formatted = async (path: string, text: string): Promise<string> =>
    format(text, { ...((await resolveConfig(join(ROOT, path))) ?? {}), filepath: path });

  test('action.yml', async () => {
    assert.equal(read('action.yml'), await formatted('action.yml', renderActionYml()));
  });

  test('the input tables in README.md', async () => {
    const readme = read('README.md');
    assert.equal(readme, await formatted('README.md', withInputTables(readme)));
  });

  test('the GitLab templates', async () => {
    const rendered = await renderGitlabTemplates();
    assert.deepEqual(
      Object.keys(rendered),
      GITLAB_TEMPLATES.map((t) => t.file),
    );
    for (const [path, text] of Object.entries(rendered)) assert.equal(read(path), text, path);
  });
});

describe('examples use only inputs that exist', () => {
  test('examples/github/canary.yml', () => {
    const workflow = parse(read('examples/github/canary.yml')) as {
      jobs: Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }>;
    };
    const known = new Set(INPUTS.map((i) => i.name));
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const ours = steps.filter((step) => step.uses?.includes('/istio-canary@'));
    assert.equal(ours.length, 4, 'three stages and a rollback');
    for (const step of ours) {
      const names = Object.keys(step.with ?? {});
      assert.deepEqual(
        names.filter((name) => !known.has(name)),
        [],
      );
      assert.ok(names.includes('virtual-service'));
    }
  });

  test('examples/gitlab/.gitlab-ci.yml', () => {
    assert.equal(checkGitlabIncludes(read('examples/gitlab/.gitlab-ci.yml')), 4);
  });

  test('the GitHub examples in README.md', () => {
    const known = new Set(INPUTS.map((i) => i.name));
    const blocks = [...read('README.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((b) => b[1]);
    const docs = blocks.flatMap((block) =>
      parseAllDocuments(block).map((d) => d.toJS() as unknown),
    );
    const steps = docs.flatMap((doc) => {
      const candidates = Array.isArray(doc)
        ? doc
        : Object.values(
            (doc as { jobs?: Record<string, { steps?: unknown[] }> }).jobs ?? {},
          ).flatMap((job) => job.steps ?? []);
      return (candidates as { uses?: string; with?: Record<string, unknown> }[]).filter((step) =>
        step.uses?.includes('/istio-canary@'),
      );
    });
    assert.ok(steps.length >= 6, `found ${steps.length} steps of the action in README.md`);
    for (const step of steps) {
      const names = Object.keys(step.with ?? {});
      assert.deepEqual(
        names.filter((name) => !known.has(name)),
        [],
      );
      assert.ok(names.includes('virtual-service'));
    }
  });

  test('the minimal and full pipelines in gitlab/README.md', () => {
    const blocks = [...read('gitlab/README.md').matchAll(/```yaml\n([\s\S]*?)```/g)];
    assert.deepEqual(
      blocks.map((block) => checkGitlabIncludes(block[1])),
      [1, 4],
    );
  });
});

/**
 * Checks each include of a .gitlab-ci.yml against our template it names: only inputs the template
 * declares, and every input it requires. Returns how many includes it checked.
 */
function checkGitlabIncludes(text: string): number {
  // Anchors and merge keys resolved as GitLab resolves them.
  const config = parse(text, { merge: true }) as {
    include: { remote: string; inputs: Record<string, unknown> }[];
  };
  for (const include of config.include) {
    const template = GITLAB_TEMPLATES.find((t) => basename(t.file) === basename(include.remote));
    assert.ok(template, `${include.remote} is one of ours`);
    const { inputs } = loadTemplate(template);
    const given = Object.keys(include.inputs);
    assert.deepEqual(
      given.filter((name) => !(name in inputs)),
      [],
      `${include.remote}: unknown inputs`,
    );
    const required = Object.keys(inputs).filter((name) => inputs[name].default === undefined);
    assert.deepEqual(
      required.filter((name) => !given.includes(name)),
      [],
      `${include.remote}: required inputs`,
    );
  }
  return config.include.length;
}
