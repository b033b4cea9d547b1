/** Plain-text rendering of simulation results. */
import { type Figures, INVARIANTS } from './simulation.js';

/**
 * A left-aligned text table (columns of numbers right-aligned).
 *
 * @example
 * table(['a', 'b'], [['x', 1]]);
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [headers, ...rows].map((row) => row.map(String));
  const widths = headers.map((_, i) =>
    Math.max(...cells.map((row) => (row[i] ?? '').length)),
  );
  const numeric = headers.map((_, i) =>
    rows.every((row) => typeof row[i] === 'number'),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) =>
        numeric[i]
          ? cell.padStart(widths[i] ?? 0)
          : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...cells.slice(1).map(line)].join('\n');
}

/**
 * The figures of a run, one row per figure (the JSON's keys), with broken
 * invariants marked.
 *
 * @example
 * console.log(figuresTable(result.figures));
 */
export function figuresTable(
  figures: Figures,
  invariants: readonly string[] = INVARIANTS,
): string {
  const text = (value: object): string =>
    Object.entries(value)
      .map(
        ([k, v]) =>
          `${k} ${v !== null && typeof v === 'object' ? `(${text(v)})` : v}`,
      )
      .join(', ') || 'none';
  const rows = Object.entries(figures).flatMap(([name, value]) => {
    if (name === 'byClass') {
      return Object.entries(value).map(([k, v]) => [`${name}.${k}`, text(v)]);
    }
    if (typeof value === 'object') return [[name, text(value)]];
    if (!invariants.includes(name)) return [[name, String(value)]];
    return [[name, value === 0 ? '0  ✓' : `${value}  ✗ INVARIANT BROKEN`]];
  });
  return table(['figure', 'value'], rows);
}
