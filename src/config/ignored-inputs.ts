/**
 * Inputs given that have no effect: set for a command that never reads them (`weight` with
 * `rollback`, `cleanup` with `step`), or without the input they qualify (`canary-match-weight`
 * without `canary-match`). Derived from the input table, so a new input says where it counts
 * once. A person who set one expected something from it: saying so beats silence.
 */
import { INPUTS, type CommandName } from './inputs.ts';

/**
 * One sentence per input set to a value other than its default that has no effect for
 * `command`; empty when every input given counts. `given` reads an input's trimmed value,
 * undefined when empty.
 */
export function ignoredInputs(
  command: CommandName,
  given: (name: string) => string | undefined,
): string[] {
  const isSet = (name: string): boolean => {
    const value = given(name);
    const spec = INPUTS.find((input) => input.name === name);
    return value !== undefined && value !== spec?.default;
  };
  const notRead = INPUTS.filter(
    (input) => input.commands !== undefined && !input.commands.includes(command),
  )
    .filter((input) => isSet(input.name))
    .map((input) => input.name);
  const sentences: string[] = [];
  if (notRead.length > 0) {
    const names = notRead.map((name) => `"${name}"`).join(', ');
    const which = notRead.length === 1 ? 'Input' : 'Inputs';
    const verb = notRead.length === 1 ? 'has' : 'have';
    sentences.push(`${which} ${names} ${verb} no effect for command "${command}"; ignored.`);
  }
  for (const input of INPUTS) {
    if (input.needs === undefined || notRead.includes(input.name)) continue;
    if (isSet(input.name) && !isSet(input.needs)) {
      sentences.push(
        `Input "${input.name}" has no effect without input "${input.needs}"; ignored.`,
      );
    }
  }
  return sentences;
}
