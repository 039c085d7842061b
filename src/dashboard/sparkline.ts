/**
 * A sparkline as inline SVG: a few hundred bytes, no script, no image request, so the page's
 * Content-Security-Policy can forbid both. Values are oldest first; a null (no figure for that
 * run) breaks the line instead of being drawn as zero. The scale starts at 0 (lags and counts are
 * never negative), so a flat line near the bottom reads as "small", not as "steady at the top".
 */
import { html, Html } from './html';

export interface SparklineOptions {
  /** What the line shows, for screen readers and the tooltip (`<title>`). */
  label: string;
  width?: number;
  height?: number;
}

const PADDING = 2;

function coordinate(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** The points of the line (x, y in SVG units), split where a value is missing. */
export function sparklinePoints(values: readonly (number | null)[], width: number, height: number): { x: number; y: number }[][] {
  const usable = values.map((value) => (value === null || !Number.isFinite(value) || value < 0 ? null : value));
  const max = Math.max(0, ...usable.filter((value): value is number => value !== null));
  const step = values.length > 1 ? (width - 2 * PADDING) / (values.length - 1) : 0;
  const segments: { x: number; y: number }[][] = [];
  let current: { x: number; y: number }[] = [];
  usable.forEach((value, index) => {
    if (value === null) {
      if (current.length > 0) segments.push(current);
      current = [];
      return;
    }
    const x = values.length > 1 ? PADDING + index * step : width / 2;
    const y = max === 0 ? height - PADDING : PADDING + (height - 2 * PADDING) * (1 - value / max);
    current.push({ x, y });
  });
  if (current.length > 0) segments.push(current);
  return segments;
}

export function sparkline(values: readonly (number | null)[], options: SparklineOptions): Html {
  const width = options.width ?? 160;
  const height = options.height ?? 32;
  const segments = sparklinePoints(values, width, height);
  if (segments.length === 0) return html`<span class="muted">no figures yet</span>`;
  const lines = segments
    .filter((segment) => segment.length > 1)
    .map((segment) => html`<polyline fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" points="${segment.map((p) => `${coordinate(p.x)},${coordinate(p.y)}`).join(' ')}"/>`);
  // The newest point is marked, so a single run (or an isolated one) still shows.
  const last = segments[segments.length - 1]?.at(-1);
  const dot = last === undefined ? '' : html`<circle cx="${coordinate(last.x)}" cy="${coordinate(last.y)}" r="2" fill="currentColor"/>`;
  return html`<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${options.label}"><title>${options.label}</title>${lines}${dot}</svg>`;
}
