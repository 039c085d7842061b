/**
 * The state behind the CLI's progress display: the sync's progress events (src/sync/syncProgress.ts)
 * added up per pull (source and kind) and per upload (source, destination and kind), with rate and
 * time left, and each item described in words. Both displays (bars on a terminal, plain lines
 * elsewhere) draw from it, so they say the same things.
 *
 * Rates count from when an item started: a pull from the event before its first page (the run's
 * start, or the end of what came before it), since its first page only arrives once Graph has
 * answered; an upload from its plan.
 */
import type { DirectoryKind } from '../sync/directory';
import type { DeltaRound } from '../sync/ports';
import type { PlannedUploadProgress, PullPageProgress, PullRoundEndProgress, UploadBatchProgress } from '../sync/syncProgress';

export interface PullItem {
  type: 'pull';
  key: string;
  source: string;
  kind: DirectoryKind;
  roundKind: DeltaRound['kind'];
  page: number;
  pages: number;
  objects: number;
  startedAt: number;
  updatedAt: number;
  done: boolean;
  /** Done because the deadline stopped the round (it resumes next run). */
  paused: boolean;
}

export interface UploadItem {
  type: 'upload';
  key: string;
  path: 'send' | 'queue';
  source: string;
  destination: string;
  kind: DirectoryKind;
  total: number;
  /** Items settled: sent and answered, put off, or queued. */
  settled: number;
  acknowledged: number;
  /** Sent and not acknowledged (item failures and batches refused as a whole). */
  failed: number;
  putOff: number;
  /** Requests made (send) or messages queued (queue). */
  batches: number;
  startedAt: number;
  updatedAt: number;
  done: boolean;
}

export type ProgressItem = PullItem | UploadItem;

/** How the display names sources and destinations (the names as written; the keys by default). */
export interface ProgressNames {
  source(key: string): string;
  destination(key: string): string;
}

const KEYS_AS_NAMES: ProgressNames = { source: (key) => key, destination: (key) => key };

/** A rate is shown once an item has run this long: the first page's rate says little. */
const RATE_AFTER_IN_MS = 1_000;

export class SyncProgressTracker {
  readonly #items = new Map<string, ProgressItem>();
  #lastEventAt: number;

  constructor(private readonly now: () => number, private readonly names: ProgressNames = KEYS_AS_NAMES) {
    this.#lastEventAt = now();
  }

  /** In the order they started. */
  items(): ProgressItem[] {
    return [...this.#items.values()];
  }

  pullPage(event: PullPageProgress): PullItem {
    const at = this.now();
    const key = `pull|${event.source}|${event.kind}`;
    let item = this.#items.get(key);
    if (item?.type !== 'pull' || item.done) {
      // A new round of the same kind (a --watch run, or a restart after an expired token) starts afresh.
      item = {
        type: 'pull', key, source: event.source, kind: event.kind, roundKind: event.roundKind, page: 0, pages: 0, objects: 0,
        startedAt: this.#lastEventAt, updatedAt: at, done: false, paused: false,
      };
      this.#items.delete(key);
      this.#items.set(key, item);
    }
    item.roundKind = event.roundKind;
    item.page = event.page;
    item.pages += 1;
    item.objects += event.objects;
    item.updatedAt = at;
    this.#lastEventAt = at;
    return item;
  }

  /** Undefined for a round that read no page in this run (nothing to show). */
  pullRoundEnd(event: PullRoundEndProgress): PullItem | undefined {
    const at = this.now();
    this.#lastEventAt = at;
    const item = this.#items.get(`pull|${event.source}|${event.kind}`);
    if (item?.type !== 'pull' || item.done) return undefined;
    item.updatedAt = at;
    item.done = true;
    item.paused = event.outcome === 'paused';
    return item;
  }

  plan(event: PlannedUploadProgress): UploadItem {
    const at = this.now();
    const key = `upload|${event.source}|${event.destination}|${event.kind}`;
    const item: UploadItem = {
      type: 'upload', key, path: event.path, source: event.source, destination: event.destination, kind: event.kind, total: event.items,
      settled: 0, acknowledged: 0, failed: 0, putOff: 0, batches: 0, startedAt: at, updatedAt: at, done: event.items === 0,
    };
    this.#items.delete(key);
    this.#items.set(key, item);
    this.#lastEventAt = at;
    return item;
  }

  /** Undefined for a batch whose plan was not announced (nothing to count it towards). */
  uploadBatch(event: UploadBatchProgress): UploadItem | undefined {
    const at = this.now();
    this.#lastEventAt = at;
    const item = this.#items.get(`upload|${event.source}|${event.destination}|${event.kind}`);
    if (item?.type !== 'upload') return undefined;
    item.settled += event.items;
    item.acknowledged += event.acknowledged;
    if (event.outcome === 'sent') {
      item.batches += 1;
      item.failed += event.items - event.acknowledged;
    } else if (event.outcome === 'putOff') {
      item.putOff += event.items;
    } else {
      item.batches += 1;
    }
    item.updatedAt = at;
    item.done = item.settled >= item.total;
    return item;
  }

  /** What the item is, e.g. `pull Contoso users` or `send Contoso -> Acme users`. */
  label(item: ProgressItem): string {
    if (item.type === 'pull') return `pull ${this.names.source(item.source)} ${item.kind}`;
    return `${item.path} ${this.names.source(item.source)} -> ${this.names.destination(item.destination)} ${item.kind}`;
  }

  /** Where the item stands, in words; `finished`: the run is over (an item not done then stopped early). */
  describe(item: ProgressItem, finished = false): string {
    const at = item.done || finished ? item.updatedAt : this.now();
    const elapsedInMs = Math.max(0, at - item.startedAt);
    if (item.type === 'pull') {
      const round = item.roundKind === 'full'
        ? (item.done || finished ? 'full round' : 'full round (total not known ahead)')
        : 'incremental (changes since the last run)';
      const rate = elapsedInMs >= RATE_AFTER_IN_MS ? `, ${formatRate(item.objects, elapsedInMs)}` : '';
      const counts = `page ${count(item.page)}, ${count(item.objects)} object${item.objects === 1 ? '' : 's'}`;
      if (item.paused) return `${round}: paused at the deadline, ${counts} (the next run resumes the round)`;
      if (item.done) return `${round}: done, ${counts} in ${formatDuration(elapsedInMs)}${rate}`;
      if (finished) return `${round}: stopped at ${counts} (the round resumes next run)`;
      return `${round}: ${counts}${rate}`;
    }
    const ofTotal = `${count(item.settled)} of ${count(item.total)}`;
    if (item.path === 'queue') {
      const queued = `${ofTotal} queued in ${count(item.batches)} message${item.batches === 1 ? '' : 's'}`;
      return item.done ? `done, ${queued}` : queued;
    }
    const tail = [
      `${count(item.batches)} batch${item.batches === 1 ? '' : 'es'}`,
      `${count(item.failed)} failed`,
      ...(item.putOff > 0 ? [`${count(item.putOff)} put off (destination quarantined or throttled)`] : []),
    ];
    if (item.done) return `done, ${ofTotal} in ${formatDuration(elapsedInMs)}, ${tail.join(', ')}`;
    if (finished) return `stopped at ${ofTotal}, ${tail.join(', ')}`;
    const percent = item.total === 0 ? 100 : Math.floor((item.settled / item.total) * 100);
    const timing: string[] = [];
    if (elapsedInMs >= RATE_AFTER_IN_MS && item.settled > 0) {
      timing.push(formatRate(item.settled, elapsedInMs));
      timing.push(`about ${formatDuration(((item.total - item.settled) / item.settled) * elapsedInMs)} left`);
    }
    // Rate and time left before the counts: a line cut to a narrow terminal keeps what matters most.
    return [`${ofTotal} (${percent}%)`, ...timing, ...tail].join(', ');
  }

  /** Label and description on one line. */
  line(item: ProgressItem, finished = false): string {
    return `${this.label(item)}: ${this.describe(item, finished)}`;
  }
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** `340/s`, `12,400/s`; below 10 per second one decimal (`2.5/s`). */
export function formatRate(objects: number, elapsedInMs: number): string {
  const perSecond = elapsedInMs <= 0 ? 0 : objects / (elapsedInMs / 1000);
  return perSecond < 10 ? `${perSecond.toFixed(1)}/s` : `${count(Math.round(perSecond))}/s`;
}

/** `<1s`, `45s`, `3m 05s`, `1h 02m`: rounded to the second, coarser as it grows. */
export function formatDuration(ms: number): string {
  if (ms < 500) return '<1s';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
