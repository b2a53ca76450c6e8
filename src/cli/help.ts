import { INPUTS } from '../config/inputs.ts';
import { CLI_FLAGS, envName } from './args.ts';

const COMMAND_HELP: Record<string, { summary: string; needs: string[] }> = {
  step: {
    summary:
      'Set the canary weight(s) of one stage on the VirtualService, watch Prometheus for `duration` after each, and pass; on a breach restore the original route and exit 1.',
    needs: ['virtual-service', 'stable-subset', 'canary-subset', 'weight'],
  },
  promote: {
    summary: 'Send all traffic of the route to the canary subset and remove the rollout state.',
    needs: ['virtual-service', 'stable-subset', 'canary-subset'],
  },
  rollback: {
    summary:
      'Restore the saved original route byte for byte and remove every trace of the rollout; a clean no-op when none is in progress.',
    needs: ['virtual-service'],
  },
  status: {
    summary: 'Report the rollout state of the VirtualService. Writes nothing.',
    needs: ['virtual-service'],
  },
};

/** The tool's help, or one command's. Generated from the input table, so it cannot drift. */
export function helpText(version: string, command?: string): string {
  const lines: string[] = [];
  if (command && COMMAND_HELP[command]) {
    const { summary, needs } = COMMAND_HELP[command];
    lines.push(`istio-canary ${command} [--flag value ...]`, '', wrap(summary, 0), '');
    lines.push(`Needs: ${needs.map((n) => `--${n}`).join(', ')}.`, '');
  } else {
    lines.push(`istio-canary ${version}: staged Istio canary rollouts from CI.`, '');
    lines.push('Usage: istio-canary <command> [--flag value ...]', '', 'Commands:');
    for (const [name, { summary }] of Object.entries(COMMAND_HELP))
      lines.push(`  ${name.padEnd(9)}${wrap(summary, 11).trimStart()}`);
    lines.push('');
  }
  lines.push('Flags (each also read from the environment variable shown; a flag wins):');
  for (const input of INPUTS) {
    if (input.name === 'command') continue;
    const def =
      input.default !== undefined
        ? ` [default: ${input.default}]`
        : input.defaultNote
          ? ` [default: ${input.defaultNote}]`
          : '';
    lines.push(
      `  --${input.name}  (${envName(input.name)})`,
      wrap(`${input.description}${def}`, 6),
    );
  }
  lines.push('', 'Tool flags:');
  for (const [name, text] of Object.entries(CLI_FLAGS)) lines.push(`  --${name.padEnd(9)}${text}`);
  lines.push(
    '',
    'Exit codes: 0 success (passed, promoted, rolled back on request, no-op), 1 rolled back or failed, 2 usage error.',
  );
  return `${lines.join('\n')}\n`;
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
