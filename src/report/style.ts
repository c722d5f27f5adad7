// Colours and emphasis for the terminal, through node:util's styleText: it leaves text plain when
// the stream is not a terminal, when NO_COLOR (or NODE_DISABLE_COLORS) is set, or when the terminal
// has no colours (Node's guess: TERM, COLORTERM, and CI set in the environment, which it takes for a
// two-colour log viewer), and colours anyway under FORCE_COLOR. `--no-color` (every command) picks
// PLAIN_STYLE instead.
import { styleText } from 'node:util';

export type StyleFormat = Parameters<typeof styleText>[0];
export type Style = (format: StyleFormat, text: string) => string;
/** One colour or modifier ('red', 'bold'). */
export type StyleName = Extract<StyleFormat, string>;

export const PLAIN_STYLE: Style = (_format, text) => text;

/** Styles for `stream`, as styleText decides for it. */
export const terminalStyle =
  (stream: NodeJS.WritableStream): Style =>
  (format, text) =>
    styleText(format, text, { stream });
