/**
 * Characters JSON.stringify leaves as they are but a terminal or viewer acts on: DEL and the C1
 * controls (U+009B starts an escape sequence like ESC [), the line and paragraph separators, and
 * format characters (bidi overrides). JSON syntax outside strings is plain ASCII, so these can
 * only sit inside strings, where `\uXXXX` means the same character.
 */
const RAW = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Pretty JSON that is safe to print: JSON.parse gives back exactly `value`, and the text holds
 * no control or format character, only their escapes (C0 controls JSON escapes itself).
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW, (char) => {
    const code = char.codePointAt(0)!;
    if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
    // Beyond the BMP (tag characters): JSON escapes a surrogate pair.
    return char
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join('');
  });
}
