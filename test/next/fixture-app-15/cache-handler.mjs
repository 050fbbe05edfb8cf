// LARDER_NEXT_ENTRY lets the e2e test load a fresh bundle of src/next; an app imports 'larder/next'.
const { createIncrementalCacheHandler } = await import(
  /* webpackIgnore: true */ /* turbopackIgnore: true */ process.env.LARDER_NEXT_ENTRY || 'larder/next'
);

export default createIncrementalCacheHandler({
  redisUrl: process.env.REDIS_URL,
  prefix: process.env.LARDER_PREFIX,
  distDir: process.env.LARDER_NEXT_DIST_DIR || '.next',
});
