/**
 * How evidence reaches a method in a real cluster, and how long a decision takes to become a
 * restored route. Prometheus scrapes each target every `scrapeIntervalS`, at a phase of its own
 * (the canary's and stable's pods are different targets), so a method sees a counter only as of
 * that target's last scrape. A method that follows the scrapes finds a new one by polling, on
 * average half a poll late, plus one query; the restore is one API round trip.
 */
import type { Random } from '../src/analysis/random.ts';
import { countsBetween } from './simulate.ts';
import type { Counts, Run } from './simulate.ts';

/** Delays of the loop, in seconds. */
export interface LoopTiming {
  /** How often a method that follows the scrapes asks Prometheus for new samples. */
  pollS: number;
  /** One Prometheus query. */
  queryS: number;
  /** From the decision to the original route written back: one API round trip. */
  restoreS: number;
}

export const DEFAULT_TIMING: LoopTiming = { pollS: 1, queryS: 0.05, restoreS: 0.1 };

/** Seconds after the weight change of each version's first scrape: 1..interval, uniform. */
export interface Phases {
  canary: number;
  stable: number;
}

export function drawPhases(rng: Random, intervalS: number): Phases {
  const draw = (): number => 1 + Math.min(intervalS - 1, Math.floor(rng.next() * intervalS));
  return { canary: draw(), stable: draw() };
}

/** The time of a target's last scrape at or before `t`, or 0 before its first. */
export function lastScrape(phase: number, intervalS: number, t: number): number {
  if (t < phase) return 0;
  return phase + Math.floor((t - phase) / intervalS) * intervalS;
}

/** One new scrape of either version (or both at once), as the judge receives it. */
export interface ScrapeWindow {
  /** When the scrape landed. */
  atS: number;
  canary: Counts;
  stable: Counts;
  /** Index of the stage the window ends in. */
  stage: number;
  /** The first window that ends in a new stage. */
  weightChanged: boolean;
}

/** Every scrape of the run in time order: what a loop feeding the judge each scrape sees. */
export function scrapeWindows(run: Run, intervalS: number, phases: Phases): ScrapeWindow[] {
  const out: ScrapeWindow[] = [];
  let lastC = 0;
  let lastS = 0;
  let stage = 0;
  let changed = true;
  for (let t = 1; t <= run.durationS; t++) {
    const canaryDue = t >= phases.canary && (t - phases.canary) % intervalS === 0;
    const stableDue = t >= phases.stable && (t - phases.stable) % intervalS === 0;
    if (!canaryDue && !stableDue) continue;
    while (stage + 1 < run.stageStartS.length && t > run.stageStartS[stage + 1]) {
      stage++;
      changed = true;
    }
    out.push({
      atS: t,
      canary: countsBetween(run.canary, lastC, canaryDue ? t : lastC),
      stable: countsBetween(run.stable, lastS, stableDue ? t : lastS),
      stage,
      weightChanged: changed,
    });
    changed = false;
    if (canaryDue) lastC = t;
    if (stableDue) lastS = t;
  }
  return out;
}

/** Counts of one version as Prometheus holds them at `t`, since its value at `from`. */
export function scrapedBetween(
  run: Run,
  side: 'canary' | 'stable',
  phase: number,
  intervalS: number,
  from: number,
  t: number,
): Counts {
  const c = side === 'canary' ? run.canary : run.stable;
  return countsBetween(c, lastScrape(phase, intervalS, from), lastScrape(phase, intervalS, t));
}
