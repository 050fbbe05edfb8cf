/**
 * Gives `String.prototype` its fast properties back after ioredis has been loaded.
 *
 * ioredis declares `class VerbatimString extends String`, and V8 turns an object into a dictionary (slow
 * properties) when it becomes the prototype of a class. V8 makes such a prototype fast again only when a
 * property access on an object walks through it, which never happens to `String.prototype`: string methods
 * are called on primitive strings. Left slow, every `str.method()` in optimized code is a generic lookup
 * instead of a known function, in the whole process: in `next start`, Next.js's ETag hash (a `charCodeAt`
 * loop over each page) ran 4-5 times slower and a cached page's throughput fell by a third. A property
 * store on a `String` wrapper object makes V8 migrate the prototype back to fast properties, for good
 * (it stays fast when a class extends `String` again). Costs next to nothing, and nothing changes when the
 * prototype is already fast; no property is added to `String.prototype` itself.
 *
 * @internal
 */
export function restoreStringPrototype(): void {
  const wrapper = Object('') as { larder?: number };
  wrapper.larder = 1;
}
