import { showControls } from './control.ts';

/**
 * Escapers for the HTML report. Text from the cluster or Prometheus must show as text: no tag,
 * attribute, entity, comment or script can start from it, inside an element or inside a quoted
 * attribute value, in HTML or in the inline SVG (the HTML parser reads both the same way).
 */

const SPECIAL: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text for an element's content or a double- or single-quoted attribute value, on one line:
 * `&`, `<`, `>` and both quotes become references, and line breaks, terminal escapes and bidi or
 * zero-width characters show as escapes a person can read (`\n`, `\x1b`, `\u202e`), so a name
 * can neither break the layout nor read backwards.
 */
export function htmlText(text: string): string {
  return escapeSpecial(showControls(text));
}

/**
 * Text for a `<pre>` block that keeps its line breaks (a YAML plan): each line is escaped as
 * {@link htmlText} does, and the lines are joined with `\n` again.
 */
export function htmlBlock(text: string): string {
  return text
    .split(/\r\n|\n/)
    .map(htmlText)
    .join('\n');
}

function escapeSpecial(text: string): string {
  return text.replace(/[&<>"']/g, (char) => SPECIAL[char]);
}
