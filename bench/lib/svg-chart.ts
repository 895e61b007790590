// The chart in docs/benchmarks.md, drawn by our own code (no plotting tool): added latency per
// hop, p50 and p99 side by side, one group of bars per scenario, one bar per proxy
// configuration, a whisker for the min–max over rounds. Ratios are read off the bar lengths
// against nginx's bar in the same group.
import type { ScenarioSummary } from './aggregate.ts';

export interface ChartSeries { id: string; label: string; color: string }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencyChart(scenarios: ScenarioSummary[], series: ChartSeries[], title: string): string {
  const keys = [...new Map(scenarios.map((s) => [`${s.rate}/${s.bodyBytes}`, s])).values()];
  const bar = 13;
  const gap = 12;
  const groupH = series.length * bar + gap;
  const top = 46;
  const left = 118;
  const panelW = 300;
  const panelGap = 40;
  const height = top + keys.length * groupH + 64 + series.length * 16;
  const width = left + 2 * panelW + panelGap + 20;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const panels: Array<{ name: string; pick: 'addedP50PerHop' | 'addedP99PerHop' }> = [
    { name: 'added p50 per hop (µs)', pick: 'addedP50PerHop' },
    { name: 'added p99 per hop (µs)', pick: 'addedP99PerHop' },
  ];
  panels.forEach((panel, pi) => {
    const x0 = left + pi * (panelW + panelGap);
    const vals = scenarios.filter((s) => series.some((se) => se.id === s.config)).map((s) => s[panel.pick].max).filter(Number.isFinite);
    // log scale: a saturated configuration (seconds) and nginx (tens of µs) on one axis
    const maxV = Math.max(10, ...vals);
    const span = Math.log10(maxV);
    const scale = (v: number): number => (v <= 1 ? 0 : (Math.log10(v) / span) * (panelW - 40));
    out.push(`<text x="${x0}" y="${top - 14}" font-weight="bold">${esc(panel.name)}, log scale</text>`);
    for (let e = 1; e <= Math.floor(span); e++) {
      const gx = x0 + scale(10 ** e);
      out.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${top + keys.length * groupH}" stroke="#ddd"/>`);
      out.push(`<text x="${gx.toFixed(1)}" y="${top + keys.length * groupH + 10}" text-anchor="middle" fill="#888" font-size="9">${e < 3 ? 10 ** e : e < 6 ? `${10 ** (e - 3)}k` : `${10 ** (e - 6)}M`}</text>`);
    }
    out.push(`<line x1="${x0}" y1="${top - 6}" x2="${x0}" y2="${top + keys.length * groupH}" stroke="#999"/>`);
    keys.forEach((k, gi) => {
      const gy = top + gi * groupH;
      if (pi === 0) out.push(`<text x="${left - 8}" y="${gy + (series.length * bar) / 2 + 4}" text-anchor="end">${k.rate} rps, ${k.bodyBytes} B</text>`);
      series.forEach((se, si) => {
        const s = scenarios.find((x) => x.config === se.id && x.rate === k.rate && x.bodyBytes === k.bodyBytes);
        const y = gy + si * bar;
        if (!s || !Number.isFinite(s[panel.pick].median)) {
          out.push(`<text x="${x0 + 4}" y="${y + bar - 3}" fill="#999">n/a</text>`);
          return;
        }
        const v = s[panel.pick];
        const w = scale(v.median);
        out.push(`<rect x="${x0}" y="${y + 1}" width="${w.toFixed(1)}" height="${bar - 3}" fill="${se.color}"/>`);
        const wx1 = x0 + scale(v.min);
        const wx2 = x0 + scale(v.max);
        const cy = y + bar / 2;
        out.push(`<line x1="${wx1.toFixed(1)}" y1="${cy}" x2="${wx2.toFixed(1)}" y2="${cy}" stroke="#333" stroke-width="1"/>`);
        out.push(`<text x="${(Math.max(x0 + w, wx2) + 4).toFixed(1)}" y="${y + bar - 3}" fill="#333">${Math.round(v.median)}</text>`);
      });
    });
  });
  const ly = top + keys.length * groupH + 28;
  series.forEach((se, i) => {
    out.push(`<rect x="${left}" y="${ly + i * 16 - 9}" width="12" height="10" fill="${se.color}"/>`);
    out.push(`<text x="${left + 18}" y="${ly + i * 16}">${esc(se.label)}</text>`);
  });
  out.push(`<text x="${left}" y="${ly + series.length * 16 + 4}" fill="#666">bar: median of rounds; whisker: min–max; ≤ 0 (noise) shows no bar</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
