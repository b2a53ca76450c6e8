import { CHART_COLOURS } from './chart.ts';

/**
 * The report's style sheet, inline so that the file stands alone (an artifact opened from a CI
 * job has no server beside it). System fonts only: nothing is fetched.
 */
export const HTML_STYLE = `
:root {
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --canary: ${CHART_COLOURS.canary}; --stable: ${CHART_COLOURS.stable};
  --pass: #1a7f37; --fail: #c92a2a; --warn: #9a6700; --info: #0969da;
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--ink); background: #fff; overflow-wrap: break-word;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1080px; margin: 0 auto; padding: 28px 28px 48px; }
h1 { font-size: 26px; line-height: 1.25; margin: 6px 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
p { margin: 0 0 10px; }
code, pre, .num { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code { font-size: 13px; background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; overflow-wrap: anywhere; }
.num { font-size: 13px; white-space: nowrap; }
section { border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 18px 0; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
header.outcome { border-left: 6px solid var(--info); padding: 4px 0 4px 18px; margin-bottom: 8px; }
header.passed { border-color: var(--pass); }
header.rolled-back { border-color: var(--fail); }
header.noop { border-color: var(--muted); }
header.dry-run { border-color: var(--warn); }
.kicker { font-size: 13px; color: var(--muted); margin: 0; letter-spacing: .02em; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; border-radius: 999px; padding: 2px 10px; color: #fff; background: var(--info); vertical-align: middle; }
.badge.passed, .badge.shown-no-worse { background: var(--pass); }
.badge.rolled-back { background: var(--fail); }
.badge.noop, .badge.no-data { background: var(--muted); }
.badge.dry-run, .badge.inconclusive { background: var(--warn); }
.callout { border-radius: 8px; padding: 14px 18px; margin: 18px 0; background: #fff5f5; border: 1px solid #ffc9c9; }
.callout.why { background: var(--soft); border-color: var(--line); }
.callout h2 { margin-bottom: 6px; }
.callout p:last-child { margin-bottom: 0; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px 18px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
ol.stages { list-style: none; display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 0; margin: 0 0 14px; }
ol.stages li { display: flex; align-items: center; gap: 6px; }
ol.stages li + li::before { content: "\\2192"; color: var(--muted); }
.stage { border: 2px solid var(--line); border-radius: 8px; padding: 4px 12px; text-align: center; min-width: 88px; }
.stage strong { display: block; font-size: 18px; }
.stage span { font-size: 12px; color: var(--muted); }
.stage.passed { border-color: var(--pass); }
.stage.passed span { color: var(--pass); }
.stage.failed { border-color: var(--fail); background: #fff5f5; }
.stage.failed span { color: var(--fail); font-weight: 600; }
.stage.not-reached, .stage.planned { border-style: dashed; }
.stage.restored { border-color: var(--muted); background: var(--soft); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: var(--soft); white-space: nowrap; }
td.r, th.r { text-align: right; }
tr.warm-up td { color: var(--muted); }
tr.failed td { background: #fff5f5; }
.verdict { font-weight: 600; white-space: nowrap; }
.verdict.pass { color: var(--pass); }
.verdict.fail { color: var(--fail); }
.verdict.other { color: var(--muted); }
.meter { display: inline-block; width: 120px; height: 8px; border-radius: 4px; background: #eaeef2; vertical-align: middle; overflow: hidden; }
.meter i { display: block; height: 100%; background: var(--info); }
.meter i.full { background: var(--fail); }
.conclusion { font-size: 16px; margin-bottom: 12px; }
.warning { color: var(--warn); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; color: var(--muted); margin: 0 0 6px; padding: 0; list-style: none; }
.legend svg { vertical-align: middle; margin-right: 4px; }
.chart { width: 100%; height: auto; display: block; }
.chart text { font-size: 12px; fill: var(--muted); font-family: inherit; }
.chart .tick-y { text-anchor: end; dominant-baseline: middle; }
.chart .tick-x { text-anchor: middle; }
.chart .band { fill: #f6f8fa; }
.chart .band-alt { fill: #eef1f4; }
.chart .band-label { font-weight: 600; fill: var(--ink); }
.chart .band-edge { stroke: #afb8c1; stroke-dasharray: 3 3; }
.chart .grid { stroke: #d8dee4; stroke-width: 1; }
.chart .axis { stroke: #8c959f; stroke-width: 1; }
.chart .guide { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 6 4; }
.chart .guide-label { fill: var(--fail); text-anchor: start; }
.chart .line { fill: none; stroke-linejoin: round; stroke-linecap: round; }
.chart .line-stable { stroke-width: 6; stroke-opacity: .35; }
.chart .line-canary { stroke-width: 2.5; }
.chart .mark { stroke-width: 2; }
.chart .failed-ring { fill: none; stroke-width: 2.5; }
.charts { display: grid; gap: 18px; }
pre { font-size: 12px; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; margin: 0; }
.plan { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
footer { color: var(--muted); font-size: 13px; margin-top: 28px; overflow-wrap: anywhere; }
@media (max-width: 600px) { main { padding: 16px 12px 32px; } section { padding: 14px 12px; } }
`;
