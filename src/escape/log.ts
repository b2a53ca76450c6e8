import { showControls } from './control.ts';

/**
 * One line of a CI log, safe whatever it embeds. The GitHub runner reads a process's output line
 * by line (a line ends at `\n`, `\r` or both) and runs a line as a workflow command when, after
 * leading white space, it starts with `::` (`::add-mask::`, `::stop-commands::`), or when it holds
 * `##[` anywhere (the older form). So: every line break and control character is shown as an
 * escape, a leading `::` gets a backslash, and `##[` becomes `##\[`. GitLab's collapsible sections
 * need an ESC character, which is escaped too. Our own text never starts with `::` or holds `##[`,
 * so it reads unchanged.
 */
export function logLine(text: string): string {
  return showControls(text)
    .replace(/##\[/g, '##\\[')
    .replace(/^(\s*):(?=:)/, '$1\\:');
}
