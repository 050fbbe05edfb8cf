/**
 * Next.js 15 for the tests: the devDependency `next15` (npm:next@15) as a package named `next` inside a
 * fixture app (`<app>/node_modules/next`, a hard-linked copy, ignored by git). Next.js finds its own files
 * through the package name and directory name `next`, so the alias folder cannot run an app as is; with the copy,
 * the app and Next.js itself resolve `next` to Next.js 15, while React and the rest come from the root.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function version(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Installs Next.js 15 into `app` (once; safe when several test runs do it at once) and returns its binary. */
export function next15Bin(app: string): string {
  const source = join(root, 'node_modules', 'next15');
  const wanted = version(source);
  if (wanted === undefined) throw new Error('node_modules/next15 is missing: run npm ci');
  const target = join(app, 'node_modules', 'next');
  if (version(target) !== wanted) {
    const temp = `${target}.${process.pid}.tmp`;
    rmSync(temp, { recursive: true, force: true });
    try {
      // Hard links: fast and no extra disk (cp -al); a plain copy where links are not possible.
      execFileSync('cp', ['-al', source, temp], { stdio: 'ignore' });
    } catch {
      cpSync(source, temp, { recursive: true });
    }
    if (version(target) !== wanted) {
      rmSync(target, { recursive: true, force: true });
      try {
        renameSync(temp, target);
      } catch {
        // another run installed it meanwhile
      }
    }
    rmSync(temp, { recursive: true, force: true });
  }
  const bin = join(target, 'dist', 'bin', 'next');
  if (!existsSync(bin)) throw new Error(`no Next.js 15 binary at ${bin}`);
  return bin;
}
