/**
 * Table `Pauses`: the mappings an administrator paused. One partition (`pause`), one row per paused
 * (source, destination) pair, RowKey `<source>|<destination>` (storage keys never hold `|`), and
 * RowKey `*` for the global pause (`pause --all`). A handful of rows: every plan and every upload
 * message reads the partition whole (one request). Layout in docs/storage.md.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { MappingPause, PausedPair, PauseStore } from '../sync/ports';
import { statusOf, toStorageError, withStorageErrors } from './errors';
import type { StorageTarget } from './storageAccount';
import { ensureTable, openTable, queryPages, type Row, type TableAccessOptions } from './tableBatch';

const SCHEMA_VERSION = 1;
const PARTITION = 'pause';
const GLOBAL_ROW = '*';

function rowKeyOf(pair: 'all' | PausedPair): string {
  return pair === 'all' ? GLOBAL_ROW : `${pair.source}|${pair.destination}`;
}

function text(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : '';
}

/** A row that cannot be read still pauses what its key names: a pause is never lost to a bad column. */
function decode(row: Row): MappingPause | undefined {
  const rowKey = row.rowKey ?? '';
  let pair: MappingPause['pair'];
  if (rowKey === GLOBAL_ROW) {
    pair = 'all';
  } else {
    const [source, destination, ...rest] = rowKey.split('|');
    if (source === undefined || destination === undefined || rest.length > 0) return undefined;
    pair = { source, destination };
  }
  let mappings: number[] = [];
  try {
    const parsed = JSON.parse(text(row, 'mappings')) as unknown;
    if (Array.isArray(parsed)) mappings = parsed.filter((value): value is number => Number.isInteger(value));
  } catch {
    // Left empty: the indexes are for people; the key says what is paused.
  }
  return { pair, mappings, pausedAt: text(row, 'pausedAt'), pausedBy: text(row, 'pausedBy'), via: text(row, 'via'), reason: text(row, 'reason') };
}

export class TablePauseStore implements PauseStore {
  private readonly table: TableClient;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.table = openTable(target, 'Pauses', options);
  }

  async initialize(): Promise<void> {
    await ensureTable(this.table);
  }

  async list(): Promise<MappingPause[]> {
    const pauses: MappingPause[] = [];
    for await (const page of queryPages(this.table, odata`PartitionKey eq ${PARTITION}`)) {
      for (const row of page) {
        const pause = decode(row);
        if (pause !== undefined) pauses.push(pause);
      }
    }
    // `*` sorts before letters and digits, but say it rather than rely on it.
    return pauses.sort((a, b) => (a.pair === 'all' ? -1 : b.pair === 'all' ? 1 : rowKeyOf(a.pair) < rowKeyOf(b.pair) ? -1 : 1));
  }

  async put(pause: MappingPause): Promise<void> {
    const pair = pause.pair === 'all' ? { source: '', destination: '' } : pause.pair;
    await withStorageErrors('write pause', () => this.table.upsertEntity({
      partitionKey: PARTITION, rowKey: rowKeyOf(pause.pair), v: SCHEMA_VERSION, source: pair.source, destination: pair.destination,
      mappings: JSON.stringify(pause.mappings), pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, via: pause.via, reason: pause.reason,
    }, 'Replace'));
  }

  async remove(pair: 'all' | PausedPair): Promise<void> {
    try {
      await this.table.deleteEntity(PARTITION, rowKeyOf(pair));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStorageError(error, 'remove pause');
    }
  }
}
