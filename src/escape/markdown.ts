import { showControls } from './control.ts';

/**
 * Escapers for GitHub-flavoured Markdown (the job summary). Text from the cluster or Prometheus
 * must read as text: no link, image, HTML tag, emphasis, heading, table cell or line of its own.
 */

/**
 * The characters that start inline syntax when text sits in the middle of one of our lines (never
 * at a line start, so no heading, list or block can begin): the backslash itself, code spans,
 * emphasis and strikethrough, links, images and footnotes (`[`), HTML, autolinks and entities,
 * math, table pipes. CommonMark renders a backslash before any of them as the character itself.
 * A bare URL stays what it is, visible as itself.
 */
const SYNTAX = /[\\`*_~[\]<>&$|]/g;

/** Text for a paragraph, a quote or a table cell: one line, shown exactly as written. */
export function markdownText(text: string): string {
  return showControls(text).replace(SYNTAX, '\\$&');
}

/** Several texts in one table cell, one per visual line. */
export function markdownLines(lines: readonly string[]): string {
  return lines.map(markdownText).join('<br>');
}

/**
 * Inline code, shown exactly: the fence is longer than any backtick run inside, and a `|` is
 * escaped because GitHub's tables split cells on it even inside code.
 */
export function markdownCode(text: string): string {
  const body = showControls(text).replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || body.trim() === '' ? ' ' : '';
  return `${ticks}${pad}${body}${pad}${ticks}`;
}

/**
 * A fenced block whose fence is longer than any backtick run inside it, so no line of the body
 * can close it. Line breaks are kept (the body is ours, one YAML or Mermaid statement a line);
 * other control characters are shown as escapes.
 */
export function markdownFence(lang: string, body: string): string {
  const lines = body.split('\n').map(showControls);
  const longest = Math.max(2, ...lines.flatMap((l) => l.match(/`+/g) ?? []).map((r) => r.length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${lines.join('\n')}\n${ticks}`;
}
