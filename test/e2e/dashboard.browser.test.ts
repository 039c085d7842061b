/**
 * The status page (GET /api/dashboard) in a real browser, served by serve's HTTP front in this
 * process, over a small tenant synced three times through the Functions handlers (fake Entra, fake
 * Signature 365, the test Azurite): a full sync, a change, then a scope cut the deletion gate holds.
 * One object is refused by the destinations, the client secret ends in five days, and two users'
 * display names are markup. The same page through the Functions adapter is checked without a
 * browser. One Chromium launch for the file; skipped, with a message, only when /usr/bin/chromium
 * is missing (CI installs it).
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import puppeteer, { type Browser, type HTTPResponse } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboard } from '../../functions/dashboard';
import { dashboardPage } from '../../src/dashboard/dashboardPage';
import { startServeHttp, type ServeHttp } from '../../src/serve/httpServer';
import { getProcessLogger } from '../../src/setup/invocationLogger';
import { processScrubber } from '../../src/setup/secretScrubber';
import { getWorkerRuntime } from '../../src/setup/workerRuntime';
import { silentLogger } from '../../src/sync/logger';
import type { ObjectAuditLog, ObjectAuditRow } from '../../src/sync/ports';
import { readConnectorStatus } from '../../src/sync/status';
import { FakeTenant } from '../fakes/graph';
import { everythingCaptured, expectNoSecrets, heldUsers, startConnectorHarness, type ConnectorHarness } from '../support/connectorHarness';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../artifacts');
const SCRIPT_NAME = '<script>alert(1)</script>';
const IMAGE_NAME = '<img src=x onerror=alert(2)>';
const API_KEY = 'dashboard-test-api-key-0123456789';

interface Demo {
  harness: ConnectorHarness;
  scriptUser: string;
  imageUser: string;
  auditRows: ObjectAuditRow[];
}

/**
 * The browser globals the page probes use: the project compiles without the DOM library, and these
 * declarations stay inside this module (the probes run in Chromium, where the real ones exist).
 */
interface ProbeElement {
  textContent: string | null;
  readonly attributes: Iterable<{ name: string }>;
  querySelector(selector: string): ProbeElement | null;
  querySelectorAll(selector: string): Iterable<ProbeElement> & { length: number };
  getBoundingClientRect(): { right: number };
}
declare const document: {
  body: ProbeElement & { innerText: string };
  documentElement: { scrollWidth: number };
  querySelectorAll(selector: string): Iterable<ProbeElement> & { length: number };
};
declare const window: { innerWidth: number };
declare function getComputedStyle(element: ProbeElement): { maxWidth: string };

let demo: Demo | undefined;
let server: ServeHttp | undefined;

/** The audit trail's port as the other part of issue 18 implements it; rows with hostile text. */
class MemoryAuditTrail implements Pick<ObjectAuditLog, 'query'> {
  constructor(private readonly rows: ObjectAuditRow[]) {}

  query(query: { limit?: number } = {}): Promise<ObjectAuditRow[]> {
    return Promise.resolve(this.rows.slice(0, query.limit ?? 100));
  }
}

async function syncedDemo(): Promise<Demo> {
  const tenant = new FakeTenant({ seed: 18, domain: 'contoso.example' });
  const sales = tenant.addGroup({ displayName: 'Sales' }).id;
  const salesUsers = Array.from({ length: 24 }, () => tenant.addUser().id);
  const scriptUser = tenant.addUser({ displayName: SCRIPT_NAME }).id;
  const imageUser = tenant.addUser({ displayName: IMAGE_NAME }).id;
  for (const id of [...salesUsers, scriptUser, imageUser]) tenant.addMember(sales, id);
  for (let i = 0; i < 4; i += 1) tenant.addUser();
  const harness = await startConnectorHarness({ tenant, graphPermissions: ['User.Read.All', 'GroupMember.Read.All', 'Application.Read.All'] });
  tenant.addClientSecret({
    appId: harness.graph.clientId, secret: harness.clientSecret, displayName: 'connector 2026',
    endDateTime: new Date(Date.now() + 5 * 86_400_000 + 3_600_000).toISOString(),
  });
  harness.s365.faults.rejectItem(scriptUser, `mail domain not verified for ${IMAGE_NAME}`);
  harness.s365.faults.rejectItem(imageUser, 'mailbox unknown');
  harness.configure([
    { From: 'EntraId:Default', To: 'Signature365:TenantA' },
    { From: 'EntraId:Default', To: 'Signature365:TenantB', LimitToGroups: [sales] },
  ], { DeleteAfterDays: 0 });
  await harness.syncAndUpload();
  for (const id of salesUsers.slice(0, 3)) tenant.updateUser(id, { jobTitle: 'Account Manager' });
  await harness.syncAndUpload();
  // 14 of TenantB's 26 leave its scope: above its threshold of max(10, 20 %), so they are held.
  for (const id of salesUsers.slice(0, 14)) tenant.removeMember(sales, id);
  await harness.syncAndUpload();
  const at = new Date().toISOString();
  const auditRows: ObjectAuditRow[] = [
    { runId: 'r3', at, destination: 'TenantA', source: 'Default', kind: 'users', objectId: scriptUser, action: 'failed', reason: `400: ${SCRIPT_NAME}`, fields: [] },
    { runId: 'r2', at, destination: 'TenantA', source: 'Default', kind: 'users', objectId: salesUsers[0] ?? '', action: 'update', reason: 'changed in Entra', fields: ['jobTitle'] },
  ];
  return { harness, scriptUser, imageUser, auditRows };
}

beforeAll(async () => {
  demo = await syncedDemo();
  const runtime = await getWorkerRuntime(getProcessLogger());
  const auditTrail = new MemoryAuditTrail(demo.auditRows);
  processScrubber.register(API_KEY);
  // serve's HTTP front with the routes serve gives it (src/serve/serveApp.ts), the audit trail added.
  server = await startServeHttp({
    webhook: () => runtime.webhookDependencies({}),
    status: async () => processScrubber.scrub(JSON.stringify(await readConnectorStatus(runtime))),
    explain: () => Promise.resolve({ found: false, body: '{}' }),
    dashboard: async () => {
      const page = await dashboardPage({ ...runtime, auditTrail });
      return { headers: page.headers, body: processScrubber.scrub(page.body) };
    },
    syncNow: () => Promise.resolve({ status: 503, body: { error: 'not in this test' } }),
    audit: () => Promise.resolve({ status: 503, body: '{"error":"not in this test"}' }),
    apiKey: API_KEY,
    logger: silentLogger,
  }, 0, '127.0.0.1');
});

afterAll(async () => {
  await server?.close();
  if (demo !== undefined) expectNoSecrets(demo.harness, everythingCaptured(demo.harness));
  await demo?.harness.close();
});

function current(): Demo {
  if (demo === undefined) throw new Error('the demo state was not built');
  return demo;
}

describe('GET /api/dashboard through the Functions adapter', () => {
  it('answers the page with the strict headers and the synced figures, without a secret', async () => {
    const { harness, scriptUser } = current();
    const response = await dashboard(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/dashboard' }),
      new InvocationContext({ invocationId: 'dashboard-test', functionName: 'dashboard' }),
    );
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store',
      'Content-Security-Policy': expect.stringMatching(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; .*frame-ancestors 'none'$/),
    });
    if (typeof response.body !== 'string') throw new Error('the dashboard answers an HTML string');
    const body = response.body;
    expect(body).toContain(`<code>${scriptUser}</code>`);
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toMatch(/<script|<img/i);
    // The Functions runtime carries the audit trail (src/store/objectAuditStore.ts): the sync's rows are on the page.
    expect(body).toContain('<h2 id="audit">Audit trail</h2><ul><li>');
    expect(body).not.toContain('The audit trail is not available');
    for (const secret of [...Object.values(harness.tokens), harness.clientSecret]) expect(body).not.toContain(secret);
  });
});

describe.skipIf(!existsSync(CHROMIUM))(`the status page in Chromium (${CHROMIUM})`, () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows every section with its figures, names from Entra as text, and runs no script', async () => {
    const { harness, scriptUser } = current();
    if (browser === undefined || server === undefined) throw new Error('no browser or server');
    const url = `http://127.0.0.1:${server.port}/api/dashboard`;
    // serve's access rule: with an API key set, a caller without it is refused.
    expect((await fetch(url)).status).toBe(403);

    const page = await browser.newPage();
    const dialogs: string[] = [];
    const consoleErrors: string[] = [];
    page.on('dialog', (dialog) => { dialogs.push(dialog.message()); void dialog.dismiss(); });
    page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
    await page.setViewport({ width: 1100, height: 900 });
    const response: HTTPResponse | null = await page.goto(`${url}?code=${API_KEY}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(headers['x-content-type-options']).toBe('nosniff');

    const seen = await page.evaluate(() => {
      const section = (title: string) => [...document.querySelectorAll('section.card')].find((s) => s.querySelector('h3')?.textContent?.startsWith(title));
      const countsOf = (title: string) => [...(section(title)?.querySelectorAll('tbody tr') ?? [])].map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent));
      return {
        headings: [...document.querySelectorAll('h2')].map((h) => h.textContent),
        text: document.body.innerText,
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        handlers: [...document.querySelectorAll('*')].filter((element) => [...element.attributes].some((attribute) => attribute.name.startsWith('on'))).length,
        sparklines: document.querySelectorAll('svg.spark').length,
        runRows: section('EntraId:Default')?.querySelectorAll('tbody tr').length ?? 0,
        tenantA: countsOf('Signature365:TenantA'),
        tenantB: countsOf('Signature365:TenantB'),
        // The style block was let through by its hash: the layout rule applies.
        maxWidth: getComputedStyle(document.body).maxWidth,
      };
    });
    expect(seen.headings).toEqual(['Warnings', 'Deletions waiting for approval', 'Paused mappings', 'Sources', 'Destinations', 'Queues', 'Audit trail']);
    expect(seen.maxWidth).toBe('1024px');
    expect(consoleErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
    expect(seen.text).toMatch(/EntraId:Default: the client secret "connector 2026" expires on .* \(5 day\(s\) left\)/);
    expect(seen.text).toMatch(/14 deletion\(s\) of users held at Signature365:TenantB from EntraId:Default/);
    expect(seen.text).toContain('s365-connector deletions approve --destination TenantB --source Default --kind users');
    expect(seen.text).toContain('No mapping is paused.');
    // Three runs: full, then two incremental, each with its lag and objects; two sparklines.
    expect(seen.runRows).toBe(3);
    expect(seen.sparklines).toBe(2);
    expect(seen.text).toMatch(/full\s+ok/);
    const tenantAUsers = seen.tenantA.find((row) => row[0] === 'users');
    expect(tenantAUsers?.slice(1)).toEqual([String(heldUsers(harness, 'TenantA').size), '2', '0', '2']);
    expect(seen.tenantB.find((row) => row[0] === 'users')?.[3]).toBe('14');
    // The display names and the destination's error are text on the page, not elements.
    expect(seen.text).toContain(`${SCRIPT_NAME} (`);
    expect(seen.text).toContain(`${IMAGE_NAME} (`);
    expect(seen.text).toContain(`mail domain not verified for ${IMAGE_NAME}`);
    expect(seen.text).toContain(`failed users ${SCRIPT_NAME}`);
    expect(seen.text).toContain(scriptUser);
    expect({ scripts: seen.scripts, images: seen.images, handlers: seen.handlers, dialogs }).toEqual({ scripts: 0, images: 0, handlers: 0, dialogs: [] });
    const served = await page.content();
    expect(served).not.toContain(API_KEY);
    writeFileSync(resolve(ARTIFACTS, 'dashboard.html'), served);
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-desktop.png'), fullPage: true });

    // A phone, JavaScript off: the same page, complete, and nothing wider than the screen.
    await page.setJavaScriptEnabled(false);
    await page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(`${url}?code=${API_KEY}`, { waitUntil: 'load' });
    const phone = await page.evaluate(() => ({
      headings: document.querySelectorAll('h2').length,
      text: document.body.innerText,
      viewport: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      widest: Math.max(...[...document.querySelectorAll('body *')].map((element) => element.getBoundingClientRect().right)),
    }));
    expect(phone.headings).toBe(7);
    expect(phone.text.length).toBeGreaterThan(seen.text.length * 0.9);
    expect(phone.viewport).toBe(360);
    expect(phone.scrollWidth).toBeLessThanOrEqual(360);
    expect(phone.widest).toBeLessThanOrEqual(360);
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-360.png'), fullPage: true });
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-360-first-screen.png') });
    await page.close();
  });
});

if (!existsSync(CHROMIUM)) {
  console.warn(`dashboard.browser.test.ts: ${CHROMIUM} is missing, so the browser checks are skipped (CI installs it: apt-get install -y chromium)`);
}
