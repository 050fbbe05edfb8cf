import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The W-TinyLFU store's hot paths read no module-level numeric constant once bundled. esbuild (tsup uses it for
 * dist/) turns a module's top-level `const` into a `var`, which V8 reads from the module's context on every use,
 * with a small-integer check and an untagging; the store's layout and flag constants are enums instead, which the
 * bundler inlines as literals (an evicting insert: 2,658 machine instructions with consts, 2,230 with the enums
 * alone; docs/policy-log.md, "Constants the bundle can fold"). This test bundles the store as the build does and fails
 * if a method of the policy's classes, other than the cold ones listed here, names a top-level numeric `var`, or if
 * an enum was left as an object instead of inlined.
 */
const CLASSES = ['TinyLfuStore', 'FrequencySketch', 'Ghost', 'GradientClimber', 'WindowGuards', 'ShadowLru'];
/** Methods that run once per store, per resize, per aging or per guard period, where a context read costs nothing. */
const COLD = new Set([
  'TinyLfuStore.constructor',
  'TinyLfuStore.#setCapacity',
  'TinyLfuStore.#setLimits',
  'TinyLfuStore.#applyResize',
  'TinyLfuStore.#resize',
  'FrequencySketch.ensureCapacity',
  'WindowGuards.constructor',
  'WindowGuards.#judge',
]);
const FUNCTIONS = ['hashKey', 'hashString', 'hashNumber', 'incrementAt', 'addAt', 'spread', 'rehash'];

/** The bundle of the store, as the build makes it (ESM, every import inlined), without its comments. */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../src/policy/tinylfu-store.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const text = result.outputFiles[0]?.text ?? '';
  // Block comments (esbuild writes one after each inlined enum member, and JSDoc), then whole-line comments.
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The text from the first `{` at or after `start` to the brace that closes it. */
function block(text: string, start: number): string {
  const open = text.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces after offset ${start}`);
}

/** The top-level `var`s whose value is a number: numeric literals and operators, and names already found numeric. */
function numericVars(text: string): Set<string> {
  const numeric = new Set<string>();
  for (const m of text.matchAll(/^var ([A-Za-z_$][\w$]*) = ([^;\n]+);$/gm)) {
    const init = m[2] as string;
    const names = init.match(/(?<![\w$.])[A-Za-z_$][\w$]*/g) ?? [];
    const literals = init.match(/(?<![\w$])\d[\d_]*(\.\d+)?(e[+-]?\d+)?|0x[\da-f]+/gi) ?? [];
    const onlyNumeric = /^[\s\w$.+\-*/%()<>|&^~]+$/.test(init) && names.every((n) => numeric.has(n));
    if (onlyNumeric && (literals.length > 0 || names.length > 0)) numeric.add(m[1] as string);
  }
  return numeric;
}

/** Each method of class `name` in the bundle, as `Class.method` and its body. */
function methods(text: string, name: string): [string, string][] {
  const at = text.search(new RegExp(`^var ${name} = class`, 'm'));
  if (at < 0) throw new Error(`class ${name} is not in the bundle`);
  const body = block(text, at);
  const out: [string, string][] = [];
  for (const m of body.matchAll(/^ {2}(?:static |get |set |\*)?(#?[\w$]+)\(/gm)) {
    out.push([`${name}.${m[1]}`, block(body, m.index)]);
  }
  return out;
}

/** The identifiers of `code` that name one of `names` (not property names, not private names). */
function uses(code: string, names: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/(?<![\w$.#])[A-Za-z_$][\w$]*/g)) if (names.has(m[0])) found.add(m[0]);
  return [...found];
}

describe('the store as bundled', async () => {
  const text = await bundle();
  const numeric = numericVars(text);

  it('finds what it looks for', () => {
    // The cold paths' constants stay `var`s, aliases included, so the scan sees them.
    for (const cold of ['TRANSFER_LIMIT', 'EAGER_LIMIT', 'MIN_WINDOW', 'CEILING_STEP', 'STEP_FRACTION']) {
      expect(numeric.has(cold), cold).toBe(true);
    }
    expect(numeric.has('TinyLfuStore')).toBe(false);
    expect(methods(text, 'TinyLfuStore').map(([n]) => n)).toEqual(
      expect.arrayContaining(['TinyLfuStore.get', 'TinyLfuStore.set', 'TinyLfuStore.#insertFull']),
    );
  });

  it('inlines every enum (no enum object is left in the bundle)', () => {
    // esbuild emits an enum it could not inline as `Name2[Name2["MEMBER"] = value] = "MEMBER"`.
    expect(text).not.toMatch(/([\w$]+)\[\1\["[\w$]+"\] = /);
  });

  it("reads no module-level numeric constant in the policy's methods, cold ones aside", () => {
    const offenders: string[] = [];
    const cold = new Set<string>();
    let checked = 0;
    for (const cls of CLASSES) {
      for (const [name, body] of methods(text, cls)) {
        if (COLD.has(name)) {
          cold.add(name);
          continue;
        }
        checked++;
        for (const u of uses(body, numeric)) offenders.push(`${name} reads ${u}`);
      }
    }
    for (const fn of FUNCTIONS) {
      const at = text.search(new RegExp(`^function ${fn}\\(`, 'm'));
      expect(at, `function ${fn} is in the bundle`).toBeGreaterThanOrEqual(0);
      checked++;
      for (const u of uses(block(text, at), numeric)) offenders.push(`${fn} reads ${u}`);
    }
    expect([...cold].sort(), 'every cold method listed exists').toEqual([...COLD].sort());
    expect(checked).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });
});
