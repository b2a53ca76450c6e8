import { format, resolveConfig } from 'prettier';
import { stringify } from 'yaml';
import { envName } from '../src/cli/args.ts';
import { INPUTS, type InputSpec } from '../src/config/inputs.ts';
import { VERSION } from '../src/version.ts';
import { pinnedCli, sourceBundleDigest } from './cli-pin.ts';

/** One GitLab `spec: inputs` entry, as GitLab reads it. */
export interface GitlabInput {
  description: string;
  type?: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  options?: (string | number | boolean)[];
  regex?: string;
}

/** What differs between the three templates; everything else is shared. */
export interface GitlabTemplate {
  /** Path of the template in the repository. */
  file: string;
  /** The CLI command the job runs; the template fixes it, so it has no `command` input. */
  command: 'step' | 'promote' | 'rollback';
  /** The job name; `$[[ inputs.* ]]` interpolated by GitLab. */
  jobName: string;
  /** Inputs this command cannot run without: no default, so GitLab refuses a pipeline that lacks them. */
  requires: string[];
  /** Default stage; undefined = the user must give one (each stage job needs its own stage). */
  stageDefault?: string;
  /** A stage job can wait behind a manual gate; the rollback job is always manual. */
  gated: boolean;
}

/** The templates under gitlab/: one include per job, see gitlab/README.md for why. */
export const GITLAB_TEMPLATES: readonly GitlabTemplate[] = [
  {
    file: 'gitlab/step.yml',
    command: 'step',
    jobName: '$[[ inputs.job-prefix ]]$[[ inputs.weight ]]',
    // The subsets are not required here: host canaries give stable-host/canary-host instead, and
    // the CLI says which pair is missing.
    requires: ['virtual-service', 'weight'],
    gated: true,
  },
  {
    file: 'gitlab/promote.yml',
    command: 'promote',
    jobName: '$[[ inputs.job-prefix ]]promote',
    requires: ['virtual-service'],
    gated: true,
  },
  {
    file: 'gitlab/rollback.yml',
    command: 'rollback',
    jobName: '$[[ inputs.job-prefix ]]rollback',
    requires: ['virtual-service'],
    stageDefault: '.post',
    gated: false,
  },
];

/** The package the jobs fetch by default (`cli`), at this version, pinned by digest. */
export const CLI_PACKAGE = 'istio-canary';

/** Where the jobs write their dotenv report and JSON reports, relative to the project dir. */
export const DOTENV_FILE = 'istio-canary.env';
export const REPORT_DIR = 'istio-canary-report';

/** The artifact's name on merge requests (`artifacts:expose_as`). */
export const ARTIFACT_NAME = 'istio-canary report';

/** Job variable that carries the `gate` input into `rules:if` (rules cannot read inputs). */
const GATE_VARIABLE = 'ISTIO_CANARY_GITLAB_GATE';

/**
 * The inputs GitLab needs beyond the action's, in the order a reader meets them. `digest` pins
 * the bundle the default `cli` may run (see cli-pin.ts).
 */
export function gitlabOnlyInputs(
  template: GitlabTemplate,
  digest: string,
): Record<string, GitlabInput> {
  const inputs: Record<string, GitlabInput> = {
    stage: {
      description:
        'Stage of this job. Give each canary stage a stage of its own, so that the stages run in order.',
      ...(template.stageDefault !== undefined ? { default: template.stageDefault } : {}),
    },
    'job-prefix': {
      description:
        'Prefix of the job name: <prefix><weight> for a stage, <prefix>promote, <prefix>rollback. Use one prefix per VirtualService when a pipeline rolls out several.',
      default: 'canary-',
    },
    image: {
      description: 'Image the job runs in; it needs Node.js 22.19 or newer.',
      default: 'node:24',
    },
  };
  if (template.gated) {
    inputs.gate = {
      description:
        'manual: the job waits for a person to run it and blocks the later stages until then; none: it runs as soon as the stage before passed.',
      default: 'manual',
      options: ['manual', 'none'],
    };
  }
  inputs.cli = {
    description: `Command that runs the istio-canary CLI. The default fetches ${CLI_PACKAGE}@${VERSION} from the npm registry the job's npm configuration names, and runs it only if the SHA-256 of its bundle is the one pinned here (${digest}), so a package anyone else publishes under the name never runs. On runners without registry access: a vendored copy (node /opt/istio-canary/dist/cli.js).`,
    default: pinnedCli(CLI_PACKAGE, VERSION, digest),
  };
  return inputs;
}

/** An empty string (not set) or a non-negative decimal: what an optional number accepts. */
export const OPTIONAL_NUMBER_REGEX = '^(\\d+(\\.\\d+)?)?$';

/**
 * The `spec: inputs` entry of one action input. GitLab has no optional number: an input without a
 * default must be given, so optional numbers and enumerations without a default become strings
 * whose empty default means "not set" (the CLI ignores empty variables); a regex keeps optional
 * numbers numeric.
 */
export function gitlabInput(input: InputSpec, required: boolean): GitlabInput {
  const note = input.defaultNote ? ` Default: ${input.defaultNote}.` : '';
  const secret = input.secret ? ' Pass a CI/CD variable ($NAME), never the secret itself.' : '';
  const kubeconfig =
    input.name === 'kubeconfig' ? ' Here also the path a File-type CI/CD variable expands to.' : '';
  const entry: GitlabInput = { description: input.description + note + kubeconfig + secret };
  if (required) return withType(entry, input.type);
  if (input.default === undefined) {
    entry.default = '';
    if (input.options) entry.options = ['', ...input.options];
    if (input.type === 'number') entry.regex = OPTIONAL_NUMBER_REGEX;
    return entry;
  }
  withType(entry, input.type);
  entry.default = typed(input.default, input.type);
  if (input.options) entry.options = input.options.map((o) => typed(o, input.type));
  return entry;
}

function withType(entry: GitlabInput, type: InputSpec['type']): GitlabInput {
  if (type !== 'string') entry.type = type;
  return entry;
}

function typed(value: string, type: InputSpec['type']): string | number | boolean {
  if (type === 'number') return Number(value);
  if (type === 'boolean') return value === 'true';
  return value;
}

/** The action inputs a template takes: all but `command`, which the template fixes. */
export function actionInputsOf(): readonly InputSpec[] {
  return INPUTS.filter((input) => input.name !== 'command');
}

function specOf(template: GitlabTemplate, digest: string): Record<string, GitlabInput> {
  const inputs = gitlabOnlyInputs(template, digest);
  for (const input of actionInputsOf())
    inputs[input.name] = gitlabInput(input, template.requires.includes(input.name));
  return inputs;
}

function jobOf(template: GitlabTemplate): Record<string, unknown> {
  const variables: Record<string, string> = {};
  if (template.gated) variables[GATE_VARIABLE] = '$[[ inputs.gate ]]';
  variables.ISTIO_CANARY_REPORT_DIR = REPORT_DIR;
  for (const input of actionInputsOf())
    variables[envName(input.name)] = `$[[ inputs.${input.name} ]]`;
  const rules = template.gated
    ? [
        { if: `$${GATE_VARIABLE} == "manual"`, when: 'manual', allow_failure: false },
        { when: 'on_success' },
      ]
    : [{ when: 'manual', allow_failure: true }];
  return {
    stage: '$[[ inputs.stage ]]',
    image: '$[[ inputs.image ]]',
    resource_group: 'istio-canary/$[[ inputs.namespace ]]/$[[ inputs.virtual-service ]]',
    ...(template.gated ? { dependencies: [] } : { needs: [] }),
    variables,
    rules,
    script: [`$[[ inputs.cli ]] ${template.command} --dotenv ${DOTENV_FILE}`],
    // expose_as puts a link to the folder (the JSON and the HTML report) on merge requests.
    artifacts: {
      when: 'always',
      expose_as: ARTIFACT_NAME,
      paths: [`${REPORT_DIR}/`],
      reports: { dotenv: DOTENV_FILE },
    },
  };
}

const HEADER: Record<GitlabTemplate['command'], string> = {
  step: 'One canary stage: set the weights, watch Prometheus, pass; on a breach restore the route and fail.',
  promote:
    'Promote: send all traffic of the route to the canary subset and remove the rollout state.',
  rollback:
    'A manual rollback job, playable at any time, also after a failed stage: restores the saved route.',
};

/** The template's text, formatted as `prettier` leaves it so `format:check` stays green. */
export async function renderGitlabTemplate(
  template: GitlabTemplate,
  digest: string,
): Promise<string> {
  const header = [
    '# Generated from src/config/inputs.ts by `npm run generate`; edit the table there.',
    `# ${HEADER[template.command]}`,
    '# Usage and the reasons behind each keyword: gitlab/README.md.',
  ].join('\n');
  const spec = stringify({ spec: { inputs: specOf(template, digest) } }, { lineWidth: 0 });
  const job = stringify({ [template.jobName]: jobOf(template) }, { lineWidth: 0 });
  const text = `${header}\n${spec}---\n${job}`;
  const config = (await resolveConfig(template.file)) ?? {};
  return format(text, { ...config, filepath: template.file });
}

/**
 * Every template by path, as `npm run generate` writes them, pinning the bundle the sources
 * build to now (built afresh unless `digest` is given).
 */
export async function renderGitlabTemplates(
  digest: string = sourceBundleDigest(),
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const template of GITLAB_TEMPLATES)
    files[template.file] = await renderGitlabTemplate(template, digest);
  return files;
}
