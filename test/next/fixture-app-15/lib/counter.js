// Render counters of this process (globalThis: shared by every bundle of the server).
export function bump(name) {
  globalThis.__fixtureCounts ??= {};
  globalThis.__fixtureCounts[name] = (globalThis.__fixtureCounts[name] ?? 0) + 1;
  return globalThis.__fixtureCounts[name];
}

export function counts() {
  return globalThis.__fixtureCounts ?? {};
}

export function instance() {
  return process.env.INSTANCE_NAME ?? 'build';
}
