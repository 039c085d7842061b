/**
 * The status page as one HTML document: no script, no external resource, one style block (allowed
 * by its hash in the Content-Security-Policy, dashboardPage.ts), readable from 360 px wide up.
 * Every text from outside the code (config names, names from Entra, destination errors, audit
 * reasons) goes through `html`, which escapes it. Read-only: no form, no button, no link that
 * changes anything; held deletions show the command that approves them.
 */
import type { ConnectorStatus, DestinationStatus, LedgerCounts, RoundStatus } from '../sync/status';
import type { ObjectAuditRow, RunHistoryEntry } from '../sync/ports';
import { needsWarning } from '../graph/credentialExpiry';
import { objectKey, type DashboardView, type Unreadable } from './dashboardData';
import { html, Html, type HtmlValue } from './html';
import { sparkline } from './sparkline';

/** Rows of the runs table per source (the sparklines draw every run read). */
export const RUNS_LISTED = 10;
/** The page reloads itself (no script: a meta refresh) this often. */
export const REFRESH_SECONDS = 60;

/** The one style block; its SHA-256 is the only style the page's CSP allows. */
export const DASHBOARD_CSS = [
  ':root{color-scheme:light dark;--muted:#666;--line:#ccc;--warn:#a35b00;--bad:#b00020;--ok:#1b7f3b;--card:#f6f6f6}',
  '@media (prefers-color-scheme:dark){:root{--muted:#aaa;--line:#444;--warn:#f0a040;--bad:#ff6b7f;--ok:#5fd38a;--card:#1e1e1e}}',
  '*{box-sizing:border-box}',
  'body{margin:0 auto;padding:.75rem;max-width:64rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}',
  'h1{font-size:1.3rem;margin:.25rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid var(--line)}h3{font-size:1rem;margin:.75rem 0 .25rem}',
  'nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem;font-size:.9rem}',
  'section.card{background:var(--card);border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}',
  'table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{text-align:left;padding:.2rem .35rem;border-bottom:1px solid var(--line);vertical-align:top}',
  'th{white-space:nowrap}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.t{white-space:nowrap}',
  'ul{padding-left:1.1rem;margin:.25rem 0}li{margin:.15rem 0}',
  'dl{margin:.25rem 0;display:grid;grid-template-columns:minmax(5rem,max-content) 1fr;gap:.1rem .75rem}dt{color:var(--muted)}dd{margin:0}',
  '.muted{color:var(--muted)}.warn{color:var(--warn)}.bad{color:var(--bad)}.ok{color:var(--ok)}',
  '.badge{display:inline-block;padding:0 .35rem;border:1px solid currentColor;border-radius:3px;font-size:.8rem}',
  '.trend{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:.25rem 0}.trend figure{margin:0}.trend figcaption{font-size:.8rem;color:var(--muted)}',
  'svg.spark{display:block;color:var(--ok)}',
  'code{font-size:.85rem;background:rgba(127,127,127,.15);padding:0 .2rem;border-radius:3px}',
  'footer{margin:2rem 0 1rem;font-size:.8rem;color:var(--muted)}',
  // A phone: labels above their values, tighter tables (the runs table fits 360 px this way).
  '@media (max-width:40rem){body{font-size:14px;padding:.5rem}dl{grid-template-columns:1fr}dd{margin:0 0 .35rem .75rem}table{font-size:.8rem}th,td{padding:.2rem .25rem}section.card{padding:.5rem}}',
].join('\n');

function isUnreadable(value: unknown): value is Unreadable {
  return typeof value === 'object' && value !== null && 'unreadable' in value;
}

/** `2026-12-03 09:21 UTC` and how long before the page was made. */
function when(iso: string | null, generatedAt: string): Html {
  if (iso === null) return html`<span class="muted">never</span>`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return html`${iso}`;
  const ago = (Date.parse(generatedAt) - ms) / 1000;
  const text = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const relative = ago >= 0 ? `${duration(ago)} ago` : `in ${duration(-ago)}`;
  return html`<time datetime="${iso}">${text}</time> <span class="muted">(${relative})</span>`;
}

/** Seconds for people: `4.2 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 90) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

function roundLine(label: string, round: RoundStatus, generatedAt: string): Html {
  const unfinished = round.unfinished === null
    ? ''
    : html`; <span class="warn">${round.unfinished.kind} round unfinished at page ${round.unfinished.pages}</span> (started ${when(round.unfinished.startedAt, generatedAt)}; the next run resumes it)`;
  return html`<dt>${label}</dt><dd>last round ${when(round.lastRoundCompletedAt, generatedAt)}; last full ${when(round.lastFullRoundCompletedAt, generatedAt)}${unfinished}</dd>`;
}

function runsTable(runs: readonly RunHistoryEntry[]): Html {
  const rows = runs.slice(0, RUNS_LISTED).map((run) => {
    const outcome = run.outcome === 'ok' ? html`<span class="ok">ok</span>` : html`<span class="${run.outcome === 'failed' ? 'bad' : 'warn'}">${run.outcome}</span>`;
    const ended = new Date(Date.parse(run.endedAt)).toISOString();
    // The time of day only (runs are minutes apart); the date is in the tooltip.
    return html`<tr><td class="t"><time datetime="${run.endedAt}" title="${ended}">${ended.slice(11, 16)}</time></td><td>${run.round === 'none' ? '–' : run.round === 'incremental' ? 'incr.' : 'full'} ${outcome}</td><td class="n">${duration(run.durationSeconds)}</td><td class="n">${run.lagSeconds === null ? '–' : duration(run.lagSeconds)}</td><td class="n">${run.objects}</td><td class="n">${run.failed > 0 ? html`<span class="bad">${run.failed}</span>` : run.failed}</td></tr>`;
  });
  const queued = runs.some((run) => run.delivery === 'queued')
    ? html`<p class="muted">Objects of queued runs went to the uploads queue; the upload worker sends them and its failures show under the destinations.</p>`
    : '';
  return html`<table><thead><tr><th>UTC</th><th>round</th><th class="n">took</th><th class="n">lag</th><th class="n">objects</th><th class="n">failed</th></tr></thead><tbody>${rows}</tbody></table>${queued}<p class="muted">${runs.length} run(s) drawn; the newest ${Math.min(RUNS_LISTED, runs.length)} listed.</p>`;
}

function trends(runs: readonly RunHistoryEntry[]): Html {
  const oldestFirst = [...runs].reverse();
  const lags = oldestFirst.map((run) => run.lagSeconds);
  const objects = oldestFirst.map((run) => run.objects);
  const newestLag = runs[0]?.lagSeconds ?? null;
  const maxObjects = Math.max(0, ...objects);
  return html`<div class="trend"><figure>${sparkline(lags, { label: `sync lag over the last ${runs.length} runs` })}<figcaption>sync lag, now ${newestLag === null ? '–' : duration(newestLag)}</figcaption></figure><figure>${sparkline(objects, { label: `objects sent or queued per run over the last ${runs.length} runs` })}<figcaption>objects per run, peak ${maxObjects}</figcaption></figure></div>`;
}

function sourceSection(source: ConnectorStatus['sources'][number], view: DashboardView): Html {
  const credential = needsWarning(source.credential)
    ? html`<span class="${source.credential.level === 'expiring' ? 'warn' : 'bad'}">${source.credential.level}</span>: ${source.credential.detail}`
    : html`${source.credential.level}: ${source.credential.detail}`;
  const notifications = source.changeNotifications === undefined
    ? ''
    : (['users', 'groups'] as const).map((kind) => {
      const state = source.changeNotifications?.[kind];
      if (state === undefined) return '';
      return html`<dt>notifications, ${kind}</dt><dd>${state.state}${state.expiresAt === null ? '' : ` until ${state.expiresAt}`}${state.detail === '' ? '' : `: ${state.detail}`}</dd>`;
    });
  const conflicts = source.conflicts > 0 ? html`<dt>conflicts</dt><dd class="warn">${source.conflicts} user(s) in scope of more than one Signature 365 tenant (see <code>s365-connector validate</code>)</dd>` : '';
  let runs: Html;
  if (view.runs === 'not kept') runs = html`<p class="muted">Run history is not kept by this process.</p>`;
  else if (isUnreadable(view.runs)) runs = html`<p class="bad">The run history could not be read: ${view.runs.unreadable}</p>`;
  else {
    const list = view.runs.get(source.source) ?? [];
    runs = list.length === 0 ? html`<p class="muted">No run recorded yet.</p>` : html`${trends(list)}${runsTable(list)}`;
  }
  return html`<section class="card"><h3>EntraId:${source.sourceName ?? source.source}</h3><dl>${roundLine('users', source.users, view.generatedAt)}${roundLine('groups', source.groups, view.generatedAt)}<dt>credential</dt><dd>${credential}</dd>${notifications}${conflicts}</dl>${runs}</section>`;
}

function countsRow(kind: string, counts: LedgerCounts): Html {
  return html`<tr><td>${kind}</td><td class="n">${counts.held}</td><td class="n">${counts.owed}</td><td class="n">${counts.pendingDeletes}</td><td class="n">${counts.failed > 0 ? html`<span class="bad">${counts.failed}</span>` : counts.failed}</td></tr>`;
}

function destinationSection(destination: DestinationStatus, view: DashboardView): Html {
  const name = destination.destinationName ?? destination.destination;
  const state = destination.healthy
    ? html`<span class="ok">healthy</span>`
    : html`<span class="bad">quarantined${destination.quarantineReason === null ? '' : ` (${destination.quarantineReason})`}</span>${destination.quarantinedUntil === null ? '' : html` until ${when(destination.quarantinedUntil, view.generatedAt)}`}${destination.lastError === null ? '' : html`<br><span class="muted">last error:</span> ${destination.lastError}`}`;
  const failed = destination.failedObjects.length === 0
    ? ''
    : html`<h4>Failed objects</h4><ul>${destination.failedObjects.map((object) => {
      const label = view.objectNames.get(objectKey(destination.source, object.kind, object.id));
      return html`<li>${object.kind} ${label === undefined ? '' : html`<strong>${label}</strong> `}<code>${object.id}</code>: ${object.failures} failure(s)${object.nextAttemptAt === null ? '' : html`, next try ${when(object.nextAttemptAt, view.generatedAt)}`}<br><span class="muted">error:</span> ${object.lastError ?? 'none recorded'}</li>`;
    })}</ul>`;
  const holds = destination.holds.length === 0
    ? ''
    : html`<p class="warn">${destination.holds.map((hold) => `${hold.held} deletion(s) of ${hold.kind} held`).join(', ')}: see <a href="#held">deletions waiting for approval</a>.</p>`;
  return html`<section class="card"><h3>Signature365:${name} <span class="muted">from EntraId:${destination.sourceName ?? destination.source}</span></h3><p>${state}</p><table><thead><tr><th></th><th class="n">held</th><th class="n">owed</th><th class="n">to delete</th><th class="n">failed</th></tr></thead><tbody>${countsRow('users', destination.users)}${countsRow('groups', destination.groups)}</tbody></table>${holds}${failed}</section>`;
}

function heldSection(status: ConnectorStatus, view: DashboardView): Html {
  const holds = status.destinations.flatMap((destination) => destination.holds.map((hold) => ({ destination, hold })));
  if (holds.length === 0) return html`<p class="muted">No deletion is waiting for approval.</p>`;
  return html`<ul>${holds.map(({ destination, hold }) => html`<li><strong class="warn">${hold.held} deletion(s) of ${hold.kind} held</strong> at Signature365:${destination.destinationName ?? destination.destination} from EntraId:${destination.sourceName ?? destination.source}, since ${when(hold.heldSince, view.generatedAt)}<br>why: ${hold.reason}<br>hold <code>${hold.holdId}</code>; approve after checking the list (<code>s365-connector deletions list</code>): <code>s365-connector deletions approve --destination ${destination.destination} --source ${destination.source} --kind ${hold.kind}</code></li>`)}</ul>`;
}

/** A value of a shape this page does not know (pause state from a newer status), shown as text. */
function genericValue(value: unknown, depth = 0): Html {
  if (value === null || value === undefined) return html`<span class="muted">–</span>`;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return html`${String(value)}`;
  if (depth >= 4) return html`${JSON.stringify(value)}`;
  if (Array.isArray(value)) return html`<ul>${value.map((item: unknown) => html`<li>${genericValue(item, depth + 1)}</li>`)}</ul>`;
  if (typeof value === 'object') return html`<dl>${Object.entries(value).map(([key, item]) => html`<dt>${key}</dt><dd>${genericValue(item, depth + 1)}</dd>`)}</dl>`;
  // bigint, symbol, function: nothing a JSON status carries.
  return html`<span class="muted">(${typeof value})</span>`;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0)
    || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
}

/** Every field whose name speaks of pausing, at the top of the status, per source and per destination. */
export function pausedEntries(status: ConnectorStatus): { where: string; key: string; value: unknown }[] {
  const found: { where: string; key: string; value: unknown }[] = [];
  const scan = (where: string, record: object): void => {
    for (const [key, value] of Object.entries(record)) {
      if (/paus/i.test(key) && !isEmpty(value)) found.push({ where, key, value });
    }
  };
  scan('', status);
  for (const source of status.sources) scan(`EntraId:${source.sourceName ?? source.source}`, source);
  for (const destination of status.destinations) {
    scan(`Signature365:${destination.destinationName ?? destination.destination} from EntraId:${destination.sourceName ?? destination.source}`, destination);
  }
  return found;
}

function pausedSection(status: ConnectorStatus): Html {
  const entries = pausedEntries(status);
  if (entries.length === 0) return html`<p class="muted">No mapping is paused.</p>`;
  return html`<ul>${entries.map((entry) => html`<li>${entry.where === '' ? '' : html`<strong>${entry.where}</strong> `}<span class="muted">${entry.key}</span>${genericValue(entry.value)}</li>`)}</ul>`;
}

function auditSection(view: DashboardView): Html {
  if (view.audit === 'not available') return html`<p class="muted">The audit trail is not available in this deployment.</p>`;
  if (isUnreadable(view.audit)) return html`<p class="bad">The audit trail could not be read: ${view.audit.unreadable}</p>`;
  if (view.audit.length === 0) return html`<p class="muted">No audit row yet.</p>`;
  const destinationName = (key: string) => view.destinationNames.get(key) ?? key;
  return html`<ul>${view.audit.map((row: ObjectAuditRow) => {
    const label = view.objectNames.get(objectKey(row.source, row.kind, row.objectId));
    const tone = row.action === 'failed' ? 'bad' : row.action === 'delete' || row.action === 'staged delete' ? 'warn' : '';
    return html`<li>${when(row.at, view.generatedAt)} <span class="badge ${tone}">${row.action}</span> ${row.kind} ${label === undefined ? '' : html`<strong>${label}</strong> `}<code>${row.objectId}</code> at Signature365:${destinationName(row.destination)}${row.reason === '' ? '' : html`: ${row.reason}`}${row.fields.length === 0 ? '' : html` <span class="muted">fields: ${row.fields.join(', ')}</span>`}</li>`;
  })}</ul>`;
}

function queuesSection(status: ConnectorStatus): HtmlValue {
  if (status.queues === undefined) return '';
  const rows = status.queues.map((queue) => html`<tr><td>${queue.queue}</td><td class="n">${queue.messages}</td><td class="n">${queue.poisonMessages > 0 ? html`<span class="bad">${queue.poisonMessages}</span>` : queue.poisonMessages}</td></tr>`);
  const poisoned = status.queues.some((queue) => queue.poisonMessages > 0)
    ? html`<p class="bad">Poisoned messages failed every try: fix the cause, then <code>s365-connector queues redrive --queue &lt;name&gt;</code>.</p>`
    : '';
  return html`<h2 id="queues">Queues</h2><table><thead><tr><th>queue</th><th class="n">waiting</th><th class="n">poisoned</th></tr></thead><tbody>${rows}</tbody></table>${poisoned}`;
}

export function renderDashboard(view: DashboardView): string {
  const { status } = view;
  const warnings = status.warnings.length === 0
    ? html`<p class="ok">No warnings.</p>`
    : html`<ul>${status.warnings.map((warning) => html`<li class="warn">${warning}</li>`)}</ul>`;
  const sources = status.sources.length === 0 ? html`<p>No source configured.</p>` : status.sources.map((source) => sourceSection(source, view));
  const destinations = status.destinations.length === 0
    ? html`<p class="muted">No destination holds or is owed anything yet.</p>`
    : status.destinations.map((destination) => destinationSection(destination, view));
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="${REFRESH_SECONDS}"><meta name="referrer" content="no-referrer"><title>Signature 365 connector: status</title><style>${Html.trusted(DASHBOARD_CSS)}</style></head>
<body><header><h1>Signature 365 connector: status</h1><p class="muted">As of ${when(view.generatedAt, view.generatedAt)}; this page reloads every ${REFRESH_SECONDS} s.</p>
<nav><a href="#warnings">warnings</a><a href="#held">held deletions</a><a href="#paused">paused</a><a href="#sources">sources</a><a href="#destinations">destinations</a><a href="#audit">audit</a></nav></header>
<main><h2 id="warnings">Warnings</h2>${warnings}
<h2 id="held">Deletions waiting for approval</h2>${heldSection(status, view)}
<h2 id="paused">Paused mappings</h2>${pausedSection(status)}
<h2 id="sources">Sources</h2><p class="muted">Sync lag: how stale a source's data was when a run ended (the end of the run minus its last completed round). Objects: upserts and deletions sent or queued per run.</p>${sources}
<h2 id="destinations">Destinations</h2><p class="muted">held: acknowledged by the destination; owed: new or changed, not acknowledged yet; to delete: left scope, waiting out the grace period or a hold.</p>${destinations}
${queuesSection(status)}
<h2 id="audit">Audit trail</h2>${auditSection(view)}</main>
<footer>Read-only. Names, counts and object ids only; no secret is shown. The same facts as JSON: <code>/api/status</code>.</footer></body></html>
`;
  return page.text;
}
