/**
 * A short plain-text field that GitHub shows as text but other tools (chat notifications, bots,
 * dashboards) may render as Markdown or HTML: the commit status description. Escapes would show
 * there, so characters are replaced instead: line breaks and tabs by a space, other control and
 * format characters dropped, `<` `>` by `‹` `›` (no tag, no autolink), `[` `]` by `(` `)` (no
 * link, no image) and a backtick by an apostrophe (no code span). Our own sentences use none.
 */
export function plainText(text: string): string {
  return text
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]+/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/\[/g, '(')
    .replace(/\]/g, ')')
    .replace(/`/g, "'")
    .replace(/ {2,}/g, ' ')
    .trim();
}
