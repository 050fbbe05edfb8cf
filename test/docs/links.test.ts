import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorsOf, danglingLinks, headingSlug, markdownFiles } from './markdown-links.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('Markdown links', () => {
  it('every local link of README, CHANGELOG and docs/ leads to a file and a heading that exist', () => {
    const files = markdownFiles(ROOT);
    expect(files.map((f) => f.slice(ROOT.length + 1))).toEqual(
      expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/policy.md', 'docs/policy-log.md']),
    );
    const { checked, dangling } = danglingLinks(ROOT, files);
    expect(checked).toBeGreaterThan(50);
    expect(dangling).toEqual([]);
  });

  it('finds a missing file, a missing heading and a link into a code span or block it must not read', () => {
    const root = mkdtempSync(join(tmpdir(), 'larder-links-'));
    mkdirSync(join(root, 'docs'));
    writeFileSync(
      join(root, 'docs', 'b.md'),
      '# B\n\n## Where it stands (issue 18)\n\n## Where it stands (issue 18)\n',
    );
    writeFileSync(
      join(root, 'README.md'),
      [
        '[ok](docs/b.md#where-it-stands-issue-18) [ok too](docs/b.md#where-it-stands-issue-18-1)',
        '[gone](docs/missing.md) [no heading](docs/b.md#where-it-stands) [self](#a-title)',
        '`[code](docs/none.md)` [web](https://example.com/x.md#y)',
        '```',
        '[fenced](docs/none.md)',
        '```',
        '# A title',
      ].join('\n'),
    );
    const { checked, dangling } = danglingLinks(root, markdownFiles(root));
    expect(checked).toBe(5);
    expect(dangling.map((d) => `${d.where} ${d.target}`)).toEqual([
      'README.md:2 docs/missing.md',
      'README.md:2 docs/b.md#where-it-stands',
    ]);
  });

  it('slugs headings as GitHub does', () => {
    expect(headingSlug("The window's floor (2026-12-06)")).toBe('the-windows-floor-2026-12-06');
    expect(headingSlug("Lazy promotion in the store (`TinyLfuTuning.promotion: 'lazy'`)")).toBe(
      'lazy-promotion-in-the-store-tinylfutuningpromotion-lazy',
    );
    expect([...anchorsOf('# X\n## X\n<a id="here"></a>')]).toEqual(['x', 'x-1', 'here']);
  });
});
