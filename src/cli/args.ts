import { INPUTS } from '../config/inputs.ts';

/** A mistake in how the CLI was called: exit code 2, with the usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Flags of the CLI itself, beyond the step's inputs. */
export const CLI_FLAGS = {
  output: 'text or json: json prints one JSON report on stdout and logs on stderr',
  dotenv: 'write the outputs to this file as NAME=value lines (a GitLab dotenv report)',
  help: 'show help',
  version: 'show the version',
} as const;

export interface ParsedArgs {
  /** Inputs by their action name, from flags and environment (flags win). */
  inputs: Record<string, string>;
  output: 'text' | 'json';
  dotenv?: string;
  help: boolean;
  version: boolean;
}

const COMMANDS = ['step', 'promote', 'rollback', 'status'];
const INPUT_NAMES = new Set(INPUTS.map((i) => i.name));
const BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.type === 'boolean').map((i) => i.name));

/** `ISTIO_CANARY_VIRTUAL_SERVICE` for `virtual-service`. */
export function envName(input: string): string {
  return `ISTIO_CANARY_${input.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Parses `istio-canary [command] [--flag value | --flag=value ...]`. Every input of the action is
 * a flag of the same name and can also come from `ISTIO_CANARY_<NAME>`; flags win.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const inputs: Record<string, string> = {};
  for (const name of INPUT_NAMES) {
    const value = env[envName(name)];
    if (value !== undefined && value !== '') inputs[name] = value;
  }
  const parsed: ParsedArgs = { inputs, output: 'text', help: false, version: false };
  const flags: Record<string, string> = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') parsed.help = true;
    else if (arg === '--version' || arg === '-v') parsed.version = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!INPUT_NAMES.has(name) && !(name in CLI_FLAGS)) throw new UsageError(unknownFlag(name));
      let value: string;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (BOOLEAN_INPUTS.has(name) && !isBooleanWord(argv[i + 1])) value = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) {
          throw new UsageError(
            `Flag --${name} needs a value: --${name} <value> or --${name}=<value>.`,
          );
        }
        value = next;
        i++;
      }
      if (name in flags) throw new UsageError(`Flag --${name} is given twice.`);
      flags[name] = value;
    } else if (command === undefined && !arg.startsWith('-')) {
      if (!COMMANDS.includes(arg)) {
        throw new UsageError(`Unknown command "${arg}"; the commands are ${COMMANDS.join(', ')}.`);
      }
      command = arg;
    } else {
      throw new UsageError(`Unexpected argument "${arg}"; flags take the form --name value.`);
    }
  }
  for (const [name, value] of Object.entries(flags)) {
    if (name === 'output') parsed.output = outputMode(value);
    else if (name === 'dotenv') parsed.dotenv = value;
    else inputs[name] = value;
  }
  if (command !== undefined) {
    if (flags.command !== undefined && flags.command !== command) {
      throw new UsageError(
        `The command is given twice: "${command}" and --command ${flags.command}.`,
      );
    }
    inputs.command = command;
  }
  return parsed;
}

function isBooleanWord(value: string | undefined): boolean {
  return value !== undefined && /^(true|false|True|False|TRUE|FALSE)$/.test(value);
}

function outputMode(value: string): 'text' | 'json' {
  if (value === 'text' || value === 'json') return value;
  throw new UsageError(`Flag --output must be text or json; got "${value}".`);
}

function unknownFlag(name: string): string {
  const all = [...INPUT_NAMES, ...Object.keys(CLI_FLAGS)];
  const close = all.filter((candidate) => editDistance(candidate, name) <= 2);
  const hint = close.length > 0 ? ` Did you mean --${close[0]}?` : ' See --help for the flags.';
  return `Unknown flag --${name}.${hint}`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}
