/** Numbers for people, shared by workflows (no Intl there), activities and reports. Pure. */

/** Binary units: `512 B`, `1.5 KiB`, `3.0 MiB`; `?` for a value that is not a finite number. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `1234567` → `1,234,567` (digits of an integer, or of a decimal string). */
export function groupDigits(n: number | string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
