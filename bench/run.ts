// npm run bench: the shipped bundle's size and cold start beside a floor
// (the SDK clients alone) and a reference handler (the floor plus the
// libraries the service uses), sweep growth and a throttled burst. Writes
// bench/results.json and bench/RESULTS.md and prints the headline table.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../tools/local-aws/synth.js';
import { buildBundle, bytesOverByPackage, sizeOf } from './bundles.js';
import { lambdaEnv, measureColdStarts } from './cold-start.js';
import { markdown, table } from './report.js';
import * as settings from './settings.js';
import { ratio, round } from './stats.js';
import { readShipped } from './synth.js';
import { measureBurst, measureQueueCalls, measureSweep } from './workloads.js';

const { SCRATCH } = settings;
const [startedAt, loadStart] = [performance.now(), round(loadavg()[0], 2)];
const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: settings.ROOT }).toString().trim();
const uncommittedChanges = git('diff', '--name-only', 'HEAD')
  .split('\n')
  .filter((f) => f && !/^bench\/(results\.json|RESULTS\.md)$/.test(f));
const progress = (text: string) => {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(0);
  process.stderr.write(`bench ${seconds.padStart(4)}s  ${text}\n`);
};

rmSync(SCRATCH, { recursive: true, force: true });
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

progress('synthesizing the app in-process (local esbuild bundling)');
const shipped = readShipped(await synthesize('bench'));

progress('building the floor, the reference and the function again');
const build = (entry: string) =>
  buildBundle(entry, join(SCRATCH, entry.replace(/\.ts$/, '')));
const rebuild = await build('lambda/handler.ts');
const floor = await build('bench/floor.ts');
const reference = await build('bench/reference.ts');
const ours = sizeOf(shipped.bundle);
// The floor must hold every SDK client the function bundles, with a command
// for each action the stack grants it (imported late: it creates clients).
const { COMMANDS } = await import('./floor.js');
// IAM prefixes that differ from the client's package name, and actions the
// Lambda runtime uses (the function's own log group), not the SDK.
const PREFIX: Record<string, string> = {
  'cloudwatch-logs': 'logs',
  eventbridge: 'events',
};
const RUNTIME_ACTIONS = ['CreateLogStream', 'PutLogEvents'];
for (const input of Object.keys(rebuild.metafile.inputs)) {
  const client = input.match(/@aws-sdk\/client-([^/]+)\//)?.[1] ?? '';
  const service = PREFIX[client] ?? client;
  const granted = service ? (shipped.actions[service] ?? ['a client']) : [];
  const actions = granted.filter((a) => !RUNTIME_ACTIONS.includes(a));
  const missing = actions.filter((action) => !COMMANDS[service]?.[action]);
  if (missing.length > 0) throw new Error(`bench/floor.ts lacks ${missing}`);
}

progress(`cold start: ${settings.COLD_RUNS} processes per bundle, in turns`);
const cold = measureColdStarts(
  { ours: ours.file, floor: floor.file, reference: reference.file },
  lambdaEnv(shipped),
  settings.COLD_RUNS,
);

const sweeps = [];
for (const account of settings.SWEEP_ACCOUNTS) {
  progress(`sweep: ${account.batches} batches`);
  sweeps.push(await measureSweep(account));
}
progress('burst: failure events at once under throttling');
const burst = await measureBurst(shipped.reservedConcurrency);
progress('queue: CodeBuild calls per healthy child build and per re-check');
const queueCalls = await measureQueueCalls();

const bundleOverReference = ratio(ours.bytes, reference.bytes);
const coldOverReference = ratio(cold.ours.medianMs, cold.reference.medianMs);
const atMost = (value: number, limit: number) => {
  return { value, target: `<= ${limit}`, met: value <= limit };
};
const results = {
  commit: git('rev-parse', 'HEAD'),
  uncommittedChanges,
  node: process.version,
  runtime: shipped.runtime,
  measuredAt: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
  loadAverage: { start: loadStart, end: round(loadavg()[0], 2) },
  runSeconds: round((performance.now() - startedAt) / 1000),
  targets: {
    bundleOverReference: atMost(bundleOverReference, 1.15),
    coldStartOverReference: atMost(coldOverReference, 1.1),
    burstRetries: {
      value: burst.retriesIssued,
      target: `= ${burst.events}, none twice`,
      met: burst.retriesIssued === burst.events && burst.overRetried === 0,
    },
    codebuildCallsPerHealthyBuild: {
      value: queueCalls.codebuildCallsPerHealthyBuild,
      target: '= 0',
      met: queueCalls.codebuildCallsPerHealthyBuild === 0,
    },
    codebuildReadsPerRecheck: atMost(queueCalls.codebuildReadsPerRecheck, 1),
  },
  shippedAssetMatchesRebuild: readFileSync(rebuild.file).equals(
    readFileSync(ours.file),
  ),
  bundleBytes: ours.bytes,
  bundleGzipBytes: ours.gzipBytes,
  floorBundleBytes: floor.bytes,
  referenceBundleBytes: reference.bytes,
  bundleRatio: ratio(ours.bytes, floor.bytes),
  bundleOverReference,
  bytesOverReference: bytesOverByPackage(rebuild.metafile, reference.metafile),
  coldStart: cold,
  coldStartRatio: ratio(cold.ours.medianMs, cold.floor.medianMs),
  coldStartOverReference: coldOverReference,
  sweeps,
  burst,
  queueCalls,
};
/** What one `npm run bench` measured (bench/results.json). */
export type Results = typeof results;

writeFileSync(settings.RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(settings.RESULTS_MD, markdown(results));
progress(`done; wrote ${settings.RESULTS_JSON} and ${settings.RESULTS_MD}`);
process.stdout.write(table(results));
