// Next.js's cacheHandler (ISR, route handlers, the fetch cache), shared by every instance through Redis.
// next.config.ts uses it only when REDIS_URL is set.
import { createIncrementalCacheHandler } from 'larder/next';

export default createIncrementalCacheHandler({ redisUrl: process.env.REDIS_URL });
