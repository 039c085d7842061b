/**
 * The per-mapping attribute filter (`Mappings[i].Filter`): a small expression language, read
 * once when the config is validated and evaluated locally against each mirrored user. Graph's
 * own `$filter` cannot do this job: delta queries accept almost none of it, and a filter applied
 * at the source would hide the user who stops matching instead of reporting them as a leaver.
 *
 * Grammar (keywords and attribute names case-insensitive):
 *   expression := or
 *   or         := and ( "or" and )*
 *   and        := unary ( "and" unary )*
 *   unary      := "not" unary | primary
 *   primary    := "(" expression ")"
 *               | attribute ( "eq" | "ne" ) literal
 *               | attribute "in" "(" literal ( "," literal )* ")"
 *               | ( "startswith" | "endswith" ) "(" attribute "," string ")"
 *   literal    := string | "null" | "true" | "false"
 *   string     := "'" ( any character but "'" | "''" )* "'"      ('' is one quote)
 *
 * Meaning, the same as Graph's $filter where the two overlap: text compares case-insensitively;
 * `eq null` holds for an unset attribute (null or empty text); an unset attribute is `ne` every
 * string, matches no `in` list without null and no startswith/endswith. `and` binds tighter than
 * `or`. Errors name the column (1-based) where the expression stops making sense.
 */

/** Attributes a filter may name, as written in Graph (the key is the lower-cased spelling). */
export const FILTER_TEXT_ATTRIBUTES = [
  'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department', 'companyName',
  'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country', 'mobilePhone', 'faxNumber',
  'employeeId', 'userType',
] as const;
export type FilterTextAttribute = (typeof FILTER_TEXT_ATTRIBUTES)[number];

/** onPremisesExtensionAttributes.extensionAttribute1..15, written `extensionAttribute7`. */
const EXTENSION_ATTRIBUTE = /^extensionattribute([1-9]|1[0-5])$/;

export type FilterAttribute =
  | { kind: 'text'; name: FilterTextAttribute }
  | { kind: 'extension'; name: string }
  | { kind: 'accountEnabled' };

export type FilterLiteral = string | boolean | null;

export type FilterExpression =
  | { op: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { op: 'not'; operand: FilterExpression }
  | { op: 'eq' | 'ne'; attribute: FilterAttribute; value: FilterLiteral }
  | { op: 'in'; attribute: FilterAttribute; values: FilterLiteral[] }
  | { op: 'startswith' | 'endswith'; attribute: FilterAttribute; value: string };

/** A filter that does not parse; `column` is 1-based, `message` says what was expected there. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
  constructor(
    readonly column: number,
    readonly reason: string,
  ) {
    super(`column ${column}: ${reason}`);
  }
}

/** Filters longer than this are refused: a signature scope needs a line, not a program. */
export const MAX_FILTER_LENGTH = 2_000;

type Token =
  | { type: 'word'; text: string; column: number }
  | { type: 'string'; value: string; column: number }
  | { type: '(' | ')' | ','; column: number }
  | { type: 'end'; column: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '(' || char === ')' || char === ',') {
      tokens.push({ type: char, column: i + 1 });
      i += 1;
    } else if (char === "'") {
      const start = i;
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw new FilterSyntaxError(start + 1, "string not closed; end it with ' (write '' for a quote inside)");
        const next = text.charAt(i);
        if (next === "'") {
          if (text.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += next;
        i += 1;
      }
      tokens.push({ type: 'string', value, column: start + 1 });
    } else if (/[A-Za-z_]/.test(char)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text.charAt(i))) i += 1;
      tokens.push({ type: 'word', text: text.slice(start, i), column: start + 1 });
    } else if (char === '"') {
      throw new FilterSyntaxError(i + 1, "strings take single quotes: 'Sales'");
    } else {
      throw new FilterSyntaxError(i + 1, `unexpected character ${JSON.stringify(char)}`);
    }
  }
  tokens.push({ type: 'end', column: text.length + 1 });
  return tokens;
}

const TEXT_BY_LOWER: ReadonlyMap<string, FilterTextAttribute> = new Map(FILTER_TEXT_ATTRIBUTES.map((name) => [name.toLowerCase(), name]));
const KEYWORDS = new Set(['and', 'or', 'not', 'eq', 'ne', 'in', 'startswith', 'endswith', 'null', 'true', 'false']);

function describe(token: Token): string {
  switch (token.type) {
    case 'word': return `"${token.text}"`;
    case 'string': return 'a string';
    case 'end': return 'the end';
    default: return `"${token.type}"`;
  }
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.position] ?? { type: 'end', column: 0 };
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.position += 1;
    return token;
  }

  private isWord(token: Token, word: string): boolean {
    return token.type === 'word' && token.text.toLowerCase() === word;
  }

  private expect(type: '(' | ')' | ',', what: string): void {
    const token = this.next();
    if (token.type !== type) throw new FilterSyntaxError(token.column, `expected ${what}, found ${describe(token)}`);
  }

  parse(): FilterExpression {
    const expression = this.or();
    const rest = this.peek();
    if (rest.type !== 'end') throw new FilterSyntaxError(rest.column, `expected "and", "or" or the end, found ${describe(rest)}`);
    return expression;
  }

  private or(): FilterExpression {
    let left = this.and();
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      left = { op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterExpression {
    let left = this.unary();
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterExpression {
    if (this.isWord(this.peek(), 'not')) {
      this.next();
      return { op: 'not', operand: this.unary() };
    }
    return this.primary();
  }

  private primary(): FilterExpression {
    const token = this.peek();
    if (token.type === '(') {
      this.next();
      const inner = this.or();
      this.expect(')', '")"');
      return inner;
    }
    if (this.isWord(token, 'startswith') || this.isWord(token, 'endswith')) {
      this.next();
      const op = (token as { text: string }).text.toLowerCase() as 'startswith' | 'endswith';
      this.expect('(', `"(" after ${op}`);
      const attribute = this.attribute();
      this.expect(',', '","');
      const value = this.next();
      if (value.type !== 'string') throw new FilterSyntaxError(value.column, `${op} takes a string in single quotes, found ${describe(value)}`);
      this.expect(')', '")"');
      return { op, attribute, value: value.value };
    }
    const attribute = this.attribute();
    const operator = this.next();
    if (this.isWord(operator, 'eq') || this.isWord(operator, 'ne')) {
      return { op: (operator as { text: string }).text.toLowerCase() as 'eq' | 'ne', attribute, value: this.literal() };
    }
    if (this.isWord(operator, 'in')) {
      this.expect('(', '"(" after in');
      const values = [this.literal()];
      while (this.peek().type === ',') {
        this.next();
        values.push(this.literal());
      }
      this.expect(')', '"," or ")"');
      return { op: 'in', attribute, values };
    }
    throw new FilterSyntaxError(operator.column, `expected eq, ne or in, found ${describe(operator)}`);
  }

  private attribute(): FilterAttribute {
    const token = this.next();
    if (token.type !== 'word' || KEYWORDS.has(token.text.toLowerCase())) {
      throw new FilterSyntaxError(token.column, `expected an attribute (e.g. department), found ${describe(token)}`);
    }
    const lower = token.text.toLowerCase();
    const text = TEXT_BY_LOWER.get(lower);
    if (text !== undefined) return { kind: 'text', name: text };
    const extension = EXTENSION_ATTRIBUTE.exec(lower);
    if (extension?.[1] !== undefined) return { kind: 'extension', name: `extensionAttribute${extension[1]}` };
    if (lower === 'accountenabled') return { kind: 'accountEnabled' };
    throw new FilterSyntaxError(
      token.column,
      `unknown attribute "${token.text}"; use one of ${FILTER_TEXT_ATTRIBUTES.join(', ')}, accountEnabled, extensionAttribute1..15`,
    );
  }

  private literal(): FilterLiteral {
    const token = this.next();
    if (token.type === 'string') return token.value;
    if (this.isWord(token, 'null')) return null;
    if (this.isWord(token, 'true')) return true;
    if (this.isWord(token, 'false')) return false;
    throw new FilterSyntaxError(token.column, `expected a string in single quotes, null, true or false, found ${describe(token)}`);
  }
}

/** Parses a filter; throws FilterSyntaxError naming the column. */
export function parseUserFilter(text: string): FilterExpression {
  if (text.length > MAX_FILTER_LENGTH) throw new FilterSyntaxError(MAX_FILTER_LENGTH + 1, `a filter is at most ${MAX_FILTER_LENGTH} characters`);
  if (text.trim() === '') throw new FilterSyntaxError(1, "the filter is empty; remove the key or write a condition, e.g. department eq 'Sales'");
  return new Parser(tokenize(text)).parse();
}

/** The user attributes a filter reads (a MirrorUser has them). */
export type FilterableUser = Readonly<Record<FilterTextAttribute, string | null>> & {
  readonly accountEnabled: boolean | null;
  readonly extensionAttributes: Readonly<Record<string, string | null>>;
};

function valueOf(user: FilterableUser, attribute: FilterAttribute): string | boolean | null {
  if (attribute.kind === 'accountEnabled') return user.accountEnabled;
  const raw = attribute.kind === 'extension' ? user.extensionAttributes[attribute.name] : user[attribute.name];
  return typeof raw === 'string' && raw !== '' ? raw : null;
}

function equal(actual: string | boolean | null, wanted: FilterLiteral): boolean {
  if (actual === null || wanted === null) return actual === wanted;
  if (typeof actual === 'string' && typeof wanted === 'string') return actual.toLowerCase() === wanted.toLowerCase();
  return actual === wanted;
}

/** Whether a user matches a parsed filter. Pure; see the header for the meaning of each operator. */
export function matchesUserFilter(expression: FilterExpression, user: FilterableUser): boolean {
  switch (expression.op) {
    case 'and': return matchesUserFilter(expression.left, user) && matchesUserFilter(expression.right, user);
    case 'or': return matchesUserFilter(expression.left, user) || matchesUserFilter(expression.right, user);
    case 'not': return !matchesUserFilter(expression.operand, user);
    case 'eq': return equal(valueOf(user, expression.attribute), expression.value);
    case 'ne': return !equal(valueOf(user, expression.attribute), expression.value);
    case 'in': {
      const actual = valueOf(user, expression.attribute);
      return expression.values.some((value) => equal(actual, value));
    }
    case 'startswith':
    case 'endswith': {
      const actual = valueOf(user, expression.attribute);
      if (typeof actual !== 'string') return false;
      const [text, part] = [actual.toLowerCase(), expression.value.toLowerCase()];
      return expression.op === 'startswith' ? text.startsWith(part) : text.endsWith(part);
    }
  }
}
