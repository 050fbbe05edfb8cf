import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextTagsManifest } from '../../src/next/next-manifest.js';

/** A fake Next.js package whose tags manifest module exports `body`; returns the path of its binary. */
function fakeNext(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'larder-fake-next-'));
  dirs.push(dir);
  const lib = join(dir, 'node_modules', 'next', 'dist', 'server', 'lib', 'incremental-cache');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'tags-manifest.external.js'), body);
  const bin = join(dir, 'node_modules', 'next', 'dist', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'next'), '');
  return join(bin, 'next');
}

const dirs: string[] = [];
const argv1 = process.argv[1];

describe('the Next.js tags manifest larder keeps in step', () => {
  afterEach(() => {
    process.argv[1] = argv1 as string;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("is the running server's own (the Next.js binary's package), with Next.js 16's records", () => {
    process.argv[1] = fakeNext(
      'exports.tagsManifest = new Map([["mine", {}]]); exports.areTagsExpired = () => false;',
    );
    expect(nextTagsManifest()?.has('mine')).toBe(true);
  });

  it("is left alone on Next.js 15 (one time per tag, not Next.js 16's records)", () => {
    process.argv[1] = fakeNext('exports.tagsManifest = new Map(); exports.isStale = () => false;');
    expect(nextTagsManifest()).toBeUndefined();
  });
});
