/**
 * Istio's regular expressions, as Istio and Envoy read them: RE2 syntax (no lookaround, no
 * backreferences; `[[:digit:]]`, `\Q..\E`, `\x{41}`, `\pL` mean what RE2 says), matched against
 * the whole value, and at most 1024 bytes long (Istio's webhook approximates Envoy's RE2 program
 * size limit by the length). JavaScript's RegExp reads many of these differently or not at all,
 * so every regex is compiled by re2js, a port of RE2 that runs in linear time.
 */
import { RE2JS } from 're2js';

/** Istio's webhook refuses a regex longer than this many bytes. */
export const MAX_REGEX_BYTES = 1024;

/** The linear-time RE2 program for one regex, or why it is not one Istio accepts. */
type Compiled = { program: RE2JS } | { problem: string };

const cache = new Map<string, Compiled>();
/** Regexes come from inputs and the cluster: a bounded cache, cleared when full. */
const CACHE_LIMIT = 500;

function compile(regex: string): Compiled {
  let compiled = cache.get(regex);
  if (compiled !== undefined) return compiled;
  compiled = compileOnce(regex);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(regex, compiled);
  return compiled;
}

function compileOnce(regex: string): Compiled {
  if (regex === '') return { problem: 'the regex is empty' };
  const bytes = Buffer.byteLength(regex, 'utf8');
  if (bytes > MAX_REGEX_BYTES) {
    return {
      problem: `the regex is ${bytes} bytes long; Istio accepts at most ${MAX_REGEX_BYTES}`,
    };
  }
  try {
    return { program: RE2JS.compile(regex) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      problem: `${message} (Istio regexes are RE2: no lookahead, lookbehind or backreferences)`,
    };
  }
}

/** Why Istio would refuse `regex` (empty, too long, not RE2), or undefined when it is valid. */
export function regexProblem(regex: string): string | undefined {
  const compiled = compile(regex);
  return 'problem' in compiled ? compiled.problem : undefined;
}

/**
 * Whether `regex` matches the whole of `value`, as Envoy matches a header or path. Throws a
 * RangeError for a regex Istio would refuse: check regexProblem first where that can happen.
 */
export function fullMatch(regex: string, value: string): boolean {
  const compiled = compile(regex);
  if ('problem' in compiled) throw new RangeError(`invalid Istio regex: ${compiled.problem}`);
  return compiled.program.matches(value);
}
