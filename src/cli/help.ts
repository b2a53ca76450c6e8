import { LIMIT_VARIABLES } from '../config/deadlines.ts';
import { INPUTS, type InputSpec } from '../config/inputs.ts';
import { CLI_FLAGS, envName } from './args.ts';

const TARGET = [
  'kubeconfig',
  'context',
  'namespace',
  'virtual-service',
  'route',
  'host',
  'destination-rule',
  'stable-subset',
  'canary-subset',
  'stable-host',
  'canary-host',
];

interface CommandHelp {
  summary: string;
  /** Inputs the command cannot run without. */
  needs: string[];
  /** Inputs the command reads; the others are accepted and ignored. */
  reads: readonly string[] | 'all';
}

const COMMAND_HELP: Record<string, CommandHelp> = {
  step: {
    summary:
      'Set the canary weight(s) of one stage on the VirtualService, watch Prometheus for `duration` after each, and pass; on a breach restore the original route and exit 1.',
    needs: ['virtual-service', 'stable-subset', 'canary-subset', 'weight'],
    reads: 'all',
  },
  promote: {
    summary: 'Send all traffic of the route to the canary subset and remove the rollout state.',
    needs: ['virtual-service', 'stable-subset', 'canary-subset'],
    reads: [...TARGET, 'cleanup', 'dry-run'],
  },
  rollback: {
    summary:
      'Restore the saved original route byte for byte and remove every trace of the rollout; a clean no-op when none is in progress. The saved state is checked first: when it does not explain the VirtualService, or disagrees with the inputs given, nothing is written.',
    needs: ['virtual-service'],
    reads: [...TARGET, 'canary-match', 'canary-match-weight', 'dry-run'],
  },
  status: {
    summary: 'Report the rollout state of the VirtualService. Writes nothing.',
    needs: ['virtual-service'],
    reads: TARGET,
  },
};

/** Variables the CLI reads that have no flag: knobs for CI systems rather than for people. */
const ENVIRONMENT = {
  ISTIO_CANARY_REPORT_DIR:
    'folder for the JSON and HTML report files [default: the temporary folder]',
  ISTIO_CANARY_RUN_ID:
    'names this run in the rollout state [default: the GitLab pipeline and job, else host and pid]',
  ISTIO_CANARY_DEBUG: 'any value: debug lines and stack traces of internal errors',
  ...LIMIT_VARIABLES,
};

/** The GitHub Action posts commit statuses; the CLI has no commit to post them on. */
export const ACTION_ONLY: ReadonlySet<string> = new Set(['github-token']);

/** The tool's help, or one command's. Generated from the input table, so it cannot drift. */
export function helpText(version: string, command?: string): string {
  const help = command === undefined ? undefined : COMMAND_HELP[command];
  const lines = help && command ? commandHeader(command, help) : toolHeader(version);
  const inputs = INPUTS.filter(
    (input) => help === undefined || help.reads === 'all' || help.reads.includes(input.name),
  );
  lines.push('Flags (each also read from the environment variable shown; a flag wins):');
  for (const input of inputs) {
    if (help && input.name === 'command') continue;
    lines.push(`  --${input.name}  (${envName(input.name)})`, wrap(describe(input), 6));
  }
  if (help && help.reads !== 'all') lines.push('  Other inputs are accepted and ignored.');
  lines.push('', 'Tool flags:');
  for (const [name, text] of Object.entries(CLI_FLAGS)) {
    const variable = name === 'output' || name === 'dotenv' ? `  (${envName(name)})` : '';
    lines.push(`  --${name}${variable}`, wrap(text, 6));
  }
  lines.push('', 'Environment:');
  for (const [name, text] of Object.entries(ENVIRONMENT)) lines.push(`  ${name}`, wrap(text, 6));
  lines.push(
    '',
    wrap(
      'Exit codes: 0 success (passed, promoted, rolled back on request, no-op, dry run), 1 rolled back or failed, 2 usage error.',
      0,
    ),
  );
  return `${lines.join('\n')}\n`;
}

function toolHeader(version: string): string[] {
  const lines = [
    `istio-canary ${version}: staged Istio canary rollouts from CI.`,
    '',
    'Usage: istio-canary <command> [--flag value | --flag=value ...]',
    '',
    'Commands:',
  ];
  for (const [name, { summary }] of Object.entries(COMMAND_HELP))
    lines.push(`  ${name.padEnd(9)}${wrap(summary, 11).trimStart()}`);
  lines.push('', 'istio-canary <command> --help shows the flags one command reads.', '');
  return lines;
}

function commandHeader(command: string, { summary, needs }: CommandHelp): string[] {
  return [
    `istio-canary ${command} [--flag value | --flag=value ...]`,
    '',
    wrap(summary, 0),
    '',
    `Needs: ${needs.map((n) => `--${n}`).join(', ')}.`,
    '',
  ];
}

function describe(input: InputSpec): string {
  const def =
    input.default !== undefined
      ? ` [default: ${input.default}]`
      : input.defaultNote
        ? ` [default: ${input.defaultNote}]`
        : '';
  const note = ACTION_ONLY.has(input.name)
    ? ' GitHub Action only; the CLI ignores it.'
    : input.name === 'kubeconfig'
      ? ' The CLI also takes the path of a kubeconfig file.'
      : '';
  return `${input.description}${def}${note}`;
}

function wrap(text: string, indent: number, width = 100): string {
  const pad = ' '.repeat(indent);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && pad.length + line.length + 1 + word.length > width) {
      out.push(pad + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(pad + line);
  return out.join('\n');
}
