import type { z } from 'zod';

/** One problem in the configuration: where (a JSON path such as `Mappings[1].To`, or an app setting name) and what to do. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The configuration cannot be used. Thrown once with every problem found, so a person fixes them
 * in one pass. Messages never contain secret values.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  /** Where the configuration came from (a file path, blob URI or app setting), when known. */
  readonly location: string | undefined;

  constructor(issues: readonly ConfigIssue[], options: { location?: string; cause?: unknown } = {}) {
    super(formatMessage(issues, options.location), options.cause === undefined ? undefined : { cause: options.cause });
    this.issues = issues;
    this.location = options.location;
  }

  /** The same problems, told as coming from `location`. */
  withLocation(location: string): ConfigError {
    return new ConfigError(this.issues, { location, cause: this.cause });
  }
}

function formatMessage(issues: readonly ConfigIssue[], location: string | undefined): string {
  const where = location === undefined ? 'The configuration' : `The configuration (${location})`;
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((issue) => `  - ${issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`}`);
  return [`${where} has ${count}:`, ...lines].join('\n');
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** `['Mappings', 1, 'To']` → `Mappings[1].To`; odd keys are quoted: `EntraId["my source"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

// Shapes of secrets a person may paste into the wrong field (Entra client secrets carry "Q~" after
// a 3-character hint; idscl_ tokens; PEM blocks; Key Vault references). Such values are never echoed.
const SECRET_LOOKING = [/^idscl_/i, /^.{3}\dQ~/, /-----BEGIN/, /^@Microsoft\.KeyVault\(/i];

/** A user-supplied value, quoted for a message: shortened, and withheld when it looks like a secret. */
export function quoteValue(value: unknown): string {
  if (typeof value !== 'string') return describeType(value);
  if (SECRET_LOOKING.some((shape) => shape.test(value))) return 'a value that looks like a secret (not shown)';
  const short = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(short);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  return value === undefined ? 'nothing' : typeof value;
}

const EXPECTED_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
};

/**
 * The message for issues a field did not word itself. Input values are never echoed here, since
 * this map also serves secret fields.
 */
export const genericIssueMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
      return issue.input === undefined ? `required (${expected})` : `expected ${expected}, found ${describeType(issue.input)}`;
    }
    case 'invalid_value':
      return `must be one of: ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
    default:
      return undefined;
  }
};

/**
 * Flattens zod issues into ours. A union that failed reports the errors of the branch matching the
 * input's kind (the object branch for an object), not "no branch matched".
 */
export function issuesFromZod(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = issue.errors.find((errors) => !errors.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
      if (branch !== undefined) {
        out.push(...issuesFromZod(branch, path));
        continue;
      }
    }
    out.push({ path: formatPath(path), message: issue.message });
  }
  return out;
}
