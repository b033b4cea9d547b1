/**
 * Plain-text rendering of simulation results: tables, the figures, and the
 * progress line.
 */
import { elapsed } from './clock.js';
import type { FaultKnobs, Figures, Progress } from './simulation.js';

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

/** Writes progress on one line of a terminal, or every few seconds otherwise. */
export function progressWriter(stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  return {
    update(p: Progress) {
      const text = `simulated ${elapsed(p.simulatedMs)}  events ${p.events}  invocations ${p.invocations}  retries ${p.retries}  settled ${p.settled}/${p.batches}`;
      if (stream.isTTY) {
        stream.write(`\r${text}\u001b[K`);
      } else if (Date.now() - last >= 5_000) {
        last = Date.now();
        stream.write(`${text}\n`);
      }
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

/** `k v, k v` of a record of counts. */
const counts = (record: Readonly<Record<string, number>>) =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The figures table of a run; broken invariants are marked. */
export function figuresTable(f: Figures): string {
  const mark = (n: number) =>
    n === 0 ? `${n}  ✓` : `${n}  ✗ INVARIANT BROKEN`;
  const d = f.deliveries;
  const o = f.invocationOutcomes;
  const i = f.faultsInjected;
  const l = f.failureToRetrySeconds;
  return table(
    ['figure', 'value'],
    [
      ['batches', String(f.batches)],
      ['events emitted by CodeBuild', String(f.events)],
      [
        'event deliveries',
        `${d.copies} (dropped ${d.dropped}, duplicated ${d.duplicated}, reordered ${d.reordered}, matched by rule ${d.matchedByRule})`,
      ],
      [
        'invocations',
        `${f.invocations} (ok ${o.ok}, error ${o.error}, killed ${o.killed}; sweeps ${o.sweeps}; cold starts ${o.coldStarts}; Lambda retries ${o.lambdaRetries}; throttled ${o.throttledByConcurrency})`,
      ],
      ['crashes by point', counts(f.crashes) || 'none'],
      ['API calls', counts(f.apiCalls)],
      [
        'faults injected',
        `CodeBuild throttles ${i.codebuildThrottles}, CodeBuild 5xx ${i.codebuildServerErrors}, DynamoDB throttles ${i.dynamodbThrottles}, DynamoDB outage resets ${i.dynamodbOutageResets}`,
      ],
      ['retries issued', String(f.retriesIssued)],
      ['expected retries', String(f.expectedRetries)],
      ['over-retries', mark(f.overRetries)],
      ['missed retries', mark(f.missedRetries)],
      ['budget exceeded', mark(f.budgetExceeded)],
      ['secrets in logs', mark(f.secretLeaks)],
      ['flaky batches recovered', `${f.flakyRecovered} of ${f.flakyTotal}`],
      ['broken batches stopped at MaxRetries', String(f.brokenExhausted)],
      ['would-retry (dry run)', String(f.wouldRetry)],
      ['dead-letter messages', String(f.dlqMessages)],
      [
        'failure → retry (simulated)',
        `p50 ${l.p50} s, p95 ${l.p95} s, max ${l.max} s`,
      ],
      [
        'time',
        `${elapsed(f.simulatedSeconds * 1000)} simulated in ${f.wallSeconds} s (${f.steps} steps)`,
      ],
    ],
  );
}
