/** Small, dependency-free SVG charts for the assessment report: horizontal bars with labels and values. */

/** One bar. */
export interface Bar {
  label: string;
  value: number;
  /** Text shown after the bar (default: the value). */
  text?: string;
  /** Fill colour (default a neutral blue). */
  color?: string;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A horizontal bar chart, `title` on top, bars scaled to the largest value. */
export function barChart(title: string, bars: Bar[], width = 720): string {
  const rowHeight = 22;
  const labelWidth = 220;
  const valueWidth = 120;
  const top = 30;
  const height = top + Math.max(1, bars.length) * rowHeight + 10;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const span = width - labelWidth - valueWidth - 20;
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, Math.round((bar.value / max) * span));
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escape(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w}" height="14" fill="${bar.color ?? '#4a7bd0'}"/>`,
      `<text x="${labelWidth + w + 6}" y="${y + 15}" font-size="12">${escape(bar.text ?? String(bar.value))}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
    ...rows,
    '</svg>',
  ].join('\n');
}
