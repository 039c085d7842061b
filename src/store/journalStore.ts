/**
 * Table `Journal`: what pulls changed and the planner has not yet acted on, per source. It is what
 * makes planning proportional to change and still crash-safe: a pull records each batch's changes
 * here before it writes the mirror rows, and the planner removes entries only once the work they
 * caused is durably recorded (sent and acknowledged, or queued). A crash anywhere leaves the entry,
 * and the next run plans it again (planning is idempotent against the ledger).
 *
 * PartitionKey `<source>`; RowKeys (each entry may span several rows, `|<part>`):
 * - `c|<round start>|<round id>|<1 users, 2 groups>|<batch>`: a change entry (reports as JSON);
 * - `d|<time>|<round id>`: "plan the whole source" (a full round completed);
 * - `s|<round id>|<kind>|<batch>`: the ids (and, for groups, member slices) a full round has seen,
 *   so a resumed full round still knows what it saw before the crash and sweeps correctly.
 * A replayed batch writes an entry of its own (the key ends with the pull's attempt id): the first
 * attempt may have written some of its mirror rows before it died, so the replay sees fewer changes,
 * and replacing the first entry would lose those. The planner unions every entry it finds.
 */
import { randomBytes } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { DirectoryKind, GroupChangeReport, UserChangeReport } from '../sync/directory';
import type { ChangeJournal, JournalEntry, SeenInRound } from '../sync/ports';
import { assertSourceName, readColumn, SCHEMA_VERSION, TABLE_NAMES } from './entityCodec';
import { withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, submitBatched, type Row, type TableAccessOptions } from './tableBatch';

/**
 * Characters per row: an entity holds 1 MiB counted at 2 bytes a character, and a string column
 * 32K characters, so a part is 14 columns of 30,000 characters.
 */
const CHARS_PER_COLUMN = 30_000;
const COLUMNS_PER_PART = 14;
const CHARS_PER_PART = CHARS_PER_COLUMN * COLUMNS_PER_PART;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * The rows of one logical entry: its JSON text cut into parts, each part into columns. Every part
 * carries the part count and an id of this write, so a reader takes exactly the parts of one write
 * (an entry written again, shorter, leaves stale parts behind that no reader mistakes for its own).
 */
function entryRows(partitionKey: string, baseKey: string, text: string): TransactionAction[] {
  const parts: string[] = [];
  for (let start = 0; start < Math.max(1, text.length); start += CHARS_PER_PART) parts.push(text.slice(start, start + CHARS_PER_PART));
  const write = randomBytes(6).toString('hex');
  return parts.map((part, index): TransactionAction => {
    const columns: Record<string, string | number> = { v: SCHEMA_VERSION, n: parts.length, c: Math.ceil(part.length / CHARS_PER_COLUMN), wid: write };
    for (let column = 0; column * CHARS_PER_COLUMN < part.length; column += 1) {
      columns[`t${column}`] = part.slice(column * CHARS_PER_COLUMN, (column + 1) * CHARS_PER_COLUMN);
    }
    return ['upsert', { partitionKey, rowKey: `${baseKey}|${pad(index, 3)}`, ...columns }, 'Replace'];
  });
}

interface AssembledEntry {
  baseKey: string;
  /** Every row under the entry's key, stale parts included (consuming the entry removes them all). */
  rowKeys: string[];
  /** Undefined when a part is missing: a write cut short, whose batch is replayed. */
  text: string | undefined;
}

/** Joins the parts of each entry: part 000 names the count and the write; those parts, all of them, or nothing. */
function assemble(rows: readonly Row[]): AssembledEntry[] {
  const byBase = new Map<string, Map<number, Row>>();
  for (const row of rows) {
    const rowKey = row.rowKey ?? '';
    const bar = rowKey.lastIndexOf('|');
    const base = rowKey.slice(0, bar);
    const parts = byBase.get(base) ?? new Map<number, Row>();
    byBase.set(base, parts);
    parts.set(Number(rowKey.slice(bar + 1)), row);
  }
  const entries: AssembledEntry[] = [];
  for (const [baseKey, parts] of [...byBase].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const rowKeys = [...parts.values()].map((part) => part.rowKey ?? '');
    const first = parts.get(0);
    const count = typeof first?.n === 'number' ? first.n : 0;
    let text: string | undefined = '';
    for (let index = 0; index < count && text !== undefined; index += 1) {
      const part = parts.get(index);
      if (part === undefined || part.wid !== first?.wid) {
        text = undefined;
        break;
      }
      const columns = typeof part.c === 'number' ? part.c : 0;
      for (let column = 0; column < columns; column += 1) text += readColumn(part, `t${column}`) ?? '';
    }
    entries.push({ baseKey, rowKeys, text: count === 0 ? undefined : text });
  }
  return entries;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A pull's attempt at a batch: a replay writes an entry of its own, which the plan unions with the first. */
function attemptPart(attempt: string | undefined): string {
  return attempt === undefined || attempt === '' ? '' : `|${attempt}`;
}

function kindOrder(kind: DirectoryKind): string {
  return kind === 'users' ? '1' : '2';
}

export class TableChangeJournal implements ChangeJournal {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, TABLE_NAMES.journal, options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async appendChanges(
    source: string,
    at: { roundStartedAt: string; roundId: string; kind: DirectoryKind; batch: number; attempt?: string },
    changes: { users?: UserChangeReport; groups?: GroupChangeReport },
  ): Promise<void> {
    assertSourceName(source);
    const baseKey = `c|${at.roundStartedAt}|${at.roundId}|${kindOrder(at.kind)}|${pad(at.batch, 8)}${attemptPart(at.attempt)}`;
    await this.write(entryRows(source, baseKey, JSON.stringify(changes)));
  }

  async appendWholePlan(source: string, at: Date, roundId: string, reason: string): Promise<void> {
    assertSourceName(source);
    await this.write(entryRows(source, `d|${at.toISOString()}|${roundId}`, JSON.stringify({ reason })));
  }

  async pending(source: string): Promise<JournalEntry[]> {
    assertSourceName(source);
    return withStorageErrors('read journal', async () => {
      const rows: Row[] = [];
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${source} and RowKey ge ${'c|'} and RowKey lt ${'d|~'}`)) rows.push(...page);
      const entries: JournalEntry[] = [];
      for (const entry of assemble(rows)) {
        const value = entry.text === undefined ? undefined : parse(entry.text);
        // A write cut short (its batch was replayed under another key) or unreadable: nothing to plan, only to remove.
        if (typeof value !== 'object' || value === null) {
          entries.push({ kind: 'changes', rowKeys: entry.rowKeys });
          continue;
        }
        const record = value as Record<string, unknown>;
        if (entry.baseKey.startsWith('d|')) {
          entries.push({ kind: 'wholePlan', rowKeys: entry.rowKeys, reason: typeof record.reason === 'string' ? record.reason : 'full round' });
        } else {
          entries.push({
            kind: 'changes', rowKeys: entry.rowKeys,
            ...(isUserReport(record.users) ? { users: record.users } : {}),
            ...(isGroupReport(record.groups) ? { groups: record.groups } : {}),
          });
        }
      }
      return entries;
    });
  }

  async consume(source: string, rowKeys: readonly string[]): Promise<void> {
    assertSourceName(source);
    await this.write(rowKeys.map((rowKey): TransactionAction => ['delete', { partitionKey: source, rowKey }]));
  }

  async appendSeen(source: string, roundId: string, kind: DirectoryKind, batch: number, seen: SeenInRound, attempt?: string): Promise<void> {
    assertSourceName(source);
    const slices: Record<string, [string[], string[], string[]]> = {};
    for (const [groupId, sets] of seen.members) slices[groupId] = [[...sets.users], [...sets.groups], [...sets.others]];
    const text = JSON.stringify({ ids: [...seen.ids], slices });
    await this.write(entryRows(source, `s|${roundId}|${kind}|${pad(batch, 8)}${attemptPart(attempt)}`, text));
  }

  async readSeen(source: string, roundId: string, kind: DirectoryKind): Promise<SeenInRound> {
    assertSourceName(source);
    return withStorageErrors('read seen', async () => {
      const prefix = `s|${roundId}|${kind}|`;
      const rows: Row[] = [];
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${source} and RowKey ge ${prefix} and RowKey lt ${`${prefix}~`}`)) rows.push(...page);
      const seen: SeenInRound = { ids: new Set(), members: new Map() };
      for (const entry of assemble(rows)) {
        if (entry.text === undefined) continue;
        const value = parse(entry.text) as { ids?: unknown; slices?: unknown } | undefined;
        if (Array.isArray(value?.ids)) for (const id of value.ids) if (typeof id === 'string') seen.ids.add(id);
        if (typeof value?.slices === 'object' && value.slices !== null) {
          for (const [groupId, lists] of Object.entries(value.slices as Record<string, unknown>)) {
            if (!Array.isArray(lists)) continue;
            let sets = seen.members.get(groupId);
            if (sets === undefined) {
              sets = { users: new Set(), groups: new Set(), others: new Set() };
              seen.members.set(groupId, sets);
            }
            const [users, groups, others] = lists as unknown[];
            for (const [list, into] of [[users, sets.users], [groups, sets.groups], [others, sets.others]] as const) {
              if (Array.isArray(list)) for (const id of list) if (typeof id === 'string') into.add(id);
            }
          }
        }
      }
      return seen;
    });
  }

  async clearSeen(source: string, keepRoundId?: string): Promise<void> {
    assertSourceName(source);
    const stale: TransactionAction[] = [];
    await withStorageErrors('read seen', async () => {
      for await (const page of queryPages(this.table, odata`PartitionKey eq ${source} and RowKey ge ${'s|'} and RowKey lt ${'s|~'}`, { select: ['RowKey'] })) {
        for (const row of page) {
          const rowKey = row.rowKey ?? '';
          if (keepRoundId === undefined || !rowKey.startsWith(`s|${keepRoundId}|`)) stale.push(['delete', { partitionKey: source, rowKey }]);
        }
      }
    });
    await this.write(stale);
  }

  private async write(actions: readonly TransactionAction[]): Promise<void> {
    if (actions.length === 0) return;
    await withStorageErrors('write journal', () => submitBatched(this.table, actions));
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isUserReport(value: unknown): value is UserChangeReport {
  if (typeof value !== 'object' || value === null) return false;
  const report = value as Record<string, unknown>;
  return isStringArray(report.changed) && isStringArray(report.identityChanged) && Array.isArray(report.managerMoves);
}

function isGroupReport(value: unknown): value is GroupChangeReport {
  if (typeof value !== 'object' || value === null) return false;
  const report = value as Record<string, unknown>;
  return isStringArray(report.changed) && isStringArray(report.lifecycle) && Array.isArray(report.members);
}
