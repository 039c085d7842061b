/**
 * What to send to one destination, from two maps of object id → payloadHash: what the scope
 * wants there now (`desired`) and what the destination confirmed holding (`acknowledged`, from the
 * upload state). Pure; the deletion gate and the grace period decide later whether deletes go out.
 */
import { compareCodeUnits } from './directoryIndex';

export interface DestinationDiff {
  /** Desired ids that are not acknowledged, or acknowledged with another hash. Sorted. */
  upserts: string[];
  /** Acknowledged ids that are no longer desired. Sorted. */
  deletes: string[];
  /** How many desired ids are acknowledged with the same hash (nothing to send). */
  unchanged: number;
}

export function diffDestination(
  desired: ReadonlyMap<string, string>,
  acknowledged: ReadonlyMap<string, string>,
): DestinationDiff {
  const upserts: string[] = [];
  let unchanged = 0;
  for (const [id, hash] of desired) {
    if (acknowledged.get(id) === hash) unchanged += 1;
    else upserts.push(id);
  }
  const deletes: string[] = [];
  for (const id of acknowledged.keys()) {
    if (!desired.has(id)) deletes.push(id);
  }
  return { upserts: upserts.sort(compareCodeUnits), deletes: deletes.sort(compareCodeUnits), unchanged };
}
