/**
 * A fake Signature 365 directory import API over real HTTPS on 127.0.0.1, for tests and for
 * `npm run demo`. It follows the contract in docs/signature365-contract.md on its own
 * (it deliberately imports nothing from src/, so a client bug cannot hide behind a shared type)
 * and uses Node built-ins only, because the demo loads it outside the test runner.
 *
 * Several tenants at once: each tenant is recognised by its token. Tests steer it through
 * `faults` (throttling, server errors, auth failures, 413, slow answers, rejected items) and read
 * back what it holds through `tenant(name)` and what it was asked through `requests`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

export interface FakeTenantOptions {
  name: string;
  token: string;
  tenantId: string;
}

export interface StartFakeSignature365Options {
  tenants: FakeTenantOptions[];
  /** Defaults to 0 (a free port). */
  port?: number;
  /** PEM cert and key; default test/fakes/tls/server.pem and server.key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** A user as the fake holds it: the contract's record, kept as received. */
export type FakeUserRecord = Record<string, unknown> & { id: string };
export type FakeGroupRecord = Record<string, unknown> & { id: string };

export interface FakeTenant {
  readonly name: string;
  readonly tenantId: string;
  /** Sources (Entra tenant ids) this tenant holds anything for. */
  sources(): string[];
  /** Copies of the users held for one source, in insertion order. */
  users(source: string): FakeUserRecord[];
  user(source: string, id: string): FakeUserRecord | undefined;
  groups(source: string): FakeGroupRecord[];
  group(source: string, id: string): FakeGroupRecord | undefined;
  /** Puts records in place without a request, to arrange a test. */
  seed(source: string, records: { users?: FakeUserRecord[]; groups?: FakeGroupRecord[] }): void;
  clear(): void;
}

export interface FakeRequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The `source` query parameter or body field, when present. */
  source: string | null;
  /** Name of the tenant whose token was presented; null for an unknown or missing token. */
  tenant: string | null;
  upserts: number;
  deletes: number;
  bytes: number;
  status: number;
  /** Which injected fault answered, if one did. */
  fault: string | null;
  startedAt: string;
  durationInMs: number;
}

/** Which requests a fault applies to; every given field must match. */
export interface FaultMatch {
  tenant?: string;
  method?: string;
  /** Exact path, e.g. /api/directory/v1/users/batch. */
  path?: string;
}

export interface FaultSpec {
  /** Answer with this status instead of handling the request (429, 5xx, 401, 403, 413, ...). */
  status?: number;
  /** Retry-After: seconds, or a date sent in HTTP-date form. */
  retryAfter?: number | Date;
  /** Wait this long before answering (or before handling the request when no status is given). */
  delayInMs?: number;
}

export interface FakeFaults {
  /** Applies `spec` to the next `count` requests that match. Faults are used in the order they were added. */
  inject(spec: FaultSpec, options?: { count?: number; match?: FaultMatch }): void;
  /** 429 with Retry-After for the next `count` matching requests. */
  throttle(count: number, retryAfter: number | Date, match?: FaultMatch): void;
  /** The given status (500/502/503/504/401/403/413...) for the next `count` matching requests. */
  failNext(count: number, status: number, options?: { retryAfter?: number | Date; match?: FaultMatch }): void;
  /** Delays the next `count` matching requests, then handles them normally. */
  slow(count: number, delayInMs: number, match?: FaultMatch): void;
  /** Items with this id (upsert or delete) answer 400 with `reason` inside an otherwise accepted batch. */
  rejectItem(id: string, reason?: string): void;
  /**
   * A batch holding this id (upsert or delete) is refused as a whole: 400 with `reason` and no
   * per-item results, as a destination does with a record it cannot even parse.
   */
  rejectBatchWith(id: string, reason?: string): void;
  /** Lowers the batch limits (413 above them), e.g. to make the client split recursively. */
  lowerLimits(limits: { maxItems?: number; maxBytes?: number }): void;
  /** Pending faults not yet used. */
  pending(): number;
  /** Removes every fault, rejection and lowered limit. */
  clear(): void;
}

export interface FakeSignature365 {
  /**
   * Batch POSTs being handled right now per tenant, and the most seen at once since the start or
   * the last `resetConcurrency()` (counted from the moment a request arrives to its answer).
   */
  concurrency(tenant: string): { current: number; max: number };
  resetConcurrency(): void;
  /** https://127.0.0.1:<port> */
  readonly endpoint: string;
  /** The CA that signed the server certificate, for clients that cannot use NODE_EXTRA_CA_CERTS. */
  readonly caCertificatePem: string;
  tenant(name: string): FakeTenant;
  /** Every request answered so far, oldest first. */
  readonly requests: FakeRequestLogEntry[];
  readonly faults: FakeFaults;
  close(): Promise<void>;
}

/** The contract's limits: at most 100 items and 1 MiB of JSON per batch. */
export const CONTRACT_MAX_ITEMS = 100;
export const CONTRACT_MAX_BYTES = 1024 * 1024;
/** Beyond this the fake stops reading and drops the connection, so a runaway client cannot fill memory. */
const HARD_BODY_CEILING_BYTES = 32 * 1024 * 1024;

const API = '/api/directory/v1';
const MAILBOX_TYPES = new Set(['user', 'shared', 'room', 'equipment', 'unknown']);
const USER_STRING_FIELDS = [
  'userPrincipalName', 'mail', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
  'companyName', 'officeLocation', 'streetAddress', 'city', 'state', 'postalCode', 'country',
  'mobilePhone', 'faxNumber', 'employeeId', 'userType',
] as const;
const USER_LIST_FIELDS = ['businessPhones', 'proxyAddresses', 'groups'] as const;
const USER_FIELDS = new Set<string>([
  'id', ...USER_STRING_FIELDS, ...USER_LIST_FIELDS, 'accountEnabled', 'manager', 'mailboxType', 'extensionAttributes',
]);
const GROUP_STRING_FIELDS = ['displayName', 'mail', 'description'] as const;
const GROUP_FIELDS = new Set<string>(['id', ...GROUP_STRING_FIELDS]);
const MANAGER_FIELDS = new Set(['id', 'displayName', 'mail']);

type Kind = 'users' | 'groups';

interface TenantState {
  options: FakeTenantOptions;
  bySource: Map<string, { users: Map<string, FakeUserRecord>; groups: Map<string, FakeGroupRecord> }>;
}

interface PendingFault {
  spec: FaultSpec;
  remaining: number;
  match: FaultMatch;
}

class BadRequest extends Error {}

export async function startFakeSignature365(options: StartFakeSignature365Options): Promise<FakeSignature365> {
  const tlsDir = resolve(__dirname, '..', 'tls');
  const tls = options.tls ?? { cert: readFileSync(resolve(tlsDir, 'server.pem')), key: readFileSync(resolve(tlsDir, 'server.key')) };
  const caCertificatePem = options.tls ? '' : readFileSync(resolve(tlsDir, 'ca.pem'), 'utf8');

  const tenantsByToken = new Map<string, TenantState>();
  const tenantsByName = new Map<string, TenantState>();
  for (const tenant of options.tenants) {
    if (tenantsByToken.has(tenant.token) || tenantsByName.has(tenant.name)) {
      throw new Error(`Fake Signature 365: tenant ${tenant.name} repeats a name or token`);
    }
    const state: TenantState = { options: { ...tenant }, bySource: new Map() };
    tenantsByToken.set(tenant.token, state);
    tenantsByName.set(tenant.name, state);
  }

  const requests: FakeRequestLogEntry[] = [];
  let faultQueue: PendingFault[] = [];
  const rejectedItems = new Map<string, string>();
  const batchPoisons = new Map<string, string>();
  const inFlight = new Map<string, { current: number; max: number }>();
  let limits = { maxItems: CONTRACT_MAX_ITEMS, maxBytes: CONTRACT_MAX_BYTES };
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> => new Promise((done) => {
    const timer = setTimeout(() => { timers.delete(timer); done(); }, ms);
    timers.add(timer);
  });

  function storeOf(tenant: TenantState, source: string) {
    let store = tenant.bySource.get(source);
    if (!store) {
      store = { users: new Map(), groups: new Map() };
      tenant.bySource.set(source, store);
    }
    return store;
  }

  function takeFault(method: string, path: string, tenant: string | null): PendingFault | undefined {
    const fault = faultQueue.find((f) => f.remaining > 0
      && (f.match.method === undefined || f.match.method.toUpperCase() === method)
      && (f.match.path === undefined || f.match.path === path)
      && (f.match.tenant === undefined || f.match.tenant === tenant));
    if (fault) {
      fault.remaining -= 1;
      faultQueue = faultQueue.filter((f) => f.remaining > 0);
    }
    return fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = new Date();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://fake.invalid');
    const path = url.pathname;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const tenant = token === undefined ? undefined : tenantsByToken.get(token);
    const entry: FakeRequestLogEntry = {
      method, path, source: url.searchParams.get('source'), tenant: tenant?.options.name ?? null,
      upserts: 0, deletes: 0, bytes: 0, status: 0, fault: null, startedAt: startedAt.toISOString(), durationInMs: 0,
    };
    let leave = (): void => undefined;
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      leave();
      const text = body === undefined ? '' : JSON.stringify(body);
      entry.status = status;
      entry.durationInMs = Date.now() - startedAt.getTime();
      requests.push(entry);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };

    // Counted from arrival, before the body is read, so a client holding many requests open shows.
    const counted = method === 'POST' && entry.tenant !== null ? entry.tenant : undefined;
    if (counted !== undefined) {
      const slot = inFlight.get(counted) ?? { current: 0, max: 0 };
      slot.current += 1;
      slot.max = Math.max(slot.max, slot.current);
      inFlight.set(counted, slot);
      // Left when the answer is written (before the client can see it), or when the connection drops.
      let left = false;
      leave = () => {
        if (left) return;
        left = true;
        slot.current -= 1;
      };
      res.once('close', leave);
    }
    const body = await readBody(req);
    if (body === undefined) {
      entry.status = 413;
      requests.push(entry);
      req.destroy();
      return;
    }
    entry.bytes = body.length;
    countItems(body, entry);

    const fault = takeFault(method, path, entry.tenant);
    if (fault) {
      const { status, retryAfter, delayInMs } = fault.spec;
      if (delayInMs !== undefined) await sleep(delayInMs);
      if (status !== undefined) {
        entry.fault = `status ${status}`;
        const headers: Record<string, string> = {};
        if (retryAfter !== undefined) {
          headers['Retry-After'] = retryAfter instanceof Date ? retryAfter.toUTCString() : String(retryAfter);
        }
        answer(status, { error: `Injected fault: ${status}` }, headers);
        return;
      }
      entry.fault = `delay ${delayInMs ?? 0} ms`;
    }

    const route = routeOf(method, path);
    if (route === 'notFound') return answer(404, { error: `No such endpoint: ${path}` });
    if (route === 'methodNotAllowed') return answer(405, { error: `${method} is not allowed on ${path}` });
    if (!tenant) return answer(401, { error: 'Missing or unknown integration token' });

    try {
      switch (route.op) {
        case 'connection':
          return answer(200, { tenant: tenant.options.name, tenantId: tenant.options.tenantId });
        case 'list': {
          const source = url.searchParams.get('source');
          if (!source) throw new BadRequest('Query parameter source is required');
          const held = tenant.bySource.get(source)?.[route.kind];
          return answer(200, { value: held ? [...held.values()].map((r) => structuredClone(r)) : [] });
        }
        case 'batch': {
          if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
            throw new BadRequest('Content-Type must be application/json');
          }
          if (body.length > limits.maxBytes) {
            return answer(413, { error: `Batch of ${body.length} bytes exceeds ${limits.maxBytes} bytes` });
          }
          const batch = parseBatch(body, route.kind);
          const items = batch.upserts.length + batch.deletes.length;
          if (items > limits.maxItems) {
            return answer(413, { error: `Batch of ${items} items exceeds ${limits.maxItems} items` });
          }
          const poisoned = [...batch.upserts.map((record) => record.id), ...batch.deletes].find((id) => batchPoisons.has(id));
          if (poisoned !== undefined) {
            entry.fault = `batch rejected for ${poisoned}`;
            return answer(400, { error: batchPoisons.get(poisoned) ?? 'Rejected by the test' });
          }
          return answer(200, { results: applyBatch(tenant, route.kind, batch) });
        }
      }
    } catch (error) {
      if (error instanceof BadRequest) return answer(400, { error: error.message });
      throw error;
    }
  }

  function applyBatch(tenant: TenantState, kind: Kind, batch: ParsedBatch) {
    const held = storeOf(tenant, batch.source)[kind];
    const results: { id: string; status: number; error?: string }[] = [];
    for (const record of batch.upserts) {
      const rejection = rejectedItems.get(record.id);
      if (rejection !== undefined) {
        results.push({ id: record.id, status: 400, error: rejection });
        continue;
      }
      held.delete(record.id); // re-insert so listing order follows the last write
      held.set(record.id, structuredClone(record));
      results.push({ id: record.id, status: 200 });
    }
    for (const id of batch.deletes) {
      const rejection = rejectedItems.get(id);
      if (rejection !== undefined) results.push({ id, status: 400, error: rejection });
      else if (held.delete(id)) results.push({ id, status: 200 });
      else results.push({ id, status: 404, error: `${kind === 'users' ? 'User' : 'Group'} ${id} is not held` });
    }
    return results;
  }

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: `Fake Signature 365 failed: ${error instanceof Error ? error.message : String(error)}` }));
      }
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;

  const faults: FakeFaults = {
    inject(spec, { count = 1, match = {} } = {}) {
      if (!(count > 0)) throw new Error('Fake Signature 365: a fault needs a positive count');
      faultQueue.push({ spec: { ...spec }, remaining: count, match: { ...match } });
    },
    throttle(count, retryAfter, match) {
      faults.inject({ status: 429, retryAfter }, { count, ...(match ? { match } : {}) });
    },
    failNext(count, status, { retryAfter, match } = {}) {
      faults.inject({ status, ...(retryAfter === undefined ? {} : { retryAfter }) }, { count, ...(match ? { match } : {}) });
    },
    slow(count, delayInMs, match) {
      faults.inject({ delayInMs }, { count, ...(match ? { match } : {}) });
    },
    rejectItem(id, reason = 'Rejected by the test') {
      rejectedItems.set(id, reason);
    },
    rejectBatchWith(id, reason = 'Rejected by the test: the batch cannot be read') {
      batchPoisons.set(id, reason);
    },
    lowerLimits(lowered) {
      limits = {
        maxItems: Math.min(limits.maxItems, lowered.maxItems ?? CONTRACT_MAX_ITEMS),
        maxBytes: Math.min(limits.maxBytes, lowered.maxBytes ?? CONTRACT_MAX_BYTES),
      };
    },
    pending: () => faultQueue.reduce((sum, f) => sum + f.remaining, 0),
    clear() {
      faultQueue = [];
      rejectedItems.clear();
      batchPoisons.clear();
      limits = { maxItems: CONTRACT_MAX_ITEMS, maxBytes: CONTRACT_MAX_BYTES };
    },
  };

  return {
    concurrency: (tenant) => ({ ...(inFlight.get(tenant) ?? { current: 0, max: 0 }) }),
    resetConcurrency() {
      for (const slot of inFlight.values()) slot.max = slot.current;
    },
    endpoint: `https://127.0.0.1:${port}`,
    caCertificatePem,
    requests,
    faults,
    tenant(name) {
      const state = tenantsByName.get(name);
      if (!state) throw new Error(`Fake Signature 365: no tenant named ${name}`);
      return tenantView(state, storeOf);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function tenantView(
  state: TenantState,
  storeOf: (tenant: TenantState, source: string) => { users: Map<string, FakeUserRecord>; groups: Map<string, FakeGroupRecord> },
): FakeTenant {
  const held = (source: string) => state.bySource.get(source);
  return {
    name: state.options.name,
    tenantId: state.options.tenantId,
    sources: () => [...state.bySource.keys()],
    users: (source) => [...(held(source)?.users.values() ?? [])].map((r) => structuredClone(r)),
    user: (source, id) => {
      const record = held(source)?.users.get(id);
      return record && structuredClone(record);
    },
    groups: (source) => [...(held(source)?.groups.values() ?? [])].map((r) => structuredClone(r)),
    group: (source, id) => {
      const record = held(source)?.groups.get(id);
      return record && structuredClone(record);
    },
    seed(source, records) {
      const store = storeOf(state, source);
      for (const user of records.users ?? []) store.users.set(user.id, structuredClone(user));
      for (const group of records.groups ?? []) store.groups.set(group.id, structuredClone(group));
    },
    clear: () => state.bySource.clear(),
  };
}

type Route =
  | { op: 'connection' }
  | { op: 'batch'; kind: Kind }
  | { op: 'list'; kind: Kind }
  | 'notFound'
  | 'methodNotAllowed';

function routeOf(method: string, path: string): Route {
  const routes: Record<string, { method: string; route: Route }> = {
    [`${API}/connection`]: { method: 'GET', route: { op: 'connection' } },
    [`${API}/users/batch`]: { method: 'POST', route: { op: 'batch', kind: 'users' } },
    [`${API}/groups/batch`]: { method: 'POST', route: { op: 'batch', kind: 'groups' } },
    [`${API}/users`]: { method: 'GET', route: { op: 'list', kind: 'users' } },
    [`${API}/groups`]: { method: 'GET', route: { op: 'list', kind: 'groups' } },
  };
  const found = Object.prototype.hasOwnProperty.call(routes, path) ? routes[path] : undefined;
  if (!found) return 'notFound';
  return found.method === method ? found.route : 'methodNotAllowed';
}

/** Reads the whole body; undefined when it passes the hard ceiling. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > HARD_BODY_CEILING_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Best effort, for the log only: a faulted or rejected request still shows what it carried. */
function countItems(body: Buffer, entry: FakeRequestLogEntry): void {
  if (body.length === 0) return;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (!isObject(parsed)) return;
    if (Array.isArray(parsed.upserts)) entry.upserts = parsed.upserts.length;
    if (Array.isArray(parsed.deletes)) entry.deletes = parsed.deletes.length;
    if (typeof parsed.source === 'string') entry.source = parsed.source;
  } catch {
    // not JSON: the handler answers 400 later
  }
}

interface ParsedBatch {
  source: string;
  upserts: (Record<string, unknown> & { id: string })[];
  deletes: string[];
}

function parseBatch(body: Buffer, kind: Kind): ParsedBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('Body is not valid JSON');
  }
  if (!isObject(parsed)) throw new BadRequest('Body must be a JSON object');
  for (const key of Object.keys(parsed)) {
    if (!['source', 'upserts', 'deletes'].includes(key)) throw new BadRequest(`Unknown body property: ${key}`);
  }
  const { source, upserts, deletes } = parsed;
  if (typeof source !== 'string' || source.length === 0) throw new BadRequest('source must be a non-empty string');
  if (!Array.isArray(upserts)) throw new BadRequest('upserts must be an array');
  if (!Array.isArray(deletes)) throw new BadRequest('deletes must be an array');
  deletes.forEach((id, i) => {
    if (typeof id !== 'string' || id.length === 0) throw new BadRequest(`deletes[${i}] must be a non-empty string`);
  });
  const records = upserts.map((record, i) => (kind === 'users' ? checkUser(record, `upserts[${i}]`) : checkGroup(record, `upserts[${i}]`)));
  return { source, upserts: records, deletes: deletes as string[] };
}

function checkUser(record: unknown, at: string): Record<string, unknown> & { id: string } {
  const user = checkRecordShape(record, at, USER_FIELDS);
  for (const field of USER_STRING_FIELDS) expectNullableString(user[field], `${at}.${field}`);
  for (const field of USER_LIST_FIELDS) {
    const list = user[field];
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      throw new BadRequest(`${at}.${field} must be an array of strings ([] when empty)`);
    }
  }
  if (user.accountEnabled !== null && typeof user.accountEnabled !== 'boolean') {
    throw new BadRequest(`${at}.accountEnabled must be a boolean or null`);
  }
  if (user.mailboxType !== null && !(typeof user.mailboxType === 'string' && MAILBOX_TYPES.has(user.mailboxType))) {
    throw new BadRequest(`${at}.mailboxType must be one of ${[...MAILBOX_TYPES].join(', ')} or null`);
  }
  if (user.manager !== null) {
    const manager = checkRecordShape(user.manager, `${at}.manager`, MANAGER_FIELDS);
    expectNullableString(manager.displayName, `${at}.manager.displayName`);
    expectNullableString(manager.mail, `${at}.manager.mail`);
  }
  const extensions = user.extensionAttributes;
  if (extensions !== null) {
    if (!isObject(extensions)) throw new BadRequest(`${at}.extensionAttributes must be an object or null`);
    for (const [key, value] of Object.entries(extensions)) expectNullableString(value, `${at}.extensionAttributes.${key}`);
  }
  return user;
}

function checkGroup(record: unknown, at: string): Record<string, unknown> & { id: string } {
  const group = checkRecordShape(record, at, GROUP_FIELDS);
  for (const field of GROUP_STRING_FIELDS) expectNullableString(group[field], `${at}.${field}`);
  return group;
}

/** Every property present (absent values are null, never omitted), none unknown, and a string id. */
function checkRecordShape(record: unknown, at: string, fields: ReadonlySet<string>): Record<string, unknown> & { id: string } {
  if (!isObject(record)) throw new BadRequest(`${at} must be an object`);
  for (const field of fields) {
    if (!Object.prototype.hasOwnProperty.call(record, field)) {
      throw new BadRequest(`${at}.${field} is missing (absent values are null, lists [], never omitted)`);
    }
  }
  for (const key of Object.keys(record)) {
    if (!fields.has(key)) throw new BadRequest(`${at}.${key} is not a property of the record`);
  }
  const { id } = record;
  if (typeof id !== 'string' || id.length === 0) throw new BadRequest(`${at}.id must be a non-empty string`);
  return { ...record, id };
}

function expectNullableString(value: unknown, at: string): void {
  if (value !== null && typeof value !== 'string') throw new BadRequest(`${at} must be a string or null`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
