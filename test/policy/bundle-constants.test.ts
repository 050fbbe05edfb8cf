import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The W-TinyLFU store's hot paths read no module-level numeric constant once bundled. esbuild (tsup uses it for
 * dist/) turns a module's top-level `const` into a `var`, which V8 reads from the module's context on every use,
 * with a small-integer check and an untagging; the store's layout and flag constants are enums instead, which the
 * bundler inlines as literals (an evicting insert: 2,658 machine instructions with consts, 2,230 with enums;
 * docs/policy.md, "Constants the bundle can fold"). This test bundles the store as the build does and fails if a
 * hot method names a top-level numeric `var`.
 */
const HOT_METHODS = [
  // TinyLfuStore: the hit path, the insert path and what they call.
  'get',
  'set',
  '#insert',
  '#insertFull',
  '#enter',
  '#rotateWindow',
  '#steadyVictim',
  '#admit',
  '#victimHash',
  '#hashOf',
  '#ghostVote',
  '#flush',
  '#flushHits',
  '#touch',
  '#deferHit',
  '#applyReads',
  '#swap',
  // FrequencySketch, Ghost.
  'frequency',
  'increment',
  'add',
  'record',
  'vote',
  '#bucket',
];
const HOT_FUNCTIONS = ['hashKey', 'hashString', 'incrementAt', 'addAt'];

/** The bundle of the store, as the build makes it (ESM, every import inlined). */
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
  return result.outputFiles[0]?.text ?? '';
}

/** The text from `start` to the brace that closes the first `{` after it. */
function bodyFrom(text: string, start: number): string {
  const open = text.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces after offset ${start}`);
}

/** Every definition of a method or function called `name` in the bundle, as text. */
function definitions(text: string, name: string, method: boolean): string[] {
  const escaped = name.replace(/[#$]/g, '\\$&');
  const pattern = method
    ? new RegExp(`^ {2}${escaped}\\(`, 'gm')
    : new RegExp(`^function ${escaped}\\(`, 'gm');
  return [...text.matchAll(pattern)].map((m) => bodyFrom(text, m.index));
}

/** The identifiers of `code` that name one of `names` (not property names, not private names). */
function uses(code: string, names: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/(?<![\w$.#])[A-Za-z_$][\w$]*/g)) if (names.has(m[0])) found.add(m[0]);
  return [...found];
}

describe('the store as bundled', () => {
  it('reads no module-level numeric constant on its hot paths', async () => {
    const text = await bundle();
    const numeric = new Set(
      [...text.matchAll(/^var ([A-Za-z_$][\w$]*) = [-+*/()<>\d.xXa-fA-F_\s]+;$/gm)].map(
        (m) => m[1] as string,
      ),
    );
    // The check can see what it looks for: the bundle does keep numeric constants of the cold paths as `var`s.
    expect(numeric.has('TRANSFER_LIMIT')).toBe(true);
    const offenders: string[] = [];
    let checked = 0;
    for (const [names, method] of [
      [HOT_METHODS, true],
      [HOT_FUNCTIONS, false],
    ] as const) {
      for (const name of names) {
        const bodies = definitions(text, name, method);
        expect(bodies.length, `${name} is defined in the bundle`).toBeGreaterThan(0);
        for (const body of bodies) {
          checked++;
          for (const u of uses(body, numeric)) offenders.push(`${name} reads ${u}`);
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(HOT_METHODS.length + HOT_FUNCTIONS.length);
    expect(offenders).toEqual([]);
  });
});
