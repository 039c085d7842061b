/**
 * The elements of one array member of a JSON object body (`{"value": [ … ]}`), parsed one at a
 * time. The list endpoints answer with every record of a source in one body (100k users are about
 * 90 MB of JSON); `JSON.parse` of the whole body, then a schema copy of it, holds every record as
 * objects twice over. Here the body stays one string and only the element being handed out is
 * parsed, so the caller can hash each record and drop it.
 *
 * The scanner only finds where each element starts and ends (strings, escapes and nesting); each
 * element is then checked by `JSON.parse` itself. Throws `SyntaxError` when the body is not one
 * JSON object, when the member is missing, given twice or not an array, or when an element is not
 * JSON. Elements before the error have been handed out by then: a caller must not act on a
 * listing until it has read to the end.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    at += 1;
  }
  return at;
}

function fail(at: number, what: string): never {
  throw new SyntaxError(`${what} at position ${at}`);
}

/** `from` is at a quote; returns the position after the closing quote. */
function endOfString(text: string, from: number): number {
  let at = from + 1;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === BACKSLASH) at += 2;
    else if (c === QUOTE) return at + 1;
    else at += 1;
  }
  return fail(from, 'unterminated string');
}

/** Returns the position after the value that starts at `from` (not checked inside: JSON.parse does that). */
function endOfValue(text: string, from: number): number {
  const first = text.charAt(from);
  if (first === '"') return endOfString(text, from);
  if (first === '{' || first === '[') {
    let depth = 0;
    let at = from;
    while (at < text.length) {
      const c = text.charAt(at);
      if (c === '"') {
        at = endOfString(text, at);
        continue;
      }
      if (c === '{' || c === '[') depth += 1;
      else if (c === '}' || c === ']') {
        depth -= 1;
        if (depth === 0) return at + 1;
      }
      at += 1;
    }
    return fail(from, 'unterminated object or array');
  }
  let at = from;
  while (at < text.length && !',]} \n\r\t'.includes(text.charAt(at))) at += 1;
  return at === from ? fail(from, 'expected a value') : at;
}

export function* jsonArrayElements(text: string, member: string): Generator<unknown, void, undefined> {
  let at = skipSpace(text, 0);
  if (text.charAt(at) !== '{') fail(at, 'expected a JSON object');
  at = skipSpace(text, at + 1);
  let found = false;
  if (text.charAt(at) === '}') at += 1;
  else {
    for (;;) {
      if (text.charAt(at) !== '"') fail(at, 'expected a member name');
      const nameEnd = endOfString(text, at);
      const name = JSON.parse(text.slice(at, nameEnd)) as string;
      at = skipSpace(text, nameEnd);
      if (text.charAt(at) !== ':') fail(at, 'expected ":"');
      at = skipSpace(text, at + 1);
      if (name === member) {
        if (found) fail(at, `"${member}" given twice`);
        found = true;
        if (text.charAt(at) !== '[') fail(at, `"${member}" is not an array`);
        at = skipSpace(text, at + 1);
        if (text.charAt(at) === ']') at += 1;
        else {
          for (;;) {
            const end = endOfValue(text, at);
            yield JSON.parse(text.slice(at, end)) as unknown;
            at = skipSpace(text, end);
            const next = text.charAt(at);
            at += 1;
            if (next === ']') break;
            if (next !== ',') fail(at - 1, 'expected "," or "]"');
            at = skipSpace(text, at);
          }
        }
      } else {
        const end = endOfValue(text, at);
        JSON.parse(text.slice(at, end));
        at = end;
      }
      at = skipSpace(text, at);
      const next = text.charAt(at);
      at = skipSpace(text, at + 1);
      if (next === '}') break;
      if (next !== ',') fail(at, 'expected "," or "}"');
    }
  }
  if (skipSpace(text, at) !== text.length) fail(at, 'text after the JSON object');
  if (!found) fail(at, `no "${member}" member`);
}
