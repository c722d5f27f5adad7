// Text from the input (container names, file names, function names, the command line) is data:
// it is escaped for the page it lands in, and its control characters are shown, not obeyed.

/**
 * Control and direction-override characters as escapes ("\x1b", "\u202e"): a terminal would obey
 * them and a page would hide them or reorder the text around them.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** For HTML text and attribute values: printable, and &, <, >, ", ' as entities. */
export function html(text: string): string {
  return printable(text).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** The command line as a shell would take it back: arguments with spaces or quotes single-quoted. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
