/**
 * config.json as text: parsed with errors fit for people. JSON.parse alone is not enough for two
 * reasons: its messages quote the input (which may hold a secret), and it silently keeps the last
 * of two equal keys, so a second "Default" block under EntraId would replace the first without a
 * word. One scanner here walks the text once and reports both where the syntax breaks and which
 * keys repeat, with line and column, never the text itself.
 */
import { ConfigError, formatPath } from './errors';

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  reason: string;
}

/** A place in the text, 1-based. */
export interface TextPosition {
  line: number;
  column: number;
}

/** A key written more than once in one object. */
export interface DuplicateKey {
  /** JSON path of the key, e.g. `EntraId.Default`. */
  path: string;
  /** Where each occurrence starts (its opening quote), in text order; JSON.parse keeps the last. */
  positions: TextPosition[];
}

/**
 * JSON.parse, rejecting duplicate keys. Throws ConfigError with line and column: of a syntax error,
 * or of every occurrence of a repeated key.
 */
export function parseConfigText(text: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text; // Notepad writes a BOM
  if (body.trim() === '') throw new ConfigError([{ path: '', message: 'the configuration is empty (no JSON at all); see config.sample.json' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch {
    const problem = locateJsonError(body);
    const message =
      problem === undefined
        ? 'not valid JSON'
        : `not valid JSON at line ${problem.line}, column ${problem.column}: ${problem.reason}`;
    throw new ConfigError([{ path: '', message }]);
  }
  const duplicates = findDuplicateKeys(body);
  if (duplicates.length > 0) throw new ConfigError(duplicates.map(duplicateKeyIssue));
  return parsed;
}

function duplicateKeyIssue(duplicate: DuplicateKey): { path: string; message: string } {
  const places = duplicate.positions.map((position) => `line ${position.line}, column ${position.column}`);
  const listed = places.length === 2 ? `${places[0] ?? ''} and ${places[1] ?? ''}` : `${places.slice(0, -1).join('; ')} and ${places.at(-1) ?? ''}`;
  const times = places.length === 2 ? 'twice' : `${places.length} times`;
  return {
    path: duplicate.path,
    message:
      `is written ${times} in the same object (${listed}); JSON keeps only the last, so the others would be ignored without a word. ` +
      'Merge them into one, or give each its own name',
  };
}

/** Where the first JSON syntax error is (1-based line and column), or undefined if the text is valid JSON. */
export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  return scanJson(text).syntax;
}

/** Keys written more than once in one object, in the order their second occurrence appears; [] when the text is not valid JSON. */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const scan = scanJson(text);
  return scan.syntax === undefined ? scan.duplicates : [];
}

class JsonStop extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const MAX_DEPTH = 256;

function positionAt(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/** One pass over the text: the first syntax error, and (up to it) every repeated key with where each occurrence starts. */
function scanJson(text: string): { syntax: JsonSyntaxProblem | undefined; duplicates: DuplicateKey[] } {
  let at = 0;
  const path: (string | number)[] = [];
  const duplicates = new Map<string, number[]>();
  const stop = (reason: string, offset = at): JsonStop => new JsonStop(offset, reason);
  const skipSpace = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  };
  const describeHere = (): string => {
    if (at >= text.length) return 'the text ends too early';
    const char = text.charAt(at);
    if (char === '/') return 'comments are not allowed in JSON';
    if (char === "'") return 'strings need double quotes (")';
    return `unexpected character ${JSON.stringify(char)}`;
  };
  const string = (): void => {
    at++; // opening quote
    while (at < text.length) {
      const char = text.charAt(at);
      if (char === '"') {
        at++;
        return;
      }
      if (char === '\\') {
        const escape = text.charAt(at + 1);
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) throw stop('invalid \\u escape');
          at += 6;
        } else if ('"\\/bfnrt'.includes(escape) && escape !== '') {
          at += 2;
        } else {
          throw stop('invalid escape; write a backslash as \\\\ (Windows paths: C:\\\\certs\\\\app.pem)');
        }
        continue;
      }
      if (char < ' ') throw stop('line break or control character inside a string; write it as \\n');
      at++;
    }
    throw stop('a string is not closed (missing ")');
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) throw stop('nested too deeply');
    skipSpace();
    const char = text.charAt(at);
    if (char === '{') return container(depth, '}');
    if (char === '[') return container(depth, ']');
    if (char === '"') return string();
    const literal = /^(?:true|false|null)/.exec(text.slice(at, at + 5));
    if (literal !== null) {
      at += literal[0].length;
      return;
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at, at + 64));
    if (number !== null) {
      at += number[0].length;
      return;
    }
    throw stop(`expected a value; ${describeHere()}`);
  };
  const container = (depth: number, close: '}' | ']'): void => {
    at++;
    skipSpace();
    if (text.charAt(at) === close) {
      at++;
      return;
    }
    // Keys compare by their decoded value: "a" and "\u0061" are the same key to JSON.parse.
    const seen = new Map<string, number>();
    let index = 0;
    for (;;) {
      if (close === '}') {
        skipSpace();
        if (text.charAt(at) !== '"') throw stop(`expected a property name in double quotes; ${describeHere()}`);
        const keyStart = at;
        string();
        const key = JSON.parse(text.slice(keyStart, at)) as string;
        recordKey(seen, key, keyStart);
        path.push(key);
        skipSpace();
        if (text.charAt(at) !== ':') throw stop(`expected ':' after the property name; ${describeHere()}`);
        at++;
      } else {
        path.push(index);
      }
      value(depth + 1);
      path.pop();
      index++;
      skipSpace();
      const next = text.charAt(at);
      if (next === close) {
        at++;
        return;
      }
      if (next !== ',') throw stop(`expected ',' or '${close}'; ${describeHere()} (a missing comma?)`);
      const comma = at;
      at++;
      skipSpace();
      if (text.charAt(at) === close) throw stop(`trailing comma before '${close}' (JSON allows none)`, comma);
    }
  };
  const recordKey = (seen: Map<string, number>, key: string, offset: number): void => {
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, offset);
      return;
    }
    const where = formatPath([...path, key]);
    const offsets = duplicates.get(where) ?? [first];
    offsets.push(offset);
    duplicates.set(where, offsets);
  };
  const found = (): DuplicateKey[] =>
    [...duplicates].map(([where, offsets]) => ({ path: where, positions: offsets.map((offset) => positionAt(text, offset)) }));
  try {
    value(0);
    skipSpace();
    if (at < text.length) throw stop(`unexpected text after the end of the JSON; ${describeHere()}`);
    return { syntax: undefined, duplicates: found() };
  } catch (error) {
    if (!(error instanceof JsonStop)) throw error;
    return { syntax: { ...positionAt(text, error.offset), reason: error.reason }, duplicates: found() };
  }
}
