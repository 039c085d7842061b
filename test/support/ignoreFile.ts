/**
 * The rules of a gitignore-syntax file (.funcignore), applied the way azd applies them when it
 * zips a function app: comments and blank lines skipped, `!` re-includes, a trailing `/` matches
 * directories only, a pattern with a `/` (other than a trailing one) is anchored at the root,
 * otherwise it matches a name at any depth; `*` and `?` stay within one path segment, `**`
 * crosses segments; the last matching rule wins, and nothing under an excluded directory can be
 * re-included. Enough of gitignore for the rules this repository writes; unit-tested on its own.
 */
export interface IgnoreRule {
  readonly pattern: string;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  readonly matcher: RegExp;
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

export function parseIgnoreFile(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    let pattern = negated ? line.slice(1) : line;
    const directoryOnly = pattern.endsWith('/');
    if (directoryOnly) pattern = pattern.slice(0, -1);
    const anchored = pattern.includes('/');
    if (pattern.startsWith('/')) pattern = pattern.slice(1);
    const body = globToRegExp(pattern);
    rules.push({ pattern: line, negated, directoryOnly, matcher: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) });
  }
  return rules;
}

function ruleVerdict(rules: readonly IgnoreRule[], path: string, isDirectory: boolean): boolean | undefined {
  let verdict: boolean | undefined;
  for (const rule of rules) {
    if (rule.directoryOnly && !isDirectory) continue;
    if (rule.matcher.test(path)) verdict = !rule.negated;
  }
  return verdict;
}

/** True when `path` (a file, `/`-separated, relative to the root) is left out of the package. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const segments = path.split('/');
  for (let depth = 1; depth < segments.length; depth += 1) {
    if (ruleVerdict(rules, segments.slice(0, depth).join('/'), true) === true) return true;
  }
  return ruleVerdict(rules, path, false) === true;
}
