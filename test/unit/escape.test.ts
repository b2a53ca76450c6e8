import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { showControls } from '../../src/escape/control.ts';
import { htmlBlock, htmlText } from '../../src/escape/html.ts';
import { jsonText } from '../../src/escape/json.ts';
import { logLine } from '../../src/escape/log.ts';
import {
  markdownCode,
  markdownFence,
  markdownLines,
  markdownText,
} from '../../src/escape/markdown.ts';
import { plainText } from '../../src/escape/plain.ts';
import { quote } from '../../src/report/chart.ts';
import { forgedCommands, HOSTILE, HOSTILE_PIECES, TERMINAL_ACTIVE } from '../fixtures/hostile.ts';

describe('showControls', () => {
  it('writes line breaks, terminal escapes, C1 controls and bidi characters as escapes', () => {
    assert.equal(showControls('a\nb\r\nc'), 'a\\nb\\r\\nc');
    assert.equal(showControls('\u001b[31mred\u0007\b'), '\\x1b[31mred\\x07\\x08');
    assert.equal(showControls('\u009b31m\u0085'), '\\x9b31m\\x85');
    assert.equal(showControls('\u202eabc\u2028\u200b\ufeff'), '\\u202eabc\\u2028\\u200b\\ufeff');
    assert.equal(showControls('\u{e0041}'), '\\u{e0041}');
  });

  it('leaves tabs, ordinary text and emoji as they are', () => {
    const ours = 'v2 99.6% | v1 99.9%\t✅ 🚀 ⚠️ → ≤ é 日本';
    assert.equal(showControls(ours), ours);
  });
});

describe('logLine', () => {
  it('makes one line of hostile text, from which the runner reads no command', () => {
    const line = logLine(HOSTILE);
    assert.equal(line.split(/\r\n|\r|\n/).length, 1);
    assert.deepEqual(forgedCommands(line), []);
    assert.doesNotMatch(line, TERMINAL_ACTIVE);
  });

  it('breaks a leading :: (after white space too) and every ##[', () => {
    assert.equal(logLine('::error::x'), '\\::error::x');
    assert.equal(logLine('  \u3000::stop-commands::t'), '  \u3000\\::stop-commands::t');
    assert.equal(logLine('a ##[error]b ##[warning]c'), 'a ##\\[error]b ##\\[warning]c');
    assert.deepEqual(forgedCommands(logLine('\t::add-mask::FORGED')), []);
  });

  it('leaves our own sentences unchanged, colons inside included', () => {
    const ours = 'Weights set on route primary: v1 90%, v2 10%. Commit status a::b on x';
    assert.equal(logLine(ours), ours);
  });
});

describe('markdownText', () => {
  it('escapes what would make a link, an image, HTML, emphasis, code, math or a cell', () => {
    assert.equal(
      markdownText(HOSTILE_PIECES.image),
      '!\\[FORGED image\\](https://evil.example/pixel.png)',
    );
    assert.equal(
      markdownText(HOSTILE_PIECES.html),
      '\\<img src=x onerror=alert(1)\\>\\<b\\>FORGED\\</b\\>',
    );
    assert.equal(
      markdownText('*a* _b_ ~c~ `d` $e$ &amp; f|g \\h'),
      '\\*a\\* \\_b\\_ \\~c\\~ \\`d\\` \\$e\\$ \\&amp; f\\|g \\\\h',
    );
  });

  it('keeps hostile text on one line and shows its control characters', () => {
    const text = markdownText(HOSTILE);
    assert.ok(!text.includes('\n') && !text.includes('\r'));
    assert.doesNotMatch(text, TERMINAL_ACTIVE);
    assert.ok(text.includes('\\\\n::error::FORGED newline'), text);
  });

  it('leaves ordinary sentences readable', () => {
    const ours = 'old-clients still route to v1 (2 routes), p = 0.01: kept.';
    assert.equal(markdownText(ours), ours);
  });

  it('joins several texts with a line break inside one cell', () => {
    assert.equal(markdownLines(['a | b', 'c\nd']), 'a \\| b<br>c\\\\nd');
  });
});

describe('markdownCode', () => {
  it('uses a fence longer than any backtick run and escapes the cell pipe', () => {
    assert.equal(markdownCode('api|v2'), '`api\\|v2`');
    assert.equal(markdownCode('a ``b`` c'), '```a ``b`` c```');
    assert.equal(markdownCode('`x`'), '`` `x` ``');
    assert.equal(markdownCode('a\nb'), '`a\\nb`');
  });
});

describe('markdownFence', () => {
  it('keeps the body in the block: no line can close the fence', () => {
    const block = markdownFence('yaml', 'name: "```"\nx: ````\n\u001b[2J');
    const lines = block.split('\n');
    assert.equal(lines[0], '`````yaml');
    assert.equal(lines.at(-1), '`````');
    assert.equal(lines[3], '\\x1b[2J');
  });
});

describe('htmlText (HTML report)', () => {
  it('turns every character that starts markup into a reference', () => {
    assert.equal(
      htmlText(HOSTILE_PIECES.html),
      '&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;FORGED&lt;/b&gt;',
    );
    assert.equal(htmlText(`a"b'c&amp;`), 'a&quot;b&#39;c&amp;amp;');
    assert.equal(htmlText('<!-- x --><script>'), '&lt;!-- x --&gt;&lt;script&gt;');
  });

  it('keeps hostile text on one line, shows its control characters, and cannot leave an attribute', () => {
    const text = htmlText(HOSTILE);
    assert.doesNotMatch(text, /[<>"'\n\r]/);
    assert.doesNotMatch(text, TERMINAL_ACTIVE);
    assert.ok(text.includes('\\u202eFORGED reversed'), text);
    assert.ok(!/&(?!amp;|lt;|gt;|quot;|#39;)/.test(text), 'every & starts one of our references');
  });

  it('leaves our own sentences as they are', () => {
    const ours = 'v2 errors 2.6x v1 (2 of 50 vs 4 of 258), p = 0.9: watching → ≤ é';
    assert.equal(htmlText(ours), ours);
  });

  it('keeps the lines of a block and escapes each', () => {
    assert.equal(
      htmlBlock('name: <b>\r\nx: "\u001b[2J"'),
      'name: &lt;b&gt;\nx: &quot;\\x1b[2J&quot;',
    );
  });
});

describe('plainText (commit status)', () => {
  it('leaves no tag, link, image, code span or control character, on one line', () => {
    const text = plainText(HOSTILE);
    assert.doesNotMatch(text, /[<>[\]`\n\r]/);
    assert.doesNotMatch(text, TERMINAL_ACTIVE);
    assert.ok(text.includes('(FORGED link)(https://evil.example/approve)'));
  });

  it('leaves our own descriptions as they are', () => {
    const ours = 'Rolled back from 10%: v2 success 92.1%, p99 84ms, 312 req';
    assert.equal(plainText(ours), ours);
  });
});

describe('jsonText', () => {
  it('parses back to the same value and holds no raw control, C1 or bidi character', () => {
    const value = { route: HOSTILE, [HOSTILE]: ['\u007f', '\u{e0041}'] };
    const text = jsonText(value);
    assert.deepEqual(JSON.parse(text), value);
    assert.doesNotMatch(text, TERMINAL_ACTIVE);
    assert.ok(text.includes('\\u009b') && text.includes('\\u202e') && text.includes('\\u2028'));
  });
});

describe('Mermaid quote', () => {
  it('keeps names and numbers, and nothing that could end the string or the statement', () => {
    assert.equal(
      quote('Success rate: v2 (canary) vs v1 (stable)'),
      '"Success rate: v2 (canary) vs v1 (stable)"',
    );
    assert.equal(quote('1m30s'), '"1m30s"');
    const hostile = quote(HOSTILE);
    assert.match(hostile, /^"[^"\n\r<>`;]*"$/u);
    assert.doesNotMatch(hostile, TERMINAL_ACTIVE);
  });
});
