import { printable } from '../../../src/report/escape.ts';

describe('printable', () => {
  it('leaves ordinary text, accents and emoji alone', () => {
    expect(printable('web-1 (Köln) 🚀 /docker/abc')).toBe('web-1 (Köln) 🚀 /docker/abc');
  });

  it('escapes C0, DEL, C1 and bidirectional controls', () => {
    expect(printable('a\x1b[31mred\x07\x7f\u009b')).toBe('a\\x1b[31mred\\x07\\x7f\\u{9b}');
    expect(printable('evil\u202eexe.txt')).toBe('evil\\u{202e}exe.txt');
    expect(printable('two\nlines\tand\r')).toBe('two\\x0alines\\x09and\\x0d');
  });

  it('keeps newlines on request (usage text), escaping the rest', () => {
    expect(printable('line 1\nline\x1b 2', true)).toBe('line 1\nline\\x1b 2');
  });
});
