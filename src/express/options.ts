/**
 * Validation of `cacheResponses`' arguments: every mistake is a TypeError/RangeError naming the option, at setup.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { describe, toMs } from '../duration.js';
import { defaultKey } from './request-key.js';
import type { CacheableRequest, CacheResponsesOptions, ResponseCache } from './types.js';

const OPTION_KEYS = ['key', 'varyByUser', 'ttl', 'staleIfError', 'tags', 'maxBodySize', 'onError'];

/** The options of `cacheResponses`, checked, with defaults applied and durations in milliseconds. */
export interface MiddlewareConfig {
  readonly key: (req: CacheableRequest) => string | undefined;
  readonly varyByUser: ((req: CacheableRequest) => string | undefined) | undefined;
  /** Fresh for this long (ms); `undefined`: the cache's `ttl`. */
  readonly ttl: number | undefined;
  /** After `ttl`, how long (ms) a stored answer may stand in for a failure; 0: never. */
  readonly staleIfError: number;
  readonly tags:
    | readonly string[]
    | ((req: CacheableRequest, res: ServerResponse) => readonly string[])
    | undefined;
  readonly maxBodySize: number;
  readonly onError: (error: unknown, req: CacheableRequest) => void;
}

/** Checks the cache and the options; returns the configuration. */
export function checkOptions(cache: ResponseCache, options: CacheResponsesOptions): MiddlewareConfig {
  if (
    typeof cache !== 'object' ||
    cache === null ||
    typeof cache.get !== 'function' ||
    typeof cache.set !== 'function' ||
    typeof cache.delete !== 'function'
  ) {
    throw new TypeError(
      `cacheResponses: cache must be a larder Cache (get/set/delete); got ${describe(cache)}`,
    );
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`cacheResponses: options must be an object; got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_KEYS.includes(name)) {
      throw new TypeError(
        `cacheResponses: unknown option ${JSON.stringify(name)} (known: ${OPTION_KEYS.join(', ')})`,
      );
    }
  }
  const key = options.key ?? defaultKey;
  if (typeof key !== 'function')
    throw new TypeError(`cacheResponses: options.key must be a function; got ${describe(key)}`);
  const { varyByUser, tags } = options;
  const onError = options.onError ?? ignore;
  if (typeof onError !== 'function') {
    throw new TypeError(`cacheResponses: options.onError must be a function; got ${describe(onError)}`);
  }
  if (varyByUser !== undefined && typeof varyByUser !== 'function') {
    throw new TypeError(`cacheResponses: options.varyByUser must be a function; got ${describe(varyByUser)}`);
  }
  if (tags !== undefined && typeof tags !== 'function') {
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag === '')) {
      throw new TypeError(
        `cacheResponses: options.tags must be an array of non-empty strings or a function; got ${describe(tags)}`,
      );
    }
  }
  const ttl =
    options.ttl === undefined ? undefined : toMs(options.ttl, 'cacheResponses: options.ttl', false, true);
  const staleIfError =
    options.staleIfError === undefined
      ? 0
      : toMs(options.staleIfError, 'cacheResponses: options.staleIfError', true);
  if (staleIfError > 0 && (ttl === undefined || ttl === Number.POSITIVE_INFINITY)) {
    throw new TypeError(
      'cacheResponses: options.staleIfError needs a finite options.ttl (the time the answer is fresh)',
    );
  }
  const maxBodySize = options.maxBodySize ?? 1024 * 1024;
  if (typeof maxBodySize !== 'number' || !Number.isInteger(maxBodySize) || maxBodySize < 0) {
    throw new RangeError(
      `cacheResponses: options.maxBodySize must be a non-negative integer of bytes; got ${describe(maxBodySize)}`,
    );
  }
  return {
    key,
    varyByUser,
    ttl,
    staleIfError,
    tags: Array.isArray(tags) ? Object.freeze([...tags]) : tags,
    maxBodySize,
    onError,
  };
}

function ignore(): void {}
