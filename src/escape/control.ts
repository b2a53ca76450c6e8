/**
 * Characters that act on whatever displays them instead of showing: C0 controls (line breaks,
 * ESC, BEL, backspace; tab excepted), DEL, C1 controls (CSI, NEL), the Unicode line and paragraph
 * separators, and format characters (bidi overrides, zero-width characters), which reorder or
 * hide text. A value read from the cluster or Prometheus may hold any of them.
 */
const ACTIVE = /(?!\t)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r' };

/**
 * The text with every active character written as an escape a person can read (`\n`, `\r`,
 * `\x1b`, `\u202e`): it shows what the value holds, and can end no line and move no cursor.
 */
export function showControls(text: string): string {
  return text.replace(ACTIVE, (char) => NAMED[char] ?? codeEscape(char));
}

/** True when the text holds an active character (see {@link showControls}). */
export function hasControls(text: string): boolean {
  return new RegExp(ACTIVE.source, 'u').test(text);
}

function codeEscape(char: string): string {
  const code = char.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}
