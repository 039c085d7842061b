/**
 * Table `Reports`: manager id → the users whose manager it is, per source. A user's record carries
 * its manager's name and mail, so when a manager is renamed the planner asks this index who to
 * re-plan instead of scanning every user. Kept up to date from the change journal's manager moves,
 * and rebuilt by every whole-source plan.
 */
import type { ReportsIndex } from '../sync/ports';
import { TABLE_NAMES } from './entityCodec';
import type { StorageTarget } from './storageAccount';
import type { TableAccessOptions } from './tableBatch';
import { TableBucketMap } from './bucketMapStore';
import { bucketOfId } from './bucketRows';

function isIdList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export class TableReportsIndex implements ReportsIndex {
  private readonly map: TableBucketMap<string[]>;

  constructor(target: StorageTarget, options: TableAccessOptions = {}) {
    this.map = new TableBucketMap(target, TABLE_NAMES.reports, isIdList, options);
  }

  initialize(): Promise<void> {
    return this.map.initialize();
  }

  reportsOf(source: string, managerIds: readonly string[]): Promise<Map<string, string[]>> {
    return this.map.get(source, managerIds);
  }

  async move(source: string, moves: readonly { userId: string; from: readonly string[]; to: string | null }[]): Promise<void> {
    const managers = new Set<string>();
    for (const move of moves) {
      for (const id of move.from) managers.add(id);
      if (move.to !== null) managers.add(move.to);
    }
    await this.map.update(source, managers, (values, bucket) => {
      for (const move of moves) {
        for (const from of move.from) {
          const list = values.get(from);
          if (list === undefined) continue;
          const kept = list.filter((id) => id !== move.userId);
          if (kept.length === 0) values.delete(from);
          else values.set(from, kept);
        }
        // Each bucket sees only its own managers.
        if (move.to === null || bucketOfId(move.to) !== bucket) continue;
        const list = values.get(move.to);
        if (list === undefined) values.set(move.to, [move.userId]);
        else if (!list.includes(move.userId)) values.set(move.to, [...list, move.userId].sort());
      }
    });
  }

  async replace(source: string, reports: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
    const values = new Map<string, string[]>();
    for (const [managerId, ids] of reports) if (ids.size > 0) values.set(managerId, [...ids].sort());
    await this.map.replace(source, values);
  }
}
