/**
 * The judge's numbers in words a person understands, one sentence per check and one at the end:
 * "v2 errors 3.1x v1's (31 of 1000 vs 90 of 9000), p < 0.001: rolled back".
 */
import type { RatioEProcess } from './ratio.ts';
import type { Decision, Evidence, JudgeState, Outcome, ResolvedJudgeOptions } from './judge.ts';

/** The sentence for one check. */
export function observeSentence(
  o: ResolvedJudgeOptions,
  decision: Decision,
  e: Evidence,
  s: JudgeState,
): string {
  if (decision === 'rollback') return rollbackSentence(o, e, s);
  if (decision === 'hold-degraded') return degradedSentence(o, e);
  if (e.warmUp) return 'first window after the weight change ignored (warm-up): watching';
  if (s.canary.requests === 0) return `no ${o.canaryName} requests yet: watching`;
  return `${errorComparison(o, e, s)} so far, ${formatP(e.pValue)}: watching`;
}

/** The sentence for the end of the watch. */
export function concludeSentence(
  o: ResolvedJudgeOptions,
  outcome: Outcome,
  e: Evidence,
  s: JudgeState,
): string {
  const c = o.canaryName;
  const confidence = `${formatPercent(100 * (1 - o.alphaError))}% confidence`;
  const ratioName = `${c}/${o.stableName} error ratio`;
  switch (outcome) {
    case 'rolled-back':
      return rollbackSentence(o, e, s);
    case 'no-data':
      return `${c} served ${s.canary.requests} requests, fewer than the ${o.minRequests} needed to judge: no data`;
    case 'shown-no-worse':
      return `shown no worse: ${ratioName} < ${formatRatio(e.ratioUpper)} at ${confidence}; ${errorComparison(o, e, s)}`;
    case 'inconclusive': {
      const bound =
        e.ratioUpper === Infinity
          ? `too few errors to bound the ${ratioName}`
          : `the ${ratioName} could be up to ${formatRatio(e.ratioUpper)} at ${confidence}, more than the ${formatRatio(o.noWorseRatio)} allowed`;
      return `inconclusive: too little traffic to show ${c} is no worse (${bound}); ${errorComparison(o, e, s)}, not shown worse (${formatP(e.pValue)})`;
    }
  }
}

function rollbackSentence(o: ResolvedJudgeOptions, e: Evidence, s: JudgeState): string {
  const c = o.canaryName;
  switch (e.reason) {
    case 'catastrophic': {
      const t = s.canarySinceChange;
      return `${c} failed ${t.errors} of ${t.requests} requests since the weights moved: rolled back at once`;
    }
    case 'latency':
      return `${latencyComparison(o, s)}, ${formatP(e.pCombined)}: rolled back`;
    case 'slo':
      return `${c} success ${formatPercent(e.canarySuccessRate ?? 0)}% is below the ${o.minSuccessRate}% minimum while ${o.stableName} is at ${formatPercent(e.stableSuccessRate ?? 100)}%, ${formatP(e.pCombined)}: rolled back`;
    default:
      return `${errorComparison(o, e, s)}, ${formatP(e.pCombined)}: rolled back`;
  }
}

function degradedSentence(o: ResolvedJudgeOptions, e: Evidence): string {
  const rates = `${formatPercent(e.canarySuccessRate ?? 0)}%, ${formatPercent(e.stableSuccessRate ?? 0)}%`;
  return `${o.canaryName} and ${o.stableName} are both below ${o.minSuccessRate}% success (${rates}): environment degraded, holding; not evidence against ${o.canaryName}`;
}

function errorComparison(o: ResolvedJudgeOptions, e: Evidence, s: JudgeState): string {
  const counts = `(${s.canary.errors} of ${s.canary.requests} vs ${s.stable.errors} of ${s.stable.requests})`;
  if (e.ratioEstimate === undefined) {
    return `${o.canaryName} errors ${s.canary.errors}, ${o.stableName} none ${counts}`;
  }
  return `${o.canaryName} errors ${formatRatio(e.ratioEstimate)}x ${o.stableName}'s ${counts}`;
}

function latencyComparison(o: ResolvedJudgeOptions, s: JudgeState): string {
  let worst = 0;
  s.latency.forEach((p, i) => {
    if (p.maxLogE > s.latency[worst].maxLogE) worst = i;
  });
  const process = s.latency[worst];
  const boundary = o.latencyBoundariesMs[worst];
  const ratio = process ? slowRatio(process) : undefined;
  const often = ratio === undefined ? 'more often than' : `${formatRatio(ratio)}x as often as`;
  return `${o.canaryName} slower than ${boundary} ms ${often} ${o.stableName}`;
}

function slowRatio(p: RatioEProcess): number | undefined {
  const t = p.totals;
  if (t.stableEvents === 0 || t.canaryRequests === 0) return undefined;
  return t.canaryEvents / t.canaryRequests / (t.stableEvents / t.stableRequests);
}

/** "p < 0.001", "p = 0.004", "p = 0.41", "p = 1". */
export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  if (p >= 1) return 'p = 1';
  return `p = ${Number(p.toPrecision(p < 0.01 ? 1 : 2))}`;
}

/** Ratios with two significant digits at most: "0.85", "3.1", "12". */
export function formatRatio(r: number): string {
  if (r === Infinity) return 'unbounded';
  if (r >= 10) return String(Math.round(r));
  if (r >= 1) return String(Number(r.toFixed(1)));
  return String(Number(r.toFixed(2)));
}

function formatPercent(x: number): string {
  return String(Number(x.toFixed(x >= 99 ? 2 : 1)));
}
