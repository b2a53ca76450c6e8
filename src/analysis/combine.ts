/**
 * The judge's three tests as one rollback rule: a weighted average of their e-values. Each test
 * is an e-process under its own null, so under all three nulls at once (no worse in errors, no
 * worse in latency, within the SLO) the average is an e-process too, and rejecting when it reaches
 * 1/alpha keeps the false-rollback chance below alpha. With weights equal to the alpha shares it
 * rejects whenever the split tests would (w * E >= 1/alpha is E >= 1/share) and also when two
 * tests hold part of the evidence each, as they do for a canary that fails outright.
 */
import { logSumExp } from './mixture.ts';

/** One test's part of the rule: its share of alpha and its log e-value now. */
export interface Part<Name extends string> {
  name: Name;
  share: number;
  logE: number;
}

/** log of sum(share/alpha * E) over the parts that have a share. */
export function combinedLogE<Name extends string>(
  alpha: number,
  parts: readonly Part<Name>[],
): number {
  const terms = parts.filter((p) => p.share > 0).map((p) => Math.log(p.share / alpha) + p.logE);
  return logSumExp(terms);
}

/**
 * The reason given for a rollback: the first part, in the order given, whose own term reaches
 * 1/alpha (it would have rejected on its share alone); when only the average does, the part that
 * contributes most to it.
 */
export function reasonFor<Name extends string>(
  alpha: number,
  parts: readonly Part<Name>[],
): Name | undefined {
  const limit = -Math.log(alpha);
  let best: Part<Name> | undefined;
  let bestTerm = -Infinity;
  for (const p of parts) {
    if (!(p.share > 0)) continue;
    const term = Math.log(p.share / alpha) + p.logE;
    if (term >= limit) return p.name;
    if (term > bestTerm) {
      best = p;
      bestTerm = term;
    }
  }
  return best?.name;
}
