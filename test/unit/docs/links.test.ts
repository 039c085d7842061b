import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README and docs/ document the project in its own words: every relative link lands on a
// file inside this repository, so a clone (or a package) never points at a sibling folder.

const root = resolve(__dirname, '../../..');
const markdown = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

describe('documentation links', () => {
  it.each(markdown)('%s links only to files inside the repository that exist', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((t) => !/^(https?:|mailto:|#)/.test(t));
    const bad = targets.filter((target) => {
      const path = resolve(dirname(join(root, file)), target.split('#')[0] ?? '');
      return relative(root, path).startsWith('..') || !existsSync(path);
    });
    expect(bad).toEqual([]);
  });

  it('names no path outside the repository, such as ../shared/, anywhere in the docs or sources', () => {
    const files = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const texts = [...markdown, ...files('src'), ...files('functions'), ...files('infra'), ...files('scripts'), 'package.json', 'azure.yaml'];
    expect(texts.filter((f) => /\.\.\/shared\b|shared\/contracts/.test(readFileSync(join(root, f), 'utf8')))).toEqual([]);
  });
});
