const CODES: Record<string, string> = {
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
};

/** Wraps `text` in an ANSI colour when `on` (a TTY without NO_COLOR). */
export function paint(text: string, color: string, on: boolean): string {
  return on && CODES[color] ? `${CODES[color]}${text}\x1b[0m` : text;
}
