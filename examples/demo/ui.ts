/** Terminal output for the demo: colours when the terminal takes them, a progress bar, aligned tables. */

const tty = process.stdout.isTTY === true;
const color = tty && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';

const paint = (code: string) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
/** Styles. */
export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');
export const cyan = paint('36');

/** Whether output lines are printed (`--json` prints only the summary line). */
let quiet = false;
/** Turns human output off or on. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Prints a line. */
export function say(text = ''): void {
  if (!quiet) process.stdout.write(`${text}\n`);
}

/** `1234` → `1,234`. */
export function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** `0.912` → `91.2%`. */
export function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** Milliseconds as `850 ms`, `10 s` or `4.9 s` (`digits` decimals of seconds). */
export function ms(value: number, digits = 1): string {
  if (value < 1000) return `${Math.round(value)} ms`;
  return value % 1000 === 0 ? `${value / 1000} s` : `${(value / 1000).toFixed(digits)} s`;
}

/** Pads for tables (visible length, ignoring colour codes). */
export function pad(text: string, width: number, right = false): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const visible = text.replace(/\u001b\[[0-9;]*m/g, '').length;
  const fill = ' '.repeat(Math.max(0, width - visible));
  return right ? fill + text : text + fill;
}

/** A progress bar on one line, redrawn in place on a terminal, printed once when done elsewhere. */
export class Progress {
  #done = 0;
  #last = 0;
  readonly #started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {
    this.#draw(false);
  }

  tick(): void {
    this.#done++;
    const now = Date.now();
    if (now - this.#last >= 50) {
      this.#last = now;
      this.#draw(false);
    }
  }

  finish(): number {
    const elapsed = Date.now() - this.#started;
    this.#done = this.total;
    this.#draw(true);
    return elapsed;
  }

  #draw(final: boolean): void {
    if (quiet || (!tty && !final)) return;
    const width = 30;
    const filled = Math.round((this.#done / this.total) * width);
    const bar = `${'█'.repeat(filled)}${dim('░'.repeat(width - filled))}`;
    const count = `${pad(n(this.#done), n(this.total).length, true)}/${n(this.total)}`;
    const line = `   ${pad(this.label, 16)} ${bar} ${count}`;
    process.stdout.write(tty ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
  }
}
