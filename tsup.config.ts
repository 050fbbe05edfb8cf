import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

// One entry per subpath export; each integration is its own folder under src/.
const subpaths = ['compat', 'redis', 'express', 'next', 'otel'].filter((name) =>
  existsSync(`src/${name}/index.ts`),
);

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    ...Object.fromEntries(subpaths.map((name) => [`${name}/index`, `src/${name}/index.ts`])),
    // The `larder-next` command (package.json `bin` points at its ESM build).
    ...(existsSync('src/next/cli.ts') ? { 'next/cli': 'src/next/cli.ts' } : {}),
  },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false } },
  tsconfig: 'tsconfig.build.json',
  clean: true,
  sourcemap: true,
  target: 'es2022',
  splitting: true, // one copy of the core shared by every subpath (ESM and CJS)
  treeshake: true,
  external: ['ioredis', 'express', 'next', 'lru-cache', '@opentelemetry/api'],
});
