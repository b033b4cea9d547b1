/**
 * Plain-text rendering of simulation results: tables, the figures, and the
 * progress line.
 */
import { elapsed } from './clock.js';
import type { FaultKnobs, Figures, Progress } from './simulation.js';

/**
 * A left-aligned text table (numbers right-aligned).
 *
 * @example
 * table(['a', 'b'], [['x', 1]]);
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [headers, ...rows].map((row) => row.map((c) => String(c)));
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
          ? cell.padStart(widths[i] as number)
          : cell.padEnd(widths[i] as number),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0] as string[]), rule, ...cells.slice(1).map(line)].join(
    '\n',
  );
}

/** The progress line (no newline). */
export function progressLine(p: Progress): string {
  return `simulated ${elapsed(0, p.simulatedMs)}  events ${p.events}  invocations ${p.invocations}  retries ${p.retries}  settled ${p.settled}/${p.batches}`;
}

/** Writes progress on one line of a terminal, or every few seconds otherwise. */
export function progressWriter(stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  return {
    update(p: Progress) {
      if (stream.isTTY) {
        stream.write(`\r${progressLine(p)}\u001b[K`);
        return;
      }
      const now = Date.now();
      if (now - last < 5_000) return;
      last = now;
      stream.write(`${progressLine(p)}\n`);
    },
    done() {
      if (stream.isTTY) stream.write('\r\u001b[K');
    },
  };
}

const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;

/** The fault knobs as one line. */
export function describeFaults(f: FaultKnobs): string {
  const outage = f.outage
    ? `${Math.round(f.outage.durationMs / 60_000)} min at +${Math.round(f.outage.atMs / 60_000)} min`
    : 'none';
  return [
    `dup ${pct(f.dup)}`,
    `drop ${pct(f.drop)}`,
    `reorder ${pct(f.reorder)}`,
    `CodeBuild throttle ${pct(f.throttle)}`,
    `CodeBuild 5xx ${pct(f.serverErrors)}`,
    `DynamoDB throttle ${pct(f.dynamoThrottle)}`,
    `crash ${pct(f.crash)} per point (${f.crashPoints.join(', ')})`,
    `DynamoDB outage ${outage}`,
  ].join(' · ');
}

/** The figures table of a run. */
export function figuresTable(f: Figures): string {
  const mark = (n: number) =>
    n === 0 ? `${n}  ✓` : `${n}  ✗ INVARIANT BROKEN`;
  const rows: [string, string | number][] = [
    ['batches', f.batches],
    ['events emitted by CodeBuild', f.events],
    [
      'event deliveries',
      `${f.deliveries.copies} (dropped ${f.deliveries.dropped}, duplicated ${f.deliveries.duplicated}, reordered ${f.deliveries.reordered}, matched by rule ${f.deliveries.matchedByRule})`,
    ],
    [
      'invocations',
      `${f.invocations} (ok ${f.invocationOutcomes.ok}, error ${f.invocationOutcomes.error}, killed ${f.invocationOutcomes.killed}; sweeps ${f.invocationOutcomes.sweeps}; cold starts ${f.invocationOutcomes.coldStarts}; Lambda retries ${f.invocationOutcomes.lambdaRetries}; throttled ${f.invocationOutcomes.throttledByConcurrency})`,
    ],
    [
      'crashes by point',
      Object.entries(f.crashes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
    ],
    [
      'API calls',
      Object.entries(f.apiCalls)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    [
      'faults injected',
      `CodeBuild throttles ${f.faultsInjected.codebuildThrottles}, CodeBuild 5xx ${f.faultsInjected.codebuildServerErrors}, DynamoDB throttles ${f.faultsInjected.dynamodbThrottles}, DynamoDB outage resets ${f.faultsInjected.dynamodbOutageResets}`,
    ],
    ['retries issued', f.retriesIssued],
    ['expected retries', f.expectedRetries],
    ['over-retries', mark(f.overRetries)],
    ['missed retries', mark(f.missedRetries)],
    ['budget exceeded', mark(f.budgetExceeded)],
    ['secrets in logs', mark(f.secretLeaks)],
    ['flaky batches recovered', `${f.flakyRecovered} of ${f.flakyTotal}`],
    ['broken batches stopped at MaxRetries', f.brokenExhausted],
    ['would-retry (dry run)', f.wouldRetry],
    ['dead-letter messages', f.dlqMessages],
    [
      'failure → retry (simulated)',
      `p50 ${f.failureToRetrySeconds.p50} s, p95 ${f.failureToRetrySeconds.p95} s, max ${f.failureToRetrySeconds.max} s`,
    ],
    [
      'time',
      `${elapsed(0, f.simulatedSeconds * 1000)} simulated in ${f.wallSeconds} s (${f.steps} steps)`,
    ],
  ];
  return table(
    ['figure', 'value'],
    rows.map(([k, v]) => [k, String(v)]),
  );
}
