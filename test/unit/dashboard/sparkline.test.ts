/** The sparklines are SVG drawn from numbers: scale from 0, gaps for missing figures, text escaped. */
import { describe, expect, it } from 'vitest';
import { sparkline, sparklinePoints } from '../../../src/dashboard/sparkline';

describe('sparkline', () => {
  it('scales from zero to the largest value, oldest on the left', () => {
    expect(sparklinePoints([0, 5, 10], 100, 20)).toEqual([[{ x: 2, y: 18 }, { x: 50, y: 10 }, { x: 98, y: 2 }]]);
  });

  it('draws all-zero figures along the bottom instead of dividing by zero', () => {
    expect(sparklinePoints([0, 0], 100, 20)).toEqual([[{ x: 2, y: 18 }, { x: 98, y: 18 }]]);
  });

  it('breaks the line where a figure is missing, negative or not a number', () => {
    const segments = sparklinePoints([4, 2, null, 1, Number.NaN, -3, 4], 64, 20);
    expect(segments.map((segment) => segment.map((point) => point.x))).toEqual([[2, 12], [32], [62]]);
    const svg = sparkline([4, 2, null, 1, Number.NaN, -3, 4], { label: 'lag', width: 64, height: 20 }).text;
    // One polyline for the first two points; single points are not lines; the newest point is marked.
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg).toContain('<circle cx="62" cy="2" r="2"');
  });

  it('marks a single run with a dot in the middle', () => {
    const svg = sparkline([7], { label: 'one run', width: 100, height: 20 }).text;
    expect(svg).not.toContain('<polyline');
    expect(svg).toContain('<circle cx="50" cy="2" r="2"');
  });

  it('says so when there is nothing to draw', () => {
    expect(sparkline([], { label: 'x' }).text).toBe('<span class="muted">no figures yet</span>');
    expect(sparkline([null, null], { label: 'x' }).text).toBe('<span class="muted">no figures yet</span>');
  });

  it('is an inline SVG with an accessible, escaped label and no script or style attribute', () => {
    const svg = sparkline([1, 3, 2], { label: '"><script>alert(1)</script>' }).text;
    expect(svg).toMatch(/^<svg class="spark" xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 160 32" width="160" height="32" role="img" aria-label="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;">/);
    expect(svg).toContain('<title>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(svg).not.toMatch(/<script|style=|\son\w+=/i);
    // 160 × 32 with 2 units of padding: 1 of 3 sits two thirds down the 28 units, 2 of 3 one third.
    expect(svg).toContain('points="2,20.7 80,2 158,11.3"');
  });
});
