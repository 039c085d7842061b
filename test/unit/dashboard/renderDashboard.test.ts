/**
 * The status page without a browser: every text from outside the code is escaped wherever it is
 * shown, the page holds no script, no event attribute and no style attribute, and the one style
 * block is the one the Content-Security-Policy allows by hash.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKey, type DashboardView } from '../../../src/dashboard/dashboardData';
import { DASHBOARD_CONTENT_SECURITY_POLICY, DASHBOARD_HEADERS } from '../../../src/dashboard/dashboardPage';
import { escapeHtml, html } from '../../../src/dashboard/html';
import { pausedEntries, renderDashboard } from '../../../src/dashboard/renderDashboard';
import type { ConnectorStatus, DestinationStatus } from '../../../src/sync/status';
import type { RunHistoryEntry } from '../../../src/sync/ports';

const SCRIPT = '<script>alert(1)</script>';
const IMAGE = '<img src=x onerror=alert(2)>';
const QUOTE = '" onmouseover="alert(3)';
const NOW = '2026-12-03T09:30:00.000Z';
const USER_ID = '0a1b2c3d-0000-4000-8000-000000000001';

function destination(overrides: Partial<DestinationStatus> = {}): DestinationStatus {
  return {
    destination: 'Evil.0123456789ab', source: 'Contoso.0123456789ab', destinationName: `Tenant ${IMAGE}`, sourceName: `Contoso ${SCRIPT}`,
    healthy: false, state: 'unauthorized: 401', quarantineReason: 'unauthorized', quarantinedUntil: '2026-12-03T10:30:00.000Z', lastError: `401 ${SCRIPT}`,
    users: { held: 12, owed: 3, pendingDeletes: 4, failed: 1 },
    groups: { held: 2, owed: 0, pendingDeletes: 0, failed: 0 },
    holds: [{ kind: 'users', held: 14, reason: `14 deletions over the threshold ${QUOTE}`, holdId: 'abcdef0123456789', heldSince: '2026-12-03T08:00:00.000Z' }],
    failedObjects: [{ kind: 'users', id: USER_ID, failures: 2, lastError: `400: ${IMAGE}`, nextAttemptAt: '2026-12-03T09:40:00.000Z' }],
    ...overrides,
  };
}

function run(minutesAgo: number, lag: number | null, objects: number): RunHistoryEntry {
  return {
    runId: `r${minutesAgo}`, source: 'Contoso.0123456789ab', endedAt: new Date(Date.parse(NOW) - minutesAgo * 60_000).toISOString(), durationSeconds: 2.5,
    round: 'incremental', outcome: minutesAgo === 0 ? 'failed' : 'ok', lagSeconds: lag, objects, succeeded: objects, failed: minutesAgo === 0 ? 1 : 0, delivery: 'inProcess',
  };
}

function view(statusOverrides: Partial<ConnectorStatus> & Record<string, unknown> = {}): DashboardView {
  const status: ConnectorStatus = {
    sources: [{
      source: 'Contoso.0123456789ab', sourceName: `Contoso ${SCRIPT}`,
      users: { lastRoundCompletedAt: '2026-12-03T09:15:00.000Z', lastFullRoundCompletedAt: '2026-12-02T09:15:00.000Z', unfinished: null },
      groups: { lastRoundCompletedAt: '2026-12-03T09:15:00.000Z', lastFullRoundCompletedAt: null, unfinished: { kind: 'full', startedAt: '2026-12-03T09:00:00.000Z', pages: 3 } },
      conflicts: 1,
      credential: { kind: 'clientSecret', level: 'urgent', expiresAt: '2026-12-06T00:00:00.000Z', daysLeft: 2, detail: `the client secret "${SCRIPT}" expires on 2026-12-06` },
    }],
    destinations: [destination()],
    queues: [{ queue: 'uploads', messages: 3, poisonMessages: 1 }],
    warnings: [`EntraId:Contoso ${SCRIPT}: the client secret expires`, `Signature365:Tenant ${IMAGE}: the integration token was refused`],
    ...statusOverrides,
  };
  return {
    generatedAt: NOW,
    status,
    runs: new Map([['Contoso.0123456789ab', [run(0, 900, 1), run(15, 30, 7), run(30, null, 40)]]]),
    audit: [{
      runId: 'r0', at: '2026-12-03T09:29:00.000Z', destination: 'Evil.0123456789ab', source: 'Contoso.0123456789ab', kind: 'users', objectId: USER_ID,
      action: 'failed', reason: `400: ${SCRIPT}`, fields: [`jobTitle${IMAGE}`],
    }],
    objectNames: new Map([[objectKey('Contoso.0123456789ab', 'users', USER_ID), `${SCRIPT} (${IMAGE}@contoso.example)`]]),
    sourceNames: new Map([['Contoso.0123456789ab', `Contoso ${SCRIPT}`]]),
    destinationNames: new Map([['Evil.0123456789ab', `Tenant ${IMAGE}`]]),
  };
}

/** Every tag the page opens or closes: with input escaped, these are all from the code. */
function tags(page: string): string[] {
  return [...page.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g)].map((match) => match[0]);
}

const ALLOWED_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'h3', 'h4', 'p', 'nav', 'a', 'main', 'section', 'dl', 'dt', 'dd', 'span', 'strong',
  'time', 'br', 'code', 'ul', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'figure', 'figcaption', 'svg', 'polyline', 'circle', 'footer',
]);

describe('the status page renderer', () => {
  it('shows names, errors, reasons and warnings from outside as text, wherever they appear', () => {
    const page = renderDashboard(view());
    const tagNames = new Set(tags(page).map((tag) => /^<\/?([a-zA-Z0-9]+)/.exec(tag)?.[1]?.toLowerCase()));
    expect([...tagNames].filter((name) => name === undefined || !ALLOWED_TAGS.has(name))).toEqual([]);
    for (const tag of tags(page)) {
      expect(tag, 'no event handler or inline style on any element').not.toMatch(/\son\w+\s*=|\sstyle\s*=/i);
    }
    expect(page).not.toMatch(/<script|<img|javascript:/i);
    // Each hostile string is there, escaped, in every place it was given.
    const escapedScript = escapeHtml(SCRIPT);
    const escapedImage = escapeHtml(IMAGE);
    expect(page.split(escapedScript).length - 1).toBeGreaterThanOrEqual(7);
    expect(page.split(escapedImage).length - 1).toBeGreaterThanOrEqual(5);
    expect(page).toContain(escapeHtml(QUOTE));
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; (&lt;img src=x onerror=alert(2)&gt;@contoso.example)');
  });

  it('holds the sections an administrator looks for, with their figures', () => {
    const page = renderDashboard(view());
    for (const id of ['warnings', 'held', 'paused', 'sources', 'destinations', 'queues', 'audit']) expect(page).toContain(`id="${id}"`);
    expect(page).toContain('14 deletion(s) of users held');
    expect(page).toContain('s365-connector deletions approve --destination Evil.0123456789ab --source Contoso.0123456789ab --kind users');
    expect(page).toMatch(/<td>users<\/td><td class="n">12<\/td><td class="n">3<\/td><td class="n">4<\/td><td class="n"><span class="bad">1<\/span><\/td>/);
    expect(page).toContain('quarantined (unauthorized)');
    expect(page).toContain('full round unfinished at page 3');
    expect(page).toContain('sync lag, now 15 min');
    expect(page).toContain('objects per run, peak 40');
    expect(page.match(/<svg class="spark"/g)).toHaveLength(2);
    expect(page).toContain('No mapping is paused.');
    expect(page).toContain('<span class="badge bad">failed</span>');
    expect(page).toContain('Poisoned messages failed every try');
    expect(page).not.toMatch(/<form|<button|<input|method=/i);
  });

  it('says what is missing instead of failing when runs or the audit trail cannot be read', () => {
    const page = renderDashboard({ ...view(), runs: { unreadable: `StorageError: ${SCRIPT}` }, audit: 'not available' });
    expect(page).toContain(`The run history could not be read: StorageError: ${escapeHtml(SCRIPT)}`);
    expect(page).toContain('The audit trail is not available in this deployment.');
  });

  it('renders pause state it does not know the shape of, generically and escaped', () => {
    // A status from a version that knows pausing: fields this page was not written against.
    const withPause: ConnectorStatus = Object.assign(
      { ...view().status, destinations: [Object.assign(destination(), { paused: { by: 'admin', reason: 'migration' } })] },
      { pausedMappings: [{ mapping: 2, since: '2026-12-03T08:00:00.000Z', by: SCRIPT, reason: IMAGE }] },
    );
    expect(pausedEntries(withPause).map((entry) => entry.key)).toEqual(['pausedMappings', 'paused']);
    const nothingPaused: ConnectorStatus = Object.assign(
      { ...view().status, destinations: [Object.assign(destination(), { paused: null })] },
      { pausedMappings: [] },
    );
    expect(pausedEntries(nothingPaused)).toEqual([]);
    const page = renderDashboard({ ...view(), status: withPause });
    expect(page).toContain('pausedMappings');
    expect(page).toContain(`<dt>by</dt><dd>${escapeHtml(SCRIPT)}</dd>`);
    expect(page).toContain(`<dt>reason</dt><dd>${escapeHtml(IMAGE)}</dd>`);
    expect(page).toContain('<dt>reason</dt><dd>migration</dd>');
    expect(page).not.toContain('No mapping is paused.');
  });

  it('is allowed exactly its own style block by the Content-Security-Policy, and nothing else', () => {
    const page = renderDashboard(view());
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1] ?? '');
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0] ?? '', 'utf8').digest('base64');
    expect(DASHBOARD_CONTENT_SECURITY_POLICY).toBe(`default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`);
    expect(DASHBOARD_HEADERS).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store',
    });
  });
});

describe('html', () => {
  it('escapes what is interpolated and keeps what it built', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"x\''}">${inner}${[1, ' & ', null, undefined]}</p>`.text).toBe('<p title="&quot;x&#39;"><b>&lt;i&gt;</b>1 &amp; </p>');
  });
});
