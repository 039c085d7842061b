import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSyncProgressView, type SyncProgressView } from '../../../src/cli/syncProgressView';
import { formatDuration, formatRate } from '../../../src/cli/syncProgressTracker';

/** A stream that keeps what is written; `tty`: it says it is a terminal of `columns` columns. */
function captureStream(tty: boolean, columns = 120): Writable & { isTTY: boolean; columns: number; text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer | string, _encoding, done) { text += chunk.toString(); done(); } });
  return Object.assign(stream, { isTTY: tty, columns, text: () => text });
}

const NAMES = { source: (key: string) => (key === 'contoso' ? 'Contoso Ltd' : key), destination: (key: string) => (key === 'acme' ? 'Acme' : key) };
const ANSI = /\u001b/;

/** Pull 2 pages of users (full round) and one of groups (incremental), then send 250 users to Acme in 3 batches. */
function feedRun(view: SyncProgressView, advance: (ms: number) => void): void {
  advance(2_000);
  view.onPullPage({ source: 'contoso', kind: 'users', roundKind: 'full', page: 1, objects: 999 });
  advance(1_500);
  view.onPullPage({ source: 'contoso', kind: 'users', roundKind: 'full', page: 2, objects: 201 });
  advance(500);
  view.onPullRoundEnd({ source: 'contoso', kind: 'users', roundKind: 'full', outcome: 'completed' });
  advance(200);
  view.onPullPage({ source: 'contoso', kind: 'groups', roundKind: 'incremental', page: 1, objects: 3 });
  advance(300);
  view.onPullRoundEnd({ source: 'contoso', kind: 'groups', roundKind: 'incremental', outcome: 'completed' });
  view.onPlan({ source: 'contoso', destination: 'acme', kind: 'users', items: 250, path: 'send' });
  advance(2_000);
  view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'users', items: 100, acknowledged: 100, outcome: 'sent' });
  advance(2_000);
  view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'users', items: 100, acknowledged: 98, outcome: 'sent' });
}

describe('sync progress as plain lines (stderr is not a terminal)', () => {
  it('prints a line when each pull round and upload ends and the state of what runs every interval, without ANSI codes', () => {
    let now = 1_000_000;
    const stream = captureStream(false);
    const view = createSyncProgressView(stream, { names: NAMES, intervalInMs: 10_000, now: () => now });
    feedRun(view, (ms) => { now += ms; });
    expect(stream.text().split('\n').filter(Boolean)).toEqual([
      'progress: pull Contoso Ltd users: full round: done, page 2, 1,200 objects in 4s, 300/s',
      'progress: pull Contoso Ltd groups: incremental (changes since the last run): done, page 1, 3 objects in 1s',
    ]);
    // 10 s after the view started: every item still running, with rate and time left.
    now += 6_000;
    view.onPullPage({ source: 'fabrikam', kind: 'users', roundKind: 'full', page: 1, objects: 50 });
    const periodic = stream.text().split('\n').filter(Boolean).slice(2);
    expect(periodic).toEqual([
      'progress: send Contoso Ltd -> Acme users: 200 of 250 (80%), 20/s, about 3s left, 2 batches, 2 failed',
      'progress: pull fabrikam users: full round (total not known ahead): page 1, 50 objects, 8.3/s',
    ]);
    now += 1_000;
    view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'users', items: 50, acknowledged: 0, outcome: 'putOff' });
    view.finish();
    expect(stream.text().split('\n').filter(Boolean).slice(4)).toEqual([
      'progress: send Contoso Ltd -> Acme users: done, 250 of 250 in 11s, 2 batches, 2 failed, 50 put off (destination quarantined or throttled)',
      'progress: pull fabrikam users: full round: stopped at page 1, 50 objects (the round resumes next run)',
    ]);
    expect(stream.text()).not.toMatch(ANSI);
  });

  it('says when the deadline paused a round', () => {
    const stream = captureStream(false);
    const view = createSyncProgressView(stream, { names: NAMES });
    view.onPullPage({ source: 'contoso', kind: 'users', roundKind: 'full', page: 7, objects: 200 });
    view.onPullRoundEnd({ source: 'contoso', kind: 'users', roundKind: 'full', outcome: 'paused' });
    view.finish();
    expect(stream.text()).toBe('progress: pull Contoso Ltd users: full round: paused at the deadline, page 7, 200 objects (the next run resumes the round)\n');
  });

  it('says what the queue path queued', () => {
    const stream = captureStream(false);
    const view = createSyncProgressView(stream, { names: NAMES });
    view.onPlan({ source: 'contoso', destination: 'acme', kind: 'groups', items: 120, path: 'queue' });
    view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'groups', items: 100, acknowledged: 0, outcome: 'queued' });
    view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'groups', items: 20, acknowledged: 0, outcome: 'queued' });
    view.finish();
    expect(stream.text()).toBe('progress: queue Contoso Ltd -> Acme groups: done, 120 of 120 queued in 2 messages\n');
  });

  it('prints nothing with quiet', () => {
    const stream = captureStream(false);
    const view = createSyncProgressView(stream, { quiet: true });
    feedRun(view, () => undefined);
    view.finish();
    expect(stream.text()).toBe('');
  });

  it('formats rates and durations for people', () => {
    expect([formatRate(5, 2_000), formatRate(1_200, 4_000), formatRate(124_000, 10_000)]).toEqual(['2.5/s', '300/s', '12,400/s']);
    expect([formatDuration(400), formatDuration(500), formatDuration(45_200), formatDuration(185_000), formatDuration(3_720_000)]).toEqual(['<1s', '1s', '45s', '3m 05s', '1h 02m']);
  });
});

describe('sync progress as bars (stderr is a terminal)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws a line per pull and a bar per upload while the run goes on, prints log lines above them, and ends with the final state', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const stream = captureStream(true, 150);
    const view = createSyncProgressView(stream, { names: NAMES });
    const direct: string[] = [];
    const logs = view.logSink({ write: (line) => direct.push(line) });
    feedRun(view, (ms) => vi.advanceTimersByTime(ms));
    logs.write('{"level":"warn","event":"upload.itemsFailed"}\n');
    // The next redraw (10 a second) draws the bars as they stand, the log line above them.
    vi.advanceTimersByTime(150);
    const during = stream.text();
    expect(during).toMatch(ANSI);
    expect(during).toContain('{"level":"warn","event":"upload.itemsFailed"}\n');
    expect(during.indexOf('upload.itemsFailed')).toBeLessThan(during.lastIndexOf('send Contoso Ltd -> Acme users'));
    expect(during).toMatch(/pull Contoso Ltd users {2,}full round: done, page 2, 1,200 objects in 4s, 300\/s/);
    expect(during).toMatch(/send Contoso Ltd -> Acme users █{16}░{4} 200 of 250 \(80%\), 4\d\/s, about 1s left, 2 batches, 2 failed/);
    expect(direct).toEqual([]);

    vi.advanceTimersByTime(1_000);
    view.onUploadBatch({ source: 'contoso', destination: 'acme', kind: 'users', items: 50, acknowledged: 50, outcome: 'sent' });
    const before = stream.text().length;
    view.finish();
    const final = stream.text().slice(before);
    // Only what changed since the last redraw is drawn again; the pulls' last state stays on screen.
    expect(stream.text().slice(stream.text().lastIndexOf('pull Contoso Ltd groups'))).toMatch(/^pull Contoso Ltd groups {2,}incremental \(changes since the last run\): done/);
    expect(final).toMatch(/send Contoso Ltd -> Acme users █{20} done, 250 of 250 in 5s, 3 batches, 2 failed/);
    expect(final.endsWith('\n')).toBe(true);
    // No redraw is left scheduled, and logs go straight to their sink again.
    expect(vi.getTimerCount()).toBe(0);
    logs.write('after\n');
    expect(direct).toEqual(['after\n']);
  });

  it('draws every bar again below log lines printed above them, changed or not', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const stream = captureStream(true, 150);
    const view = createSyncProgressView(stream, { names: NAMES });
    const logs = view.logSink({ write: () => undefined });
    feedRun(view, (ms) => vi.advanceTimersByTime(ms));
    vi.advanceTimersByTime(150);
    logs.write('{"event":"plan.destination"}\n');
    view.finish();
    const afterLog = stream.text().slice(stream.text().lastIndexOf('plan.destination'));
    for (const label of ['pull Contoso Ltd users', 'pull Contoso Ltd groups', 'send Contoso Ltd -> Acme users']) expect(afterLog).toContain(label);
  });

  it('cuts lines to the terminal width, so a redraw never wraps', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const stream = captureStream(true, 40);
    const view = createSyncProgressView(stream, { names: NAMES });
    feedRun(view, (ms) => vi.advanceTimersByTime(ms));
    view.finish();
    const visible = stream.text().replace(/\u001b\[[0-9;]*[A-Za-z]/g, '\n').split(/[\r\n]/);
    expect(visible.filter((line) => line.includes('Contoso')).length).toBeGreaterThan(0);
    expect(Math.max(...visible.map((line) => line.length))).toBeLessThan(40);
  });
});
