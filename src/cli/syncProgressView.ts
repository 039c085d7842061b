/**
 * The CLI's progress display for one sync run, on stderr (never through the logger: JSON logs stay
 * as they are):
 * - on a terminal, bars (cli-progress): one line per pull (source and kind: pages, objects, rate; no
 *   percentage, Graph does not say how many pages a round has) and one per upload (source,
 *   destination and kind: a bar of the planned total, batches, failures, rate, time left), redrawn
 *   in place up to 10 times a second;
 * - anywhere else (a pipe, a file, a container's log), plain lines without ANSI codes: each item's
 *   state every `intervalInMs` (10 s) while events arrive, and a line the moment a pull round or an
 *   upload ends;
 * - with `--quiet`, nothing.
 *
 * Log lines written to the same terminal while bars are drawn would land in the middle of them and
 * be overdrawn by the next redraw. `logSink` therefore hands log lines to cli-progress while the bars
 * are active: it prints them above the bars at the next redraw, intact. The alternative (redraw
 * after each log line) would still tear a line written between two redraws.
 */
import { MultiBar, type Options, type Params, type SingleBar } from 'cli-progress';
import type { LogSink } from '../setup/logging';
import type { PlannedUploadProgress, PullPageProgress, PullRoundEndProgress, SyncProgress, UploadBatchProgress } from '../sync/syncProgress';
import { SyncProgressTracker, type ProgressItem, type ProgressNames } from './syncProgressTracker';

export interface SyncProgressView extends SyncProgress {
  /** Log lines for the same stream go through here, so they never tear a bar (a pass-through when no bars are drawn). */
  logSink(fallback: LogSink): LogSink;
  /** The run is over: final state of every item, bars stopped (no timer left behind). */
  finish(): void;
}

export interface SyncProgressViewOptions {
  quiet?: boolean;
  names?: ProgressNames;
  /** Plain lines: how often each item's state is repeated while it runs (default 10 s). */
  intervalInMs?: number;
  now?: () => number;
}

export const PLAIN_PROGRESS_INTERVAL_IN_MS = 10_000;

const SILENT: SyncProgressView = {
  onPullPage: () => undefined,
  onPullRoundEnd: () => undefined,
  onPlan: () => undefined,
  onUploadBatch: () => undefined,
  logSink: (fallback) => fallback,
  finish: () => undefined,
};

export function createSyncProgressView(stream: NodeJS.WritableStream & { isTTY?: boolean }, options: SyncProgressViewOptions = {}): SyncProgressView {
  if (options.quiet === true) return SILENT;
  const tracker = new SyncProgressTracker(options.now ?? Date.now, options.names);
  return stream.isTTY === true ? new BarsView(stream, tracker) : new LinesView(stream, tracker, options.intervalInMs ?? PLAIN_PROGRESS_INTERVAL_IN_MS, options.now ?? Date.now);
}

class LinesView implements SyncProgressView {
  #lastRoundAt: number;
  /** Items whose end was already printed. */
  readonly #ended = new Set<ProgressItem>();

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly tracker: SyncProgressTracker,
    private readonly intervalInMs: number,
    private readonly now: () => number,
  ) {
    this.#lastRoundAt = now();
  }

  onPullPage(page: PullPageProgress): void {
    this.#after(this.tracker.pullPage(page));
  }

  onPullRoundEnd(end: PullRoundEndProgress): void {
    this.#after(this.tracker.pullRoundEnd(end));
  }

  onPlan(work: PlannedUploadProgress): void {
    this.#after(this.tracker.plan(work));
  }

  onUploadBatch(batch: UploadBatchProgress): void {
    this.#after(this.tracker.uploadBatch(batch));
  }

  logSink(fallback: LogSink): LogSink {
    return fallback;
  }

  finish(): void {
    for (const item of this.tracker.items()) if (!this.#ended.has(item)) this.#print(item, true);
  }

  #after(item: ProgressItem | undefined): void {
    if (item?.done === true && !this.#ended.has(item)) {
      this.#print(item, false);
      return;
    }
    if (this.now() - this.#lastRoundAt < this.intervalInMs) return;
    this.#lastRoundAt = this.now();
    for (const running of this.tracker.items()) if (!running.done) this.#print(running, false);
  }

  #print(item: ProgressItem, finished: boolean): void {
    if (item.done || finished) this.#ended.add(item);
    this.stream.write(`progress: ${this.tracker.line(item, finished)}\n`);
  }
}

/** Upload bars' width in characters. */
const BAR_SIZE = 20;

class BarsView implements SyncProgressView {
  readonly #bars: MultiBar;
  readonly #barOf = new Map<ProgressItem, SingleBar>();
  #finished = false;
  /** Labels are aligned among pulls and among uploads (an upload's label is longer; pulls need not give up their room for it). */
  readonly #labelWidth = { pull: 0, upload: 0 };

  constructor(stream: NodeJS.WritableStream, private readonly tracker: SyncProgressTracker) {
    const options: Options = {
      stream,
      // cli-progress would switch line wrapping off for the whole terminal and leave it off when the
      // process is killed (Ctrl+C in a one-shot run); lines are cut to the width here instead.
      linewrap: true,
      hideCursor: false,
      // cli-progress redraws only the bars that changed, but log lines printed above the bars
      // overwrite the rows of unchanged ones too: every bar is drawn at every redraw (a few lines, 10 a second).
      forceRedraw: true,
      fps: 10,
      format: (_options: Options, params: Params, payload: { item?: ProgressItem }) => this.#format(params, payload.item),
    };
    this.#bars = new MultiBar(options);
  }

  onPullPage(page: PullPageProgress): void {
    this.#draw(this.tracker.pullPage(page));
  }

  onPullRoundEnd(end: PullRoundEndProgress): void {
    this.#draw(this.tracker.pullRoundEnd(end));
  }

  onPlan(work: PlannedUploadProgress): void {
    this.#draw(this.tracker.plan(work));
  }

  onUploadBatch(batch: UploadBatchProgress): void {
    this.#draw(this.tracker.uploadBatch(batch));
  }

  logSink(fallback: LogSink): LogSink {
    return {
      write: (line) => {
        if (this.#bars.isActive) this.#bars.log(line.endsWith('\n') ? line : `${line}\n`);
        else fallback.write(line);
      },
    };
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#barOf.size === 0) return;
    // A last redraw prints the log lines still waiting; stop() then draws each bar's final state.
    this.#bars.update();
    this.#bars.stop();
  }

  #draw(item: ProgressItem | undefined): void {
    if (item === undefined || this.#finished) return;
    this.#labelWidth[item.type] = Math.max(this.#labelWidth[item.type], this.tracker.label(item).length);
    const value = item.type === 'pull' ? item.objects : item.settled;
    const total = item.type === 'pull' ? Math.max(1, item.objects) : Math.max(1, item.total);
    const bar = this.#barOf.get(item);
    if (bar === undefined) this.#barOf.set(item, this.#bars.create(total, value, { item }));
    else {
      bar.setTotal(total);
      bar.update(value, { item });
    }
  }

  #format(params: Params, item: ProgressItem | undefined): string {
    if (item === undefined) return '';
    const label = this.tracker.label(item).padEnd(this.#labelWidth[item.type]);
    const described = this.tracker.describe(item, this.#finished);
    let line: string;
    if (item.type === 'upload') {
      const filled = item.total === 0 ? BAR_SIZE : Math.min(BAR_SIZE, Math.round((item.settled / item.total) * BAR_SIZE));
      line = `${label} ${'█'.repeat(filled)}${'░'.repeat(BAR_SIZE - filled)} ${described}`;
    } else {
      line = `${label}  ${described}`;
    }
    // A line longer than the terminal would wrap and throw the redraw's cursor arithmetic off.
    return params.maxWidth > 1 && line.length >= params.maxWidth ? `${line.slice(0, params.maxWidth - 2)}…` : line;
  }
}
