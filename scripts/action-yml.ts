import { stringify } from 'yaml';
import { INPUTS, OUTPUTS } from '../src/config/inputs.ts';

/** action.yml as derived from the input table; `npm run generate` writes it, a test compares. */
export function renderActionYml(): string {
  const inputs: Record<string, { description: string; required: boolean; default?: string }> = {};
  for (const input of INPUTS) {
    const note = input.defaultNote ? ` Default: ${input.defaultNote}.` : '';
    inputs[input.name] = {
      description: input.description + note,
      required: input.required === true,
      ...(input.default !== undefined ? { default: input.default } : {}),
    };
  }
  const outputs = Object.fromEntries(OUTPUTS.map((o) => [o.name, { description: o.description }]));
  const action = {
    name: 'istio-canary',
    description:
      'Staged Istio canary rollouts from CI: set VirtualService weights, watch Prometheus, restore the original route on a breach.',
    author: 'istio-canary',
    branding: { icon: 'git-branch', color: 'blue' },
    inputs,
    outputs,
    runs: { using: 'node24', main: 'dist/main.js', post: 'dist/post.js', 'post-if': 'always()' },
  };
  return `# Generated from src/config/inputs.ts by \`npm run generate\`; edit the table there.\n${stringify(action, { lineWidth: 0 })}`;
}
