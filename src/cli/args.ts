import { INPUTS } from '../config/inputs.ts';

/** A mistake in how the CLI was called: exit code 2, with the usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Flags of the CLI itself, beyond the step's inputs. */
export const CLI_FLAGS = {
  output:
    'text or json: json prints one JSON report on stdout and the log on stderr [default: text]',
  dotenv: 'also write the outputs to this file as NAME=value lines (a GitLab dotenv report)',
  help: 'show help (istio-canary <command> --help for one command)',
  version: 'show the version',
} as const;

/** The commands, in the order the help lists them; `step` is the default. */
export const COMMANDS = ['step', 'promote', 'rollback', 'status'] as const;

/** Where a value came from, so that an error can point at the flag or the variable. */
export type Source = 'flag' | 'env';

export interface ParsedArgs {
  /** Inputs by their action name, from flags and environment (flags win). */
  inputs: Record<string, string>;
  /** Where each entry of `inputs` came from. */
  sources: Record<string, Source>;
  /** The command named on the command line (positional or --command), if any. */
  command?: string;
  output: 'text' | 'json';
  dotenv?: string;
  help: boolean;
  version: boolean;
}

const INPUT_NAMES = new Set(INPUTS.map((i) => i.name));
const BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.type === 'boolean').map((i) => i.name));
const VALUE_FLAGS = ['output', 'dotenv'] as const;

/** `ISTIO_CANARY_VIRTUAL_SERVICE` for `virtual-service`. */
export function envName(input: string): string {
  return `ISTIO_CANARY_${input.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Parses `istio-canary [command] [--flag value | --flag=value ...]`. Every input of the action, and
 * --output and --dotenv, is a flag of the same name and can also come from `ISTIO_CANARY_<NAME>`;
 * flags win. Throws UsageError naming the flag at fault.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const parsed: ParsedArgs = {
    inputs: {},
    sources: {},
    output: 'text',
    help: false,
    version: false,
  };
  const flags = readFlags(argv, parsed);
  for (const name of [...INPUT_NAMES, ...VALUE_FLAGS]) {
    const fromEnv = env[envName(name)];
    const value = flags[name] ?? (fromEnv === '' ? undefined : fromEnv);
    if (value === undefined) continue;
    const source: Source = name in flags ? 'flag' : 'env';
    if (name === 'output') parsed.output = outputMode(value, source);
    else if (name === 'dotenv') parsed.dotenv = value;
    else {
      parsed.inputs[name] = value;
      parsed.sources[name] = source;
    }
  }
  if (parsed.command !== undefined) {
    if (flags.command !== undefined && flags.command !== parsed.command) {
      throw new UsageError(
        `The command is given twice: "${parsed.command}" and --command ${flags.command}.`,
      );
    }
    parsed.inputs.command = parsed.command;
    parsed.sources.command = 'flag';
  } else if (flags.command !== undefined) parsed.command = flags.command;
  return parsed;
}

/** Walks argv once: flags into the returned map, the command and help/version into `parsed`. */
function readFlags(argv: readonly string[], parsed: ParsedArgs): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') parsed.help = true;
    else if (arg === '--version' || arg === '-v') parsed.version = true;
    else if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!isFlag(name)) throw new UsageError(unknownFlag(name));
      let value: string;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (BOOLEAN_INPUTS.has(name) && !isBooleanWord(argv[i + 1])) value = 'true';
      else {
        value = flagValue(name, argv[i + 1]);
        i++;
      }
      if (name in flags) throw new UsageError(`Flag --${name} is given twice.`);
      flags[name] = value;
    } else if (parsed.command === undefined && /^[a-z]/.test(arg)) {
      parsed.command = positionalCommand(arg, parsed);
    } else {
      throw new UsageError(
        `Unexpected argument "${arg}"; flags take the form --name value or --name=value.`,
      );
    }
  }
  return flags;
}

function isFlag(name: string): boolean {
  return INPUT_NAMES.has(name) || name in CLI_FLAGS;
}

function flagValue(name: string, next: string | undefined): string {
  if (next === undefined || (next.startsWith('--') && next.length > 2)) {
    throw new UsageError(`Flag --${name} needs a value: --${name} <value> or --${name}=<value>.`);
  }
  return next;
}

/** `help` reads as a command to many people (`istio-canary help step`); treat it as --help. */
function positionalCommand(arg: string, parsed: ParsedArgs): string | undefined {
  if (arg === 'help' && !parsed.help) {
    parsed.help = true;
    return undefined;
  }
  if (!(COMMANDS as readonly string[]).includes(arg)) {
    throw new UsageError(`Unknown command "${arg}"; the commands are ${COMMANDS.join(', ')}.`);
  }
  return arg;
}

function isBooleanWord(value: string | undefined): boolean {
  return value !== undefined && /^(true|false|True|False|TRUE|FALSE)$/.test(value);
}

function outputMode(value: string, source: Source): 'text' | 'json' {
  if (value === 'text' || value === 'json') return value;
  const where = source === 'flag' ? 'Flag --output' : `${envName('output')} (--output)`;
  throw new UsageError(`${where} must be text or json; got "${value}".`);
}

function unknownFlag(name: string): string {
  const all = [...INPUT_NAMES, ...Object.keys(CLI_FLAGS)];
  const scored = all
    .map((candidate) => ({ candidate, distance: editDistance(candidate, name) }))
    .filter(({ candidate, distance }) => distance <= Math.max(2, candidate.length / 4))
    .sort((a, b) => a.distance - b.distance);
  const hint =
    scored.length > 0 ? ` Did you mean --${scored[0].candidate}?` : ' See --help for the flags.';
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
