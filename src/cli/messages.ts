import { INPUTS } from '../config/inputs.ts';
import { envName, type Source } from './args.ts';

const INPUT_NAMES = new Set(INPUTS.map((i) => i.name));

/**
 * The core names inputs as the action does (`Input "weight"`); a CLI user typed `--weight`, or set
 * ISTIO_CANARY_WEIGHT. Rewrites those mentions so the message points at what the user wrote.
 * Names that are not inputs, and messages in any other shape, pass through unchanged.
 */
export function inCliTerms(message: string, sources: Readonly<Record<string, Source>>): string {
  return message.replace(
    /\b([Ii])nputs? ((?:"[a-z][a-z0-9-]*"(?:,? and |, )?)+)/g,
    (whole: string, _initial: string, list: string) => {
      const names = [...list.matchAll(/"([a-z][a-z0-9-]*)"/g)].map((m) => m[1]);
      if (!names.every((name) => INPUT_NAMES.has(name))) return whole;
      return list.replace(/"([a-z][a-z0-9-]*)"/g, (_quoted: string, name: string) =>
        sources[name] === 'env' ? `${envName(name)} (--${name})` : `--${name}`,
      );
    },
  );
}
