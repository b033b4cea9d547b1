// The shape of bench/results.json and its rendering as bench/RESULTS.md.
import type { Burst } from './burst.js';
import type { SweepRun } from './sweep.js';

/** A figure held to a target. */
export interface Target {
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
}

/** Cold-start figures of one bundle, in milliseconds. */
export interface ColdFigures {
  readonly medianMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
}

/** Everything one `npm run bench` measured (bench/results.json). */
export interface Results {
  readonly commit: string;
  readonly node: string;
  readonly measuredAt: string;
  /** Files that differed from the commit when the run started. */
  readonly uncommittedChanges: readonly string[];
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly loadAverageStart: number;
    readonly loadAverageEnd: number;
  };
  readonly runSeconds: number;
  readonly targets: {
    readonly bundleOverReference: Target;
    readonly coldStartOverReference: Target;
    readonly burstRetries: Target;
  };
  readonly runtime: string;
  readonly shippedAssetMatchesRebuild: boolean;
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly floorBundleBytes: number;
  readonly referenceBundleBytes: number;
  /** Over the floor: information only. */
  readonly bundleRatio: number;
  readonly bundleOverReference: number;
  readonly bytesOverReferenceByPackage: readonly {
    readonly package: string;
    readonly bytes: number;
  }[];
  readonly coldStartRuns: number;
  readonly coldStart: {
    readonly ours: ColdFigures;
    readonly floor: ColdFigures;
    readonly reference: ColdFigures;
  };
  /** Over the floor: information only. */
  readonly coldStartRatio: number;
  readonly coldStartOverReference: number;
  readonly sweeps: readonly SweepRun[];
  readonly burst: Burst;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (cold: ColdFigures) => `${cold.medianMs.toFixed(1)} ms`;
const verdict = (t: Target) => `${t.target}, ${t.met ? 'met' : 'MISSED'}`;

/**
 * The headline table (Markdown), also printed at the end of a run.
 *
 * @example
 * process.stdout.write(table(results));
 */
export function table(r: Results): string {
  const { burst, coldStart: cold, targets } = r;
  const rows = [
    [
      'figure',
      'ours',
      'reference',
      'floor',
      'ours / reference',
      'ours / floor',
    ],
    ['---', '---', '---', '---', '---', '---'],
    [
      'bundle, minified',
      kb(r.bundleBytes),
      kb(r.referenceBundleBytes),
      kb(r.floorBundleBytes),
      `${r.bundleOverReference} (${verdict(targets.bundleOverReference)})`,
      `${r.bundleRatio} (info)`,
    ],
    [
      'cold start, median',
      ms(cold.ours),
      ms(cold.reference),
      ms(cold.floor),
      `${r.coldStartOverReference} (${verdict(targets.coldStartOverReference)})`,
      `${r.coldStartRatio} (info)`,
    ],
    [
      `burst: retries of ${burst.expectedRetries} failed batches`,
      `${burst.retriesIssued} (${verdict(targets.burstRetries)})`,
      '',
      '',
      '',
      '',
    ],
  ];
  return `${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`;
}

/**
 * bench/RESULTS.md: the run's conditions, the table, and the details.
 *
 * @example
 * writeFileSync(RESULTS_MD, markdown(results));
 */
export function markdown(r: Results): string {
  const { burst, coldStart: cold } = r;
  const iqr = (c: ColdFigures) => `${c.p25Ms.toFixed(1)}–${c.p75Ms.toFixed(1)}`;
  const sweeps = r.sweeps.map(
    (s) =>
      `| ${s.batches} | ${s.failedInWindow} / ${s.failedBeforeWindow} | ${s.calls} | ${s.retried} / ${s.retriedBeforeWindow} | ${s.ms.toFixed(0)} |`,
  );
  const packages = r.bytesOverReferenceByPackage.map(
    (p) => `| ${p.package} | ${p.bytes} |`,
  );
  return `# Benchmark results

\`npm run bench\` at commit \`${r.commit.slice(0, 12)}\`${r.uncommittedChanges.length > 0 ? ` (with uncommitted changes to ${r.uncommittedChanges.join(', ')})` : ''}, Node ${r.node} (the function
ships on \`${r.runtime}\`), ${r.measuredAt}, ${r.runSeconds} s on ${r.machine.cpus} × ${r.machine.cpuModel}
(load average ${r.machine.loadAverageStart} at the start, ${r.machine.loadAverageEnd} at the end).
Ratios compare bundles measured in the same run; absolute times are for
information only. What is measured and how: \`bench/NOTES.md\`.

${table(r)}
The rebuild of \`lambda/handler.ts\` with \`FUNCTION_BUNDLING\` is the shipped
asset byte for byte: ${r.shippedAssetMatchesRebuild ? 'yes' : '**no** (the floor and reference are not built like the function)'}.
Gzip: ours ${kb(r.bundleGzipBytes)}. Cold start interquartile ranges over
${r.coldStartRuns} processes (ms): ours ${iqr(cold.ours)}, reference ${iqr(cold.reference)}, floor ${iqr(cold.floor)}.

## Bytes over the reference, by package

| package | bytes |
|---|---|
${packages.join('\n')}

## Sweep growth

| batches | failed in / before the window | remote calls | retried in / before the window | ms |
|---|---|---|---|---|
${sweeps.join('\n')}

## Burst

${burst.expectedRetries} failure events at once, ${burst.environments} environments, CodeBuild
throttling ${burst.throttleRate * 100}% of calls after ${burst.latencyMs} ms: ${burst.retriesIssued} retries
(${burst.retriesByEvents} by the events, the rest by the next sweep), ${burst.overRetried} batches
retried twice, ${burst.missed} missed, ${burst.throttled} throttled calls, ${burst.lambdaRetries} Lambda retries,
${burst.deadLettered} dead-lettered; ${burst.codebuildCalls} CodeBuild and ${burst.dynamodbCalls} DynamoDB calls,
peak concurrency ${burst.peakConcurrency}, ${burst.seconds} s.
`;
}
