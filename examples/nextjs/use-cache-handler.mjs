// Next.js's cacheHandlers ('use cache'), shared by every instance through Redis.
// next.config.ts uses it only when REDIS_URL is set.
import { createUseCacheHandler } from 'larder/next';

export default createUseCacheHandler({ redisUrl: process.env.REDIS_URL });
