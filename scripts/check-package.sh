#!/usr/bin/env bash
# Checks the packed tarball the way users get it: publint, are-the-types-wrong, and an ESM import plus a
# CommonJS require of every subpath from a scratch project.
#
# are-the-types-wrong's strict profile checks every entry point of `exports` under all four resolutions:
# node10 (`moduleResolution: node`, through `typesVersions`), node16 from CommonJS, node16 from ESM, and bundler;
# any problem fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
npx publint --strict
npx attw --pack . --profile strict
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)
cd "$scratch"
npm init -y >/dev/null
# The optional peers, so that every subpath can load (versions as in the repository's lock file).
peers=$(node -e 'const l=require(process.argv[1]); const v=n=>l.packages["node_modules/"+n].version; console.log(["ioredis","express","next","react","react-dom","@opentelemetry/api"].map(n=>n+"@"+v(n)).join(" "))' "$OLDPWD/package-lock.json")
npm install --silent --no-audit --no-fund "./$tarball" $peers >/dev/null
subpaths=$(node -e 'const e=require("./node_modules/larder/package.json").exports; console.log(Object.keys(e).filter(k=>k!=="./package.json").map(k=>k==="."?"larder":"larder/"+k.slice(2)).join(" "))')
for spec in $subpaths; do
  node --input-type=module -e "const m = await import('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports');"
  node -e "const m = require('$spec'); if (Object.keys(m).length === 0) throw new Error('$spec: no exports');"
  echo "ok: import and require of $spec"
done
node --input-type=module -e "import { Cache } from 'larder'; const c = new Cache({ max: 2 }); c.set('a', 0); if (c.get('a') !== 0) throw new Error('ESM smoke failed');"
node -e "const { Cache } = require('larder'); const c = new Cache({ max: 2 }); c.set('a', false); if (c.get('a') !== false) throw new Error('CJS smoke failed');"
npx --no-install larder-next --help >/dev/null
echo "ok: the larder-next command"
echo "package checks passed"
