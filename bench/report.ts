// bench/RESULTS.md and the headline table, from what bench/run.ts measured
// (bench/results.json).
import type { ColdStart } from './cold-start.js';
import type { Results } from './run.js';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (c: ColdStart) =>
  `${c.medianMs.toFixed(1)} ms (${c.p25Ms.toFixed(1)}–${c.p75Ms.toFixed(1)})`;
const verdict = (t: { value: number; target: string; met: boolean }) =>
  `${t.value} (${t.target}, ${t.met ? 'met' : '**missed**'})`;
const row = (cells: readonly unknown[]) => `| ${cells.join(' | ')} |\n`;

/**
 * The headline table (Markdown), also printed at the end of a run.
 *
 * @example
 * process.stdout.write(table(results));
 */
export function table(r: Results): string {
  const { coldStart: c, targets: t } = r;
  return `| figure | ours | reference | floor | ours / reference | ours / floor (info) |
|---|---|---|---|---|---|
| bundle, minified | ${kb(r.bundleBytes)} | ${kb(r.referenceBundleBytes)} | ${kb(r.floorBundleBytes)} | ${verdict(t.bundleOverReference)} | ${r.bundleRatio} |
| cold start, median (IQR) | ${ms(c.ours)} | ${ms(c.reference)} | ${ms(c.floor)} | ${verdict(t.coldStartOverReference)} | ${r.coldStartRatio} |
| burst: batches retried | ${verdict(t.burstRetries)} | | | | |
| CodeBuild calls per healthy child build | ${verdict(t.codebuildCallsPerHealthyBuild)} | | | | |
| CodeBuild reads per re-check (BatchGetBuildBatches) | ${verdict(t.codebuildReadsPerRecheck)} | | | | |
| CodeBuild calls per re-check, the retry's own included (info) | ${r.queueCalls.codebuildCallsPerRecheck} | | | | |
`;
}

/**
 * bench/RESULTS.md: the run's conditions, the table and the details.
 *
 * @example
 * writeFileSync(RESULTS_MD, markdown(results));
 */
export function markdown(r: Results): string {
  const x = r.burst;
  const changes = r.uncommittedChanges.length
    ? ` with uncommitted changes (${r.uncommittedChanges.join(', ')})`
    : '';
  return `# Benchmark results

\`npm run bench\` at commit \`${r.commit.slice(0, 12)}\`${changes}, Node ${r.node}
(the function ships on \`${r.runtime}\`), ${r.measuredAt}, ${r.runSeconds} s on
${r.machine}, load average ${r.loadAverage.start} at the start, ${r.loadAverage.end} at the end.
Every ratio compares bundles measured in the same run; absolute times are
for information only. What is measured and how: \`bench/NOTES.md\`.

${table(r)}
The function rebuilt with \`FUNCTION_BUNDLING\` is the shipped asset byte for
byte: ${r.shippedAssetMatchesRebuild ? 'yes' : '**no**'}. Gzip: ours ${kb(r.bundleGzipBytes)}.

## Bytes over the reference, by package

| package | bytes |
|---|---|
${r.bytesOverReference.map((p) => row([p.package, p.bytes])).join('')}
## Sweep growth

| batches | failed in / before the window | remote calls | retried in / before the window | ms |
|---|---|---|---|---|
${r.sweeps.map((s) => row([s.batches, `${s.failedInWindow} / ${s.failedBeforeWindow}`, s.calls, `${s.retried} / ${s.retriedBeforeWindow}`, s.ms])).join('')}
## Burst

${x.events} failure events at once into ${x.environments} environments, CodeBuild
throttling ${x.throttleRate * 100}% of calls after ${x.latencyMs} ms: ${x.retriesIssued} batches retried
(${x.retriesByEvents} by the events, the rest by the next sweep), ${x.overRetried} twice,
${x.missed} missed; ${x.throttled} throttled calls, ${x.lambdaRetries} Lambda retries,
${x.deadLettered} dead-lettered; ${x.calls} remote
calls; ${x.seconds} s.
`;
}
