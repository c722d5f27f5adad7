// Text from input shown on a terminal: a container name, a file name, a function name from a
// profile. Control characters in it would be interpreted by the terminal (an escape sequence can
// recolour, retitle or rewrite what is shown), so they are written as visible escapes instead.

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
