/**
 * The benchmark: seeded simulated traffic read through a modelled Prometheus, every method on the
 * same runs, one table per scenario, the e-process candidates, and the simulation goals.
 * `node bench/run.ts [--runs-null N] [--runs-alt N] [--seed N] [--interval-s S] [--poll-s S]
 * [--query-s S] [--restore-s S] [--only id,id]`. Prints Markdown; writes bench/out/results.json
 * and bench/out/results.md. The method is described in docs/analysis.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FACTORS, SCENARIOS, runScenario } from './benchmark.ts';
import type { BenchConfig, ScenarioResult } from './benchmark.ts';
import { allMethods, scrapeFollowerDelay, checkerDelay } from './methods.ts';
import { OURS, candidatesTable, goals, goalsMarkdown, scenarioTable } from './report.ts';

function positive(name: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be a ${integer ? 'whole ' : ''}number >= 0; got "${value}"`);
  }
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'runs-null': { type: 'string', default: '3000' },
      'runs-alt': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      'interval-s': { type: 'string', default: '30' },
      'poll-s': { type: 'string', default: '1' },
      'query-s': { type: 'string', default: '0.05' },
      'restore-s': { type: 'string', default: '0.1' },
      only: { type: 'string' },
    },
  });
  const config: BenchConfig = {
    runsNull: positive('runs-null', values['runs-null'], true),
    runsAlt: positive('runs-alt', values['runs-alt'], true),
    seed: positive('seed', values.seed, true),
    intervalS: positive('interval-s', values['interval-s'], true),
    timing: {
      pollS: positive('poll-s', values['poll-s'], false),
      queryS: positive('query-s', values['query-s'], false),
      restoreS: positive('restore-s', values['restore-s'], false),
    },
  };
  const only = values.only?.split(',');
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id));
  const started = performance.now();
  const results: ScenarioResult[] = [];
  scenarios.forEach((s) => {
    const t0 = performance.now();
    results.push(runScenario(s, SCENARIOS.indexOf(s), config));
    console.error(`${s.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
  const seconds = (performance.now() - started) / 1000;
  const oursLabel = allMethods(config.intervalS).find((m) => m.id === OURS)!.label;
  const checked = goals(results);
  const t = config.timing;
  const md = [
    `## Benchmark: canary analysis methods on simulated traffic`,
    '',
    `Seed ${config.seed}; ${config.runsNull} runs at k = 1, ${config.runsAlt} at each other k; the same ` +
      `traffic for every method. Times run from the weight change to the restored route: evidence ` +
      `arrives with the scrapes (each version's pods at a phase of their own); a method following ` +
      `the scrapes acts ${scrapeFollowerDelay(t).toFixed(2)} s after one lands (half a ${t.pollS} s ` +
      `poll, a ${t.queryS} s query, a ${t.restoreS} s restore), a scheduled check ` +
      `${checkerDelay(t).toFixed(2)} s after it runs. The sequential loop's interval is ` +
      `${config.intervalS} s. Run time ${seconds.toFixed(1)} s.`,
    '',
    ...results.map(scenarioTable),
    ...results.map((r) => candidatesTable(r, FACTORS)).filter((x) => x !== ''),
    goalsMarkdown(checked, oursLabel),
  ].join('\n');
  console.log(md);
  const out = join(dirname(fileURLToPath(import.meta.url)), 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'results.json'),
    JSON.stringify({ config, seconds, scenarios, results, goals: checked }, null, 2),
  );
  writeFileSync(join(out, 'results.md'), md);
}

main();
