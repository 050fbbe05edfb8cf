/**
 * Finds the local links of the project's Markdown files (README, CHANGELOG, docs/) that lead nowhere: a linked
 * `.md` file that does not exist, or an `#anchor` that no heading of the target has (GitHub's heading slugs).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** A link that leads nowhere. */
export interface DanglingLink {
  /** `file:line` of the link, relative to the root. */
  where: string;
  /** The link's target as written. */
  target: string;
  /** What is missing. */
  reason: string;
}

/** The Markdown files checked: the root's, and docs/ recursively (not docs/api, which typedoc generates). */
export function markdownFiles(root: string): string[] {
  const out = readdirSync(root)
    .filter((f) => f.endsWith('.md') && statSync(join(root, f)).isFile())
    .map((f) => join(root, f));
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && relative(root, p) !== join('docs', 'api')) walk(p);
      } else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  return out.sort();
}

/** The lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      const mark = m[1] as string;
      if (fence === undefined) fence = mark;
      else if (mark[0] === fence[0] && mark.length >= fence.length) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's slug of a heading: its text, lower-case, punctuation other than `-` and `_` dropped, spaces to `-`. */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/\s+#+\s*$/, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown text: heading slugs (a repeated slug gets `-1`, `-2`, …) and `<a id>`/`<a name>`. */
export function anchorsOf(text: string): Set<string> {
  const set = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(text)) {
    const h = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      const base = headingSlug(h[1] as string);
      const k = seen.get(base) ?? 0;
      seen.set(base, k + 1);
      set.add(k === 0 ? base : `${base}-${k}`);
    }
    for (const a of line.matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)=["']([^"']+)["']/gi)) set.add(a[1] as string);
  }
  return set;
}

/** The link targets of a Markdown text (inline links and reference definitions), outside code. */
export function linksOf(text: string): { n: number; target: string }[] {
  const out: { n: number; target: string }[] = [];
  for (const { line, n } of proseLines(text)) {
    const prose = line.replace(/(`+)[\s\S]*?\1/g, (m) => ' '.repeat(m.length));
    for (const m of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+["'(][^)]*)?\)/g)) {
      out.push({ n, target: (m[1] as string).replace(/^<|>$/g, '') });
    }
    const ref = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (ref) out.push({ n, target: (ref[1] as string).replace(/^<|>$/g, '') });
  }
  return out;
}

/**
 * Every local link of `files` to a `.md` file or an anchor that leads nowhere; URLs and links to other kinds of
 * file are not checked. Also returns how many links were checked.
 */
export function danglingLinks(
  root: string,
  files: readonly string[],
): { checked: number; dangling: DanglingLink[] } {
  const anchors = new Map<string, Set<string>>();
  const anchorsFor = (file: string): Set<string> => {
    let set = anchors.get(file);
    if (set === undefined) {
      set = anchorsOf(readFileSync(file, 'utf8'));
      anchors.set(file, set);
    }
    return set;
  };
  const dangling: DanglingLink[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { n, target } of linksOf(readFileSync(file, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      if (path !== '' && !path.endsWith('.md')) continue;
      if (path === '' && anchor === undefined) continue;
      checked++;
      const dest = path === '' ? file : resolve(dirname(file), path);
      const where = `${relative(root, file)}:${n}`;
      if (!existsSync(dest)) dangling.push({ where, target, reason: `no file ${relative(root, dest)}` });
      else if (anchor !== undefined && !anchorsFor(dest).has(anchor)) {
        dangling.push({
          where,
          target,
          reason: `no heading with the slug #${anchor} in ${relative(root, dest)}`,
        });
      }
    }
  }
  return { checked, dangling };
}
