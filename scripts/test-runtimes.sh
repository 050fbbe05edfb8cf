#!/usr/bin/env bash
# Runs the core smoke suite (test/runtimes/core-smoke.mjs) against the built dist/index.js on Bun and Deno, both
# installed as npm packages (devDependencies `bun` and `deno`), never downloaded by a script. Needs `npm run build`.
#
# The binaries: node_modules/.bin/bun and node_modules/.bin/deno. Deno's bin is a launcher that finds its platform
# package at run time; Bun's is a placeholder until its postinstall script has run (package.json's `allowScripts`
# approves it). When install scripts were skipped (`npm ci --ignore-scripts`, a stricter npm policy), Bun's binary is
# taken straight from its platform package (@oven/bun-<os>-<arch>/bin/bun), which is what its postinstall would do.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/index.js ] || { echo "test-runtimes: dist/index.js is missing; run npm run build first" >&2; exit 1; }

find_bun() {
  if node_modules/.bin/bun --version >/dev/null 2>&1; then echo node_modules/.bin/bun; return; fi
  for candidate in node_modules/@oven/bun-*/bin/bun; do
    if [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then echo "$candidate"; return; fi
  done
  echo "test-runtimes: no working Bun binary in node_modules (is the bun devDependency installed?)" >&2
  return 1
}

bun=$(find_bun)
deno=node_modules/.bin/deno

echo "==> Bun $("$bun" --version)"
"$bun" test/runtimes/core-smoke.mjs
# Deno resolves lru-cache from node_modules through package.json (no deno.json needed) and needs no permission
# to import local modules: the suite runs with none (--no-prompt makes a missing one an error, not a prompt).
echo "==> $("$deno" --version | head -n 1)"
"$deno" run --no-prompt test/runtimes/core-smoke.mjs
