/**
 * What a sync run tells a front about its progress while it runs, for a person watching it (the
 * CLI's bars and lines). Not a log and not a record: nothing here is stored or logged, and a front
 * that does not care passes nothing (every call site is `progress?.on…`). The Functions app passes
 * nothing.
 *
 * - `onPullPage`: a delta page of one source and kind was read (it is written with its batch later).
 *   A full round's total is not known ahead (Graph's delta query does not say how many pages
 *   follow), so a front can show pages, objects and rate, never a percentage.
 * - `onPullRoundEnd`: the round is written and its deltaLink saved (`completed`), or it stopped at
 *   the deadline and resumes next run (`paused`). A round that fails says nothing more.
 * - `onPlan`: the plan's work for one destination and kind, before any of it is carried out: the
 *   total the uploads below count towards. Announced only when there is something to send or queue.
 * - `onUploadBatch`: one batch of that work settled: sent and answered (`sent`: the destination
 *   acknowledged `acknowledged` of `items`; a batch refused as a whole counts 0), put off without a
 *   request because the destination is quarantined or throttled (`putOff`: the items wait in the
 *   ledger), or put on the uploads queue for the upload worker (`queued`).
 *
 * Calls are synchronous and must not throw: a front that fails to draw must not fail the sync.
 */
import type { DirectoryKind } from './directory';
import type { DeltaRound } from './ports';

export interface PullPageProgress {
  source: string;
  kind: DirectoryKind;
  roundKind: DeltaRound['kind'];
  /** The page's number in its round (a resumed round goes on counting from where it stopped). */
  page: number;
  /** Objects on this page. */
  objects: number;
}

export interface PullRoundEndProgress {
  source: string;
  kind: DirectoryKind;
  roundKind: DeltaRound['kind'];
  outcome: 'completed' | 'paused';
}

export interface PlannedUploadProgress {
  source: string;
  destination: string;
  kind: DirectoryKind;
  /** Items (upserts and deletes) the executor is about to send or queue. */
  items: number;
  /** `send`: in this process (the CLI, `serve`); `queue`: on the uploads queue (`sync --queues`). */
  path: 'send' | 'queue';
}

export interface UploadBatchProgress {
  source: string;
  destination: string;
  kind: DirectoryKind;
  /** Items this batch settled (counted towards PlannedUploadProgress.items). */
  items: number;
  /** Of those, items the destination acknowledged (0 unless `sent`). */
  acknowledged: number;
  outcome: 'sent' | 'putOff' | 'queued';
}

export interface SyncProgress {
  onPullPage(page: PullPageProgress): void;
  onPullRoundEnd(end: PullRoundEndProgress): void;
  onPlan(work: PlannedUploadProgress): void;
  onUploadBatch(batch: UploadBatchProgress): void;
}
