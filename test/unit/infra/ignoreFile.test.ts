import { describe, expect, it } from 'vitest';
import { isIgnored, parseIgnoreFile } from '../../support/ignoreFile';

describe('ignore-file rules (.funcignore, gitignore syntax)', () => {
  const rules = parseIgnoreFile(['# comment', '', 'node_modules/', '*.js.map', '/infra', 'docs/*.md', '!docs/keep.md', 'test/', '!test/keep.ts', '**/secret*', 'a/**/z.txt'].join('\n'));
  it.each([
    ['node_modules/x/index.js', true],
    ['src/node_modules/y.js', true],
    ['dist/a.js.map', true],
    ['dist/a.js', false],
    ['infra/main.bicep', true],
    ['src/infra/x.ts', false],
    ['docs/deploy.md', true],
    ['docs/keep.md', false],
    ['docs/sub/deep.md', false],
    ['test/keep.ts', true], // a file under an excluded directory cannot be re-included
    ['src/config/secretScrubber.ts', true],
    ['a/z.txt', true],
    ['a/b/c/z.txt', true],
    ['package.json', false],
    ['node_modules', false], // a file named like a directory-only pattern
  ])('%s -> ignored: %s', (path, ignored) => {
    expect(isIgnored(rules, path)).toBe(ignored);
  });
});
