/**
 * GET /api/dashboard as both fronts answer it (functions/dashboard.ts, `serve`): the page and the
 * headers that keep it inert. The Content-Security-Policy allows nothing but the page's own style
 * block, by its hash: no script of any kind (inline, attribute or URL), no image, font, frame or
 * form target, and no framing by another site. The fronts scrub the body of the process's secrets
 * like the status JSON, although nothing on the page reads one.
 */
import { createHash } from 'node:crypto';
import { readDashboard, type DashboardDependencies } from './dashboardData';
import { DASHBOARD_CSS, renderDashboard } from './renderDashboard';

const STYLE_HASH = `sha256-${createHash('sha256').update(DASHBOARD_CSS, 'utf8').digest('base64')}`;

export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${STYLE_HASH}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': DASHBOARD_CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

export interface DashboardPage {
  headers: Record<string, string>;
  body: string;
}

export async function dashboardPage(deps: DashboardDependencies, now: Date = new Date()): Promise<DashboardPage> {
  return { headers: { ...DASHBOARD_HEADERS }, body: renderDashboard(await readDashboard(deps, now)) };
}
