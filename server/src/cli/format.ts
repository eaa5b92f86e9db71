/** Plain-text tables and numbers for terminal output. */

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** "3 s", "2 min", "1 h 5 min" since an ISO time. */
export function since(iso: string, now = Date.now()): string {
  return duration((now - Date.parse(iso)) / 1000);
}

/** "3 s", "2 min", "1 h 5 min" for a number of seconds. */
export function duration(secondsIn: number): string {
  const seconds = Math.max(0, Math.round(secondsIn));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A JSON value shortened for one line. */
export function brief(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "512 B", "3.4 KiB", "59.0 MiB", "1.2 GiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A rate per second for a table: "0", "0.05", "12.3", "1,234". */
export function rate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond >= 100) return count(Math.round(perSecond));
  if (perSecond >= 10) return perSecond.toFixed(1);
  return String(Number(perSecond.toFixed(2)));
}
