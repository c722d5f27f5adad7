// Text from the input (container names, file names, function names, the command line) is data:
// it is escaped for the page or terminal it lands in, and its control characters are shown, not
// obeyed (an escape sequence can recolour, retitle or rewrite a terminal).

/**
 * `text` with every control character escaped: C0 (tab and newline included) and DEL as \xNN, C1
 * and the Unicode bidirectional controls (which reorder what a terminal shows, "Trojan Source")
 * as \u{NNNN}. Everything else is unchanged. `keepNewlines` leaves \n alone, for messages that
 * are several lines on purpose (usage text).
 */
export function printable(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? UNSAFE_BUT_NEWLINE : UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** For HTML text and attribute values: printable, and &, <, >, ", ' as entities. */
export function html(text: string): string {
  return printable(text).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** The command line as a shell would take it back: arguments with spaces or quotes single-quoted. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
