/**
 * Malformed and hostile requests for the Graph webhook, each with the answer the webhook's rules
 * call for (src/realtime/webhookHandler.ts, checked in this order):
 *   non-POST → 405 (Allow: POST) · `?code=` wrong or missing → 401 · `?validationToken=` → 200
 *   echoing the decoded token, 400 when empty or over 2048 characters · Content-Type not
 *   application/json → 415 · over 1 MiB → 413 · not UTF-8, not JSON, wrong shape → 400 naming the
 *   field · otherwise 202, with each item counted as an unknown subscription, a forged clientState or
 *   a wrong tenant (the generator never makes a genuine item, so nothing may ever be queued).
 * The expectation comes from how the request was built (which facet was spoiled), not from running
 * the product's code. Case `i` of seed `s` is generated from its own PRNG, so any one case can be
 * rebuilt on its own (FUZZ_SEED, and the index printed on failure).
 */
import { gzipSync } from 'node:zlib';
import type { WebhookCounters } from '../../src/realtime/webhookCounters';
import { seededRandom } from '../fakes/graph';

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TOKEN_CHARS = 2048;
export const NOTIFICATION_PATH = '/api/graph/notifications';
export const LIFECYCLE_PATH = '/api/graph/lifecycle';

export type Verdict = 'unknownSubscription' | 'clientStateMismatch' | 'tenantMismatch';
export type CounterName = keyof WebhookCounters;

export interface FuzzWorld {
  webhookKey: string;
  /** The tenant id of the configured source. */
  tenantId: string;
  /** The live subscriptions (ids and their clientState secrets). */
  subscriptions: { id: string; clientState: string }[];
  /**
   * Also send subscription ids holding a lone UTF-16 surrogate (JSON "\ud800"): unknown
   * subscriptions (202). They once made the webhook answer 503 (see the regression test in
   * test/e2e/webhook.fuzz.test.ts); the fuzz sends them unless told not to.
   */
  loneSurrogateIds?: boolean;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export interface Expected {
  status: number;
  /** For handler 4xx answers: the JSON error names this. */
  errorIncludes?: string;
  /** For 200: the body, the decoded token. */
  token?: string;
  counters: Partial<Record<CounterName, number>>;
}

export interface FuzzCase {
  index: number;
  /** The facets, for the failure report. */
  label: string;
  method: string;
  /** Path and query. */
  target: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Sent with Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
  expected: Expected;
}

type Random = () => number;

/** The PRNG of case `index` under `seed`. */
export function caseRandom(seed: number, index: number): Random {
  return seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

function int(r: Random, min: number, max: number): number {
  return min + Math.floor(r() * (max - min + 1));
}

function pick<T>(r: Random, items: readonly T[]): T {
  const item = items[Math.floor(r() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function chance(r: Random, p: number): boolean {
  return r() < p;
}

/** Picks by weight: [[weight, value], ...]. */
function weighted<T>(r: Random, table: readonly (readonly [number, T])[]): T {
  const total = table.reduce((sum, [w]) => sum + w, 0);
  let x = r() * total;
  for (const [w, value] of table) {
    x -= w;
    if (x < 0) return value;
  }
  const last = table.at(-1);
  if (last === undefined) throw new Error('empty table');
  return last[1];
}

function hex(r: Random, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += '0123456789abcdef'.charAt(Math.floor(r() * 16));
  return out;
}

function guid(r: Random): string {
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-8${hex(r, 3)}-${hex(r, 12)}`;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function token64(r: Random, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += B64URL.charAt(Math.floor(r() * 64));
  return out;
}

function printable(r: Random, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(int(r, 0x20, 0x7e));
  return out;
}

/** A string of `n` UTF-16 units drawn from awkward characters (control, RTL, emoji, lone surrogates...). */
function awkward(r: Random, n: number): string {
  const pool = ['a', 'Z', '0', ' ', '"', '\\', '/', "'", '%', '&', '=', '+', '#', '?', '\u0000', '\u0001', '\u001f', '\u007f', '\u0085',
    '\u00e9', '\u2028', '\u202e', '\ufeff', '\ufffd', '\ud83d\ude00', '\ud800', '\udc00', '<', '>', '\n', '\t'];
  let out = '';
  while (out.length < n) out += pick(r, pool);
  return out.slice(0, n);
}

// ---- items ---------------------------------------------------------------------------------

const LIFECYCLE = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];

/** Subscription ids that are not a live subscription's, hostile ones included. */
function unknownId(r: Random, world: FuzzWorld): string {
  const real = pick(r, world.subscriptions).id;
  const id = weighted(r, [
    [40, () => guid(r)],
    [6, () => real.toUpperCase()],
    [4, () => `${real} `],
    [4, () => ` ${real}`],
    [3, () => real.slice(0, -1)],
    [3, () => `${real}x`],
    [3, () => `${real}\u0000`],
    [3, () => `${real}/..`],
    [10, () => pick(r, ['../../etc/passwd', 'a/b', 'a#b', 'a?b', 'a\\b', "a'b", "x') or ('1'='1", "subscription' or RowKey ne '", '%2F', '%', '*',
      '$filter', '__proto__', 'constructor', 'null', 'undefined', ' ', '\u0000', '\u0001x', '\u007f', '\u0085', '\u2028', '\ud83d\ude00',
      '\u00e9\u00e9', '\ud800', '\udc00', 'a\ud800b', '\ufeff', '\u202e' + real, 'subscription', 'slot', 'Default|users'])],
    [10, () => awkward(r, int(r, 1, 40))],
    [8, () => printable(r, int(r, 1, 128))],
    [4, () => 'x'.repeat(int(r, 120, 128))],
  ])();
  const usable = world.loneSurrogateIds === true ? id : id.replace(LONE_SURROGATE, '\ufffd');
  return world.subscriptions.some((s) => s.id === usable) ? `${usable}x` : usable;
}

/** A clientState that is not the real one of subscription `id`. */
function forgedClientState(r: Random, world: FuzzWorld, id: string): { value?: string | null } {
  const real = world.subscriptions.find((s) => s.id === id)?.clientState ?? '';
  const other = world.subscriptions.find((s) => s.id !== id)?.clientState ?? token64(r, 43);
  const flip = (text: string) => {
    const at = int(r, 0, text.length - 1);
    const c = text.charAt(at);
    const swapped = c === 'A' ? 'B' : 'A';
    return `${text.slice(0, at)}${swapped}${text.slice(at + 1)}`;
  };
  const candidate = weighted<() => { value?: string | null }>(r, [
    [15, () => ({})],
    [10, () => ({ value: null })],
    [8, () => ({ value: '' })],
    [20, () => ({ value: token64(r, 43) })],
    [10, () => ({ value: other })],
    [10, () => ({ value: flip(real) })],
    [5, () => ({ value: `${real} ` })],
    [5, () => ({ value: real.slice(0, -1) })],
    [5, () => ({ value: real.toUpperCase() === real ? `${real}A` : real.toUpperCase() })],
    [4, () => ({ value: `${real}${real}` })],
    [4, () => ({ value: 'x'.repeat(1024) })],
    [4, () => ({ value: awkward(r, int(r, 1, 64)) })],
  ])();
  if (candidate.value === real) return { value: `${real}!` };
  return candidate;
}

/** A tenant id other than the source's (never a case variant of it: that one matches). */
function otherTenant(r: Random, world: FuzzWorld): string {
  const candidate = weighted(r, [
    [50, () => guid(r)],
    [10, () => ''],
    [10, () => 'common'],
    [10, () => `${world.tenantId} `],
    [10, () => world.tenantId.slice(0, -1)],
    [10, () => awkward(r, int(r, 1, 36))],
  ])();
  return candidate.toLowerCase() === world.tenantId.toLowerCase() ? `${candidate}0` : candidate;
}

interface BuiltItem {
  item: Record<string, unknown>;
  verdict: Verdict;
}

/** Allowed but ignored properties (Graph adds properties over time; the webhook reads none of these). */
function decorate(r: Random, item: Record<string, unknown>, lifecycle: boolean): void {
  if (lifecycle) item.lifecycleEvent = chance(r, 0.7) ? pick(r, LIFECYCLE) : weighted(r, [[3, () => printable(r, int(r, 1, 64))], [1, () => 'x'.repeat(64)]])();
  if (chance(r, 0.5)) item.changeType = pick(r, ['created', 'updated', 'deleted', 'created,updated,deleted', 'x'.repeat(64), printable(r, int(r, 1, 64))]);
  if (chance(r, 0.5)) item.resource = pick(r, ['Users/1', 'Groups/2', '', 'x'.repeat(2048), awkward(r, int(r, 0, 100))]);
  if (chance(r, 0.3)) item.resourceData = { '@odata.type': '#Microsoft.Graph.User', id: guid(r), organizationId: guid(r), extra: [1, 'two', null, { three: true }] };
  if (chance(r, 0.2)) item.subscriptionExpirationDateTime = pick(r, ['2030-01-01T00:00:00Z', 'never', '']);
  if (chance(r, 0.1)) item[awkward(r, int(r, 1, 12))] = awkward(r, int(r, 0, 50));
  if (chance(r, 0.05)) Object.defineProperty(item, '__proto__', { value: { subscriptionId: 5, clientState: 'polluted' }, enumerable: true });
}

function buildItem(r: Random, world: FuzzWorld, lifecycle: boolean): BuiltItem {
  const kind = weighted<Verdict>(r, [[50, 'unknownSubscription'], [38, 'clientStateMismatch'], [12, 'tenantMismatch']]);
  const item: Record<string, unknown> = {};
  if (kind === 'unknownSubscription') {
    item.subscriptionId = unknownId(r, world);
    const secret = pick(r, world.subscriptions).clientState;
    if (chance(r, 0.6)) item.clientState = chance(r, 0.3) ? secret : token64(r, 43);
    if (chance(r, 0.7)) item.tenantId = chance(r, 0.7) ? world.tenantId : otherTenant(r, world);
  } else if (kind === 'clientStateMismatch') {
    const id = pick(r, world.subscriptions).id;
    item.subscriptionId = id;
    const forged = forgedClientState(r, world, id);
    if ('value' in forged) item.clientState = forged.value;
    if (chance(r, 0.7)) item.tenantId = chance(r, 0.7) ? world.tenantId : otherTenant(r, world);
  } else {
    const subscription = pick(r, world.subscriptions);
    item.subscriptionId = subscription.id;
    item.clientState = subscription.clientState;
    item.tenantId = otherTenant(r, world);
  }
  decorate(r, item, lifecycle);
  return { item, verdict: kind };
}

function buildItems(r: Random, world: FuzzWorld, count: number): BuiltItem[] {
  const lifecycleShare = pick(r, [0, 0, 0.3, 1]);
  return Array.from({ length: count }, () => buildItem(r, world, chance(r, lifecycleShare)));
}

function itemCount(r: Random): number {
  return weighted(r, [[80, () => int(r, 1, 3)], [16, () => int(r, 4, 20)], [4, () => int(r, 21, 60)]])();
}

// ---- bodies --------------------------------------------------------------------------------

type BodyClass =
  | { kind: 'valid'; verdicts: Verdict[] }
  | { kind: 'notUtf8' }
  | { kind: 'notJson' }
  | { kind: 'badShape'; field: string };

interface BuiltBody {
  bytes: Buffer;
  class: BodyClass;
  label: string;
}

function validBody(r: Random, world: FuzzWorld, count = itemCount(r)): { json: Record<string, unknown>; verdicts: Verdict[] } {
  const items = buildItems(r, world, count);
  const json: Record<string, unknown> = { value: items.map((i) => i.item) };
  if (chance(r, 0.1)) json['@odata.context'] = 'https://graph.microsoft.com/v1.0/$metadata#notifications';
  if (chance(r, 0.05)) json.validationTokens = [token64(r, 200)];
  return { json, verdicts: items.map((i) => i.verdict) };
}

function serialize(r: Random, json: unknown): string {
  return chance(r, 0.1) ? JSON.stringify(json, null, pick(r, [1, 2, '\t'])) : JSON.stringify(json);
}

const NESTING = (depth: number, kind: 'array' | 'object') => (kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** Each spoils exactly one thing of a valid body, so the first issue, and the field it names, is known. */
function badShapeBody(r: Random, world: FuzzWorld): BuiltBody {
  const top = weighted<() => { text: string; field: string; label: string }>(r, [
    [8, () => ({ text: pick(r, ['null', '1', '"value"', '[]', '[{"value":[]}]', 'true', '-0', '1e400', '"\\u0000"']), field: 'body', label: 'topNotObject' })],
    [3, () => ({ text: pick(r, ['{}', '{"Value":[{"subscriptionId":"a"}]}', '{"values":[]}', '{"value ":[]}']), field: 'value', label: 'noValue' })],
    [6, () => ({ text: `{"value":${pick(r, ['null', '5', '"x"', '{}', '[]', 'true', '{"0":{"subscriptionId":"a"}}'])}}`, field: 'value', label: 'valueNotArray' })],
    [2, () => ({ text: NESTING(int(r, 2, 5000), 'array'), field: 'body', label: 'deepTopArray' })],
    [2, () => ({ text: `{"value":${NESTING(int(r, 2, 5000), 'array')}}`, field: 'value.0', label: 'deepValue' })],
  ]);
  if (chance(r, 0.25)) {
    const built = top();
    return { bytes: Buffer.from(built.text, 'utf8'), class: { kind: 'badShape', field: built.field }, label: `badShape:${built.label}` };
  }
  const { json } = validBody(r, world);
  const items = json.value as unknown[];
  const at = int(r, 0, items.length - 1);
  const item = (items[at] ?? {}) as Record<string, unknown>;
  const huge = (max: number) => (chance(r, 0.1) ? 'x'.repeat(int(r, max + 1, 400_000)) : 'x'.repeat(max + int(r, 1, 3)));
  const spoil = weighted<() => { field: string; label: string }>(r, [
    [8, () => { items[at] = pick(r, [1, 'str', null, [], true, [item]]); return { field: `value.${at}`, label: 'itemNotObject' }; }],
    [6, () => { delete item.subscriptionId; return { field: `value.${at}.subscriptionId`, label: 'noSubscriptionId' }; }],
    [12, () => { item.subscriptionId = pick(r, [5, 0, -1, 1.5, 12345678901234567890, null, [], [item.subscriptionId], {}, true, '', huge(128)]); return { field: `value.${at}.subscriptionId`, label: 'subscriptionIdType' }; }],
    [8, () => { item.clientState = pick(r, [5, {}, [], true, false, ['x'], huge(1024)]); return { field: `value.${at}.clientState`, label: 'clientStateType' }; }],
    [8, () => { item.tenantId = pick(r, [5, null, {}, [], true, huge(128)]); return { field: `value.${at}.tenantId`, label: 'tenantIdType' }; }],
    [4, () => { item.changeType = pick(r, ['', 5, null, [], huge(64)]); return { field: `value.${at}.changeType`, label: 'changeTypeType' }; }],
    [4, () => { item.resource = pick(r, [5, null, [], {}, huge(2048)]); return { field: `value.${at}.resource`, label: 'resourceType' }; }],
    [6, () => { item.lifecycleEvent = pick(r, ['', 5, null, {}, [], true, huge(64)]); return { field: `value.${at}.lifecycleEvent`, label: 'lifecycleEventType' }; }],
  ])();
  return { bytes: Buffer.from(serialize(r, json), 'utf8'), class: { kind: 'badShape', field: spoil.field }, label: `badShape:${spoil.label}` };
}

function notJsonBody(r: Random, world: FuzzWorld): BuiltBody {
  const text = weighted<() => [string, string]>(r, [
    [30, () => {
      // No trailing whitespace, so every strict prefix of the text is unfinished.
      const full = JSON.stringify(validBody(r, world).json);
      return [full.slice(0, int(r, 0, full.length - 1)), 'truncated'];
    }],
    [20, () => [pick(r, [
      "{'value':[{'subscriptionId':'a'}]}", '{"value":[{"subscriptionId":"a",}]}', '{"value":[{"subscriptionId":"a"}],}', '{"value":[{"subscriptionId":"a"}]',
      'NaN', 'undefined', '{"value":Infinity}', '{"value":[{"subscriptionId":"a"}]} trailing', '// comment\n{"value":[]}', '{"value":[{"subscriptionId":"a\u0001"}]}',
      '"\\u12"', '{"a":01}', '[1,]', '{"value":[{"subscriptionId":"\\x41"}]}', '{"value":[{subscriptionId:"a"}]}', '<?xml version="1.0"?><value/>',
      'value=%5B%5D', '{"value":[{"subscriptionId":"a"}]}{"value":[]}', '{"value":[{"subscriptionId":"a"}]}\u0000', '\u00a0{"value":[]}',
    ]), 'garbage']],
    [10, () => [`<${printable(r, int(r, 0, 300))}`, 'printable']],
    [8, () => [pick(r, [' ', '\n', '\r\n\t ', '\u000b']), 'whitespace']],
    [8, () => ['['.repeat(int(r, 1, 20_000)), 'deepUnclosed']],
    [4, () => [`{"value":[{"subscriptionId":"a","deep":${'{"a":'.repeat(int(r, 1, 5000))}1}]}`, 'deepUnbalanced']],
  ])();
  return { bytes: Buffer.from(text[0], 'utf8'), class: { kind: 'notJson' }, label: `notJson:${text[1]}` };
}

const BAD_UTF8: readonly (readonly number[])[] = [
  [0xff], [0xfe], [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe9], [0xe0, 0x80, 0xaf], [0xf0, 0x82, 0x82, 0xac],
];

function notUtf8Body(r: Random, world: FuzzWorld): BuiltBody {
  if (chance(r, 0.1)) {
    // UTF-16LE with its BOM: 0xFF 0xFE can never start UTF-8.
    return { bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(validBody(r, world).json), 'utf16le')]), class: { kind: 'notUtf8' }, label: 'notUtf8:utf16le' };
  }
  if (chance(r, 0.05)) {
    // Compressed although nothing says the webhook accepts compression (gzip starts 0x1F 0x8B).
    return { bytes: gzipSync(JSON.stringify(validBody(r, world).json)), class: { kind: 'notUtf8' }, label: 'notUtf8:gzip' };
  }
  const base = Buffer.from(serialize(r, validBody(r, world).json), 'utf8');
  const out: Buffer[] = [];
  let from = 0;
  const inserts = int(r, 1, 3);
  // Inserted before an ASCII byte (a character boundary), so the sequence stays invalid.
  const positions = Array.from({ length: inserts }, () => int(r, 0, base.length)).sort((a, b) => a - b)
    .map((p) => { let q = p; while (q < base.length && (base[q] ?? 0) >= 0x80) q++; return q; });
  for (const p of positions) {
    out.push(base.subarray(from, p), Buffer.from(pick(r, BAD_UTF8)));
    from = p;
  }
  out.push(base.subarray(from));
  return { bytes: Buffer.concat(out), class: { kind: 'notUtf8' }, label: 'notUtf8:bytes' };
}

function validBuiltBody(r: Random, world: FuzzWorld): BuiltBody {
  const { json, verdicts } = validBody(r, world);
  const variant = weighted(r, [[80, 'plain'], [5, 'bom'], [5, 'deepExtra'], [3, 'hugeExtra'], [7, 'whitespace']]);
  const items = json.value as Record<string, unknown>[];
  let text: string;
  if (variant === 'deepExtra') {
    const depth = weighted(r, [[5, () => int(r, 10, 100)], [3, () => int(r, 100, 2000)], [1, () => int(r, 2000, 20_000)]])();
    const nested = NESTING(depth, chance(r, 0.5) ? 'array' : 'object');
    const last = JSON.stringify(json);
    // An unknown property holding the nesting, on the object or on an item (allowed: unknown fields are ignored).
    text = chance(r, 0.5) ? `${last.slice(0, -1)},"deep":${nested}}` : last.replace('{"value":[{', `{"value":[{"deep":${nested},`);
  } else if (variant === 'hugeExtra') {
    (items[0] ?? {}).hugeExtra = 'x'.repeat(int(r, 10_000, 600_000));
    text = JSON.stringify(json);
  } else if (variant === 'whitespace') {
    text = `${pick(r, [' ', '\n', '\r\n', '\t'])}${serialize(r, json)}${pick(r, ['', ' ', '\n', '\r\n  '])}`;
  } else {
    text = serialize(r, json);
  }
  // A UTF-8 BOM is removed by the decoder: the rest is still a valid body.
  const bytes = variant === 'bom' ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]) : Buffer.from(text, 'utf8');
  return { bytes, class: { kind: 'valid', verdicts }, label: `valid:${variant}:${verdicts.length}` };
}

/** A valid body padded with spaces to exactly `size` bytes (a single unknown or forged item). */
function paddedValidBody(r: Random, world: FuzzWorld, size: number): BuiltBody {
  const { json, verdicts } = validBody(r, world, 1);
  const text = JSON.stringify(json);
  const padding = size - Buffer.byteLength(text, 'utf8');
  if (padding < 0) throw new Error('body larger than the padding target');
  return { bytes: Buffer.from(`${text.slice(0, -1)}${' '.repeat(padding)}}`, 'utf8'), class: { kind: 'valid', verdicts }, label: `valid:padded:${size}` };
}

// ---- requests ------------------------------------------------------------------------------

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'APPLICATION/JSON;charset=UTF-8', 'application/json;', 'application/json ; charset=latin1', 'application/json; odata.metadata=minimal'];
const OTHER_TYPES = ['text/plain', 'text/json', 'application/jsonp', 'application/json-patch+json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/xml', '', 'application', 'json', 'application/ json', 'application/json, text/plain', 'application/*', '*/*', 'application/jsonx'];
const OTHER_METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PURGE'];

interface Query {
  parts: string[];
  codeRight: boolean;
  label: string;
}

/** encodeURIComponent, but a lone surrogate becomes U+FFFD (as Buffer encodes it) instead of throwing. */
function enc(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

function codePart(r: Random, key: string): Query {
  const flipCase = (text: string) => {
    const at = [...text].findIndex((c) => c.toLowerCase() !== c.toUpperCase());
    if (at < 0) return `${text}x`;
    const c = text.charAt(at);
    return `${text.slice(0, at)}${c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()}${text.slice(at + 1)}`;
  };
  return weighted<() => Query>(r, [
    [80, () => ({ parts: [`code=${enc(key)}`], codeRight: true, label: 'code' })],
    [4, () => ({ parts: [`code=${percentEncodeAll(key)}`], codeRight: true, label: 'codePercent' })],
    [3, () => ({ parts: [`code=${enc(key)}`, `code=${enc(token64(r, 32))}`], codeRight: true, label: 'codeTwiceRightFirst' })],
    [2, () => ({ parts: [], codeRight: false, label: 'noCode' })],
    [1, () => ({ parts: ['code='], codeRight: false, label: 'emptyCode' })],
    [1, () => ({ parts: ['code'], codeRight: false, label: 'bareCode' })],
    [2, () => ({ parts: [`code=${enc(token64(r, 32))}`], codeRight: false, label: 'wrongCode' })],
    [1, () => ({ parts: [`code=${enc(key)}x`], codeRight: false, label: 'codeSuffix' })],
    [1, () => ({ parts: [`code=${enc(key.slice(0, -1))}`], codeRight: false, label: 'codeShort' })],
    [1, () => ({ parts: [`code=${enc(flipCase(key))}`], codeRight: false, label: 'codeCase' })],
    [1, () => ({ parts: [`code=${enc(key)}+`], codeRight: false, label: 'codePlusSpace' })],
    [1, () => ({ parts: [`code=${enc(token64(r, 32))}`, `code=${enc(key)}`], codeRight: false, label: 'codeTwiceWrongFirst' })],
    [1, () => ({ parts: [`Code=${enc(key)}`], codeRight: false, label: 'codeParamCase' })],
    [1, () => ({ parts: [`code=${enc(`${key}\u0000`)}`], codeRight: false, label: 'codeNul' })],
    [1, () => ({ parts: [`code=${enc(awkward(r, int(r, 1, 64)))}`], codeRight: false, label: 'codeAwkward' })],
  ])();
}

/** A raw validationToken query part, or none. */
function tokenPart(r: Random): { parts: string[]; label: string } {
  if (!chance(r, 0.07)) return { parts: [], label: '' };
  return weighted<() => { parts: string[]; label: string }>(r, [
    [8, () => ({ parts: [`validationToken=${enc(`Validation: Testing client application reachability for subscription Request-Id: ${printable(r, 36)}`)}`], label: 'token' })],
    [6, () => ({ parts: ['validationToken='], label: 'tokenEmpty' })],
    [4, () => ({ parts: ['validationToken'], label: 'tokenBare' })],
    [3, () => ({ parts: [`validationToken=${'a'.repeat(MAX_TOKEN_CHARS)}`], label: 'token2048' })],
    [5, () => ({ parts: [`validationToken=${'a'.repeat(MAX_TOKEN_CHARS + 1)}`], label: 'token2049' })],
    [3, () => ({ parts: [`validationToken=${'b'.repeat(int(r, MAX_TOKEN_CHARS + 2, 8000))}`], label: 'tokenLong' })],
    // 2048 characters that take more bytes: the limit is on characters.
    [2, () => ({ parts: [`validationToken=${enc('\u00e9'.repeat(MAX_TOKEN_CHARS))}`], label: 'token2048Multibyte' })],
    [2, () => ({ parts: [`validationToken=${'%41'.repeat(MAX_TOKEN_CHARS - 1)}%41%41`], label: 'token2049Encoded' })],
    [3, () => ({ parts: [`validationToken=${pick(r, ['a+b', 'a%20b', '%zz', '%', '%E2%82%AC', '%FF', '%C3', '%00', '+', '%2B', '<script>alert(1)</script>', '%3Cscript%3E', '%ED%A0%80', 'a%26code%3Dx'])}`], label: 'tokenEncoding' })],
    [2, () => ({ parts: [`validationToken=${enc(awkward(r, int(r, 1, 200)))}`], label: 'tokenAwkward' })],
    [2, () => ({ parts: ['validationToken=', `validationToken=${enc('second')}`], label: 'tokenTwiceEmptyFirst' })],
    [2, () => ({ parts: [`validationToken=${enc('first')}`, 'validationToken='], label: 'tokenTwiceFullFirst' })],
  ])();
}

function pathOf(r: Random): { path: string; webhook: boolean } {
  if (chance(r, 0.03)) {
    return { path: pick(r, ['/api/graph/notification', '/api/graph', '/API/graph/notifications', '/api/graph/notifications/x', '/api/graph/lifecycles', '/', '/api/Graph/lifecycle']), webhook: false };
  }
  const base = chance(r, 0.6) ? NOTIFICATION_PATH : LIFECYCLE_PATH;
  return { path: `${base}${weighted(r, [[90, ''], [7, '/'], [3, '//']])}`, webhook: true };
}

/** Merges the lists in a random order that keeps each list's own order. */
function interleave<T>(r: Random, lists: readonly (readonly T[])[]): T[] {
  const rest = lists.map((list) => [...list]).filter((list) => list.length > 0);
  const out: T[] = [];
  while (rest.length > 0) {
    const at = Math.floor(r() * rest.length);
    const list = rest[at] ?? [];
    out.push(list.shift() as T);
    if (list.length === 0) rest.splice(at, 1);
  }
  return out;
}

function rejectedWith(status: number, errorIncludes: string): Expected {
  return { status, errorIncludes, counters: { requests: 1, rejected: 1 } };
}

/** Special cases placed by index (bounded counts): over-size bodies, exactly 1 MiB, very deep nesting. */
function specialBody(r: Random, world: FuzzWorld, index: number): { body: BuiltBody; chunked: boolean } | undefined {
  if (index % 250 === 17) {
    // About 40 in 10,000: a few dozen bodies over 1 MiB, announced by Content-Length or chunked.
    const size = pick(r, [MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 1000, 2 * MAX_BODY_BYTES, Math.floor(1.5 * MAX_BODY_BYTES)]);
    const body = chance(r, 0.5) ? paddedValidBody(r, world, size) : { bytes: Buffer.alloc(size, 0x20), class: { kind: 'notJson' } as BodyClass, label: `spaces:${size}` };
    return { body: { ...body, label: `oversize:${body.label}` }, chunked: chance(r, 0.5) };
  }
  if (index % 1000 === 611) {
    return { body: paddedValidBody(r, world, MAX_BODY_BYTES), chunked: chance(r, 0.5) };
  }
  if (index % 2500 === 1234) {
    // Nesting as deep as 1 MiB allows: in an ignored property (valid), or as the items (400).
    const depth = int(r, 400_000, 520_000);
    if (chance(r, 0.5)) {
      const { json, verdicts } = validBody(r, world, 1);
      const text = `${JSON.stringify(json).slice(0, -1)},"deep":${NESTING(depth, 'array')}}`;
      return { body: { bytes: Buffer.from(text), class: { kind: 'valid', verdicts }, label: `valid:veryDeep:${depth}` }, chunked: false };
    }
    return { body: { bytes: Buffer.from(`{"value":${NESTING(depth, 'array')}}`), class: { kind: 'badShape', field: 'value.0' }, label: `badShape:veryDeep:${depth}` }, chunked: false };
  }
  return undefined;
}

export function generateCase(seed: number, index: number, world: FuzzWorld): FuzzCase {
  const r = caseRandom(seed, index);
  const special = specialBody(r, world, index);
  const { path, webhook } = pathOf(r);
  const method = chance(r, special !== undefined ? 0.85 : 0.9) ? 'POST' : pick(r, OTHER_METHODS);
  const code = codePart(r, world.webhookKey);
  const token = tokenPart(r);
  const junk = chance(r, 0.1) ? [pick(r, ['foo=bar', 'clientState=x', 'validationtoken=x', 'code%3D=x', '&', '=', 'a=%zz', `x=${'y'.repeat(500)}`])] : [];
  // Code, token and junk parameters interleaved at random, each keeping its own order (the first code or token counts).
  const query = interleave(r, [code.parts, token.parts, junk]).join('&');
  const target = `${path}${query === '' && chance(r, 0.5) ? '' : `?${query}`}`;

  const contentType = chance(r, 0.9) ? { value: pick(r, JSON_TYPES) as string | undefined, json: true } : { value: chance(r, 0.3) ? undefined : pick(r, OTHER_TYPES), json: false };
  let built: BuiltBody;
  let chunked = chance(r, 0.15);
  if (special !== undefined) {
    built = special.body;
    chunked = special.chunked;
  } else {
    built = weighted<() => BuiltBody>(r, [
      [48, () => validBuiltBody(r, world)],
      [20, () => badShapeBody(r, world)],
      [16, () => notJsonBody(r, world)],
      [9, () => notUtf8Body(r, world)],
      [4, () => ({ bytes: Buffer.alloc(0), class: { kind: 'notJson' }, label: 'empty' })],
    ])();
  }
  const headers: Record<string, string> = {};
  if (contentType.value !== undefined) headers['Content-Type'] = contentType.value;
  // Node's default 16 KiB header limit is not what is under test: long junk only beside a short target.
  if (chance(r, 0.05) && target.length < 8000) headers['X-Junk'] = printable(r, int(r, 0, 4000));
  if (chance(r, 0.03)) headers['Content-Encoding'] = 'gzip';
  if (chance(r, 0.03)) headers['Client-Request-Id'] = guid(r);
  // A GET or HEAD without a body is what clients send; the others keep theirs.
  const body = (method === 'GET' || method === 'HEAD') && chance(r, 0.7) ? undefined : built.bytes;

  // The sanity of the construction, by the URL standard (what any web server decodes).
  const params = new URLSearchParams(query);
  if ((params.get('code') === world.webhookKey) !== code.codeRight) throw new Error(`generator: code facet ${code.label} disagrees with the query ${query.slice(0, 200)}`);
  const decodedToken = params.get('validationToken');

  let expected: Expected;
  if (!webhook) expected = { status: 404, counters: {} };
  else if (method !== 'POST') expected = rejectedWith(405, 'only POST');
  else if (!code.codeRight) expected = rejectedWith(401, 'code');
  else if (decodedToken !== null) {
    expected = decodedToken === '' || decodedToken.length > MAX_TOKEN_CHARS
      ? rejectedWith(400, 'validationToken')
      : { status: 200, token: decodedToken, counters: { requests: 1, validations: 1 } };
  } else if (!contentType.json) expected = rejectedWith(415, 'Content-Type');
  else if ((body?.length ?? 0) > MAX_BODY_BYTES) expected = rejectedWith(413, 'body over');
  else {
    const bodyClass: BodyClass = body === undefined ? { kind: 'notJson' } : built.class;
    if (bodyClass.kind === 'notUtf8') expected = rejectedWith(400, 'body: not UTF-8');
    else if (bodyClass.kind === 'notJson') expected = rejectedWith(400, 'body: not JSON');
    else if (bodyClass.kind === 'badShape') expected = rejectedWith(400, `${bodyClass.field}: `);
    else {
      const counters: Partial<Record<CounterName, number>> = { requests: 1 };
      for (const verdict of bodyClass.verdicts) counters[verdict] = (counters[verdict] ?? 0) + 1;
      expected = { status: 202, counters };
    }
  }
  const label = [method, path, code.label, token.label, `ct=${contentType.value ?? '(none)'}`, built.label, body === undefined ? 'noBody' : `${body.length}B`, chunked ? 'chunked' : '']
    .filter((s) => s !== '').join(' ');
  return { index, label, method, target, headers, body, chunked, expected };
}
