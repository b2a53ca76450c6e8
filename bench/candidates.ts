/**
 * Candidate e-processes for the error ratio, each alone at alpha 0.01 (the oracle's level), fed
 * every scrape: what a choice of e-process costs against the oracle, apart from the rest of the
 * judge. The mixtures are the product's own ratio e-process with different priors; the predictable
 * plug-in is written here, since it lost.
 */
import {
  DEFAULT_PRIOR,
  FLAT_PRIOR,
  geometricGrid,
  logSumExp,
  tiltedPrior,
} from '../src/analysis/mixture.ts';
import type { Prior } from '../src/analysis/mixture.ts';
import {
  createRatioEProcess,
  hasBothSides,
  updateRatio,
  windowLogLR,
} from '../src/analysis/ratio.ts';
import type { RatioEProcess, RatioWindow } from '../src/analysis/ratio.ts';
import { scrapeFollowerDelay } from './methods.ts';
import type { Method } from './methods.ts';

const ALPHA = 0.01;

/** A sequential test of the error ratio: feed windows, read log E. */
interface ErrorTest {
  add(w: RatioWindow): number;
}

function mixtureTest(prior: Prior): () => ErrorTest {
  return () => {
    let state: RatioEProcess = createRatioEProcess(1, prior);
    return {
      add(w) {
        state = updateRatio(state, w);
        return state.logE;
      },
    };
  };
}

/**
 * A predictable plug-in: each window's likelihood ratio at the ratio estimated from the windows
 * before it only (Mantel-Haenszel, one pseudo-event pulling towards `start`), clipped to
 * [min, max]. A product of such factors is a test martingale, since each factor's alternative is
 * fixed before the window is seen.
 */
function pluginTest(start: number, min: number, max: number): () => ErrorTest {
  return () => {
    let num = 0;
    let den = 0;
    let logE = 0;
    let pending: RatioWindow = {
      canaryRequests: 0,
      stableRequests: 0,
      canaryEvents: 0,
      stableEvents: 0,
    };
    return {
      add(w) {
        const merged = {
          canaryRequests: pending.canaryRequests + w.canaryRequests,
          stableRequests: pending.stableRequests + w.stableRequests,
          canaryEvents: pending.canaryEvents + w.canaryEvents,
          stableEvents: pending.stableEvents + w.stableEvents,
        };
        if (!hasBothSides(merged)) {
          pending = merged;
          return logE;
        }
        pending = { canaryRequests: 0, stableRequests: 0, canaryEvents: 0, stableEvents: 0 };
        const r = Math.min(max, Math.max(min, (num + 1) / (den + 1 / start)));
        logE += windowLogLR(merged, r, 1);
        const t0 = merged.canaryRequests / (merged.canaryRequests + merged.stableRequests);
        num += merged.canaryEvents * (1 - t0);
        den += merged.stableEvents * t0;
        return logE;
      },
    };
  };
}

/** The average of two tests' e-values: an e-process that hedges between them. */
function averageTest(a: () => ErrorTest, b: () => ErrorTest): () => ErrorTest {
  return () => {
    const x = a();
    const y = b();
    return { add: (w) => logSumExp([x.add(w), y.add(w)]) - Math.log(2) };
  };
}

/**
 * Candidates run on regressions only: each is an e-process by construction, so its false-rollback
 * rate is bounded by alpha without measuring it, and the judge's own rate is measured anyway.
 */
function candidate(id: string, label: string, make: (k: number) => ErrorTest): Method {
  return {
    id,
    label,
    judgesHealthy: false,
    run({ scrapes, timing, k }) {
      const test = make(k);
      for (const s of scrapes) {
        const logE = test.add({
          canaryRequests: s.canary.requests,
          stableRequests: s.stable.requests,
          canaryEvents: s.canary.errors,
          stableEvents: s.stable.errors,
        });
        if (logE >= -Math.log(ALPHA)) return { rollbackS: s.atS + scrapeFollowerDelay(timing) };
      }
      return {};
    },
  };
}

const GRID = geometricGrid(1.1, 20, 25);

/** The candidates, in table order; ids start with "ep-". */
export function candidateMethods(): Method[] {
  return [
    candidate('ep-flat', 'Mixture, equal weights (before)', mixtureTest(FLAT_PRIOR)),
    candidate(
      'ep-flat-50',
      'Mixture, equal weights, 1.1..50',
      mixtureTest(tiltedPrior(geometricGrid(1.1, 50, 31), 0)),
    ),
    candidate('ep-tilt-up', 'Mixture, weights ~ r^0.25', mixtureTest(tiltedPrior(GRID, -0.25))),
    candidate('ep-default', 'Mixture, weights ~ r^-0.25 (chosen)', mixtureTest(DEFAULT_PRIOR)),
    candidate('ep-tilt-0.5', 'Mixture, weights ~ r^-0.5', mixtureTest(tiltedPrior(GRID, 0.5))),
    candidate('ep-tilt-1', 'Mixture, weights ~ r^-1', mixtureTest(tiltedPrior(GRID, 1))),
    candidate('ep-plugin', 'Predictable plug-in, from 2x', pluginTest(2, 1.1, 20)),
    candidate('ep-known-k', 'Conditional test at the true k (knows k)', (k) =>
      mixtureTest(tiltedPrior([k], 0))(),
    ),
    candidate(
      'ep-hedge',
      'Average of equal-weight mixture and plug-in',
      averageTest(mixtureTest(FLAT_PRIOR), pluginTest(2, 1.1, 20)),
    ),
  ];
}
