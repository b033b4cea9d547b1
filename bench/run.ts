// npm run bench: the shipped bundle's size and cold start beside a floor
// (the SDK clients alone) and a reference handler (the floor plus the
// libraries the service uses), sweep growth and a throttled burst. Writes
// bench/results.json and bench/RESULTS.md and prints the headline table.
// See bench/NOTES.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBundle, bytesOverByPackage } from './bundles.js';
import { measureBurst } from './burst.js';
import { lambdaEnv, measureColdStarts } from './cold-start.js';
import { COMMANDS } from './floor.js';
import { markdown, type Results, table } from './report.js';
import {
  COLD_RUNS,
  COLD_WARMUP_RUNS,
  RESULTS_JSON,
  RESULTS_MD,
  ROOT,
  SCRATCH,
  SWEEP_ACCOUNTS,
} from './settings.js';
import { ratio, round } from './stats.js';
import { measureSweep } from './sweep.js';
import { synthesize } from './synth.js';

const startedAt = performance.now();
const progress = (text: string) =>
  process.stderr.write(
    `bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s  ${text}\n`,
  );
const loadStart = loadavg()[0];
const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: ROOT }).toString().trim();
const uncommittedChanges = git('diff', '--name-only', 'HEAD')
  .split('\n')
  .filter((f) => f && !['bench/results.json', 'bench/RESULTS.md'].includes(f));

// Nothing outside the project: aws-cdk-lib caches fingerprints under ~/.cdk,
// the SDK would read ~/.aws, esbuild and CDK write temporary files.
rmSync(SCRATCH, { recursive: true, force: true });
const home = join(SCRATCH, 'home');
for (const dir of [home, join(SCRATCH, 'tmp')])
  mkdirSync(dir, { recursive: true });
Object.assign(process.env, {
  HOME: home,
  TMPDIR: join(SCRATCH, 'tmp'),
  CDK_HOME: join(home, '.cdk'),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

progress('synthesizing the app in-process (local esbuild bundling)');
const shipped = await synthesize(join(SCRATCH, 'cdk.out'));
// The floor must offer every call the stack lets the function make.
for (const [service, actions] of Object.entries(shipped.actions)) {
  const commands = COMMANDS[service as keyof typeof COMMANDS];
  const missing = actions.filter((a) => commands && !(a in commands));
  if (missing.length > 0)
    throw new Error(`bench/floor.ts lacks ${service}:${missing}`);
}

progress('building the floor, the reference and a rebuild of the function');
const rebuild = await buildBundle(
  'lambda/handler.ts',
  join(SCRATCH, 'rebuild'),
);
const floor = await buildBundle('bench/floor.ts', join(SCRATCH, 'floor'));
const reference = await buildBundle(
  'bench/reference.ts',
  join(SCRATCH, 'reference'),
);
const ours = readFileSync(shipped.bundle);

progress(`cold start: ${COLD_RUNS} fresh processes per bundle, taking turns`);
const cold = measureColdStarts(
  { ours: shipped.bundle, floor: floor.file, reference: reference.file },
  lambdaEnv(shipped, home),
  SCRATCH,
  COLD_RUNS,
  COLD_WARMUP_RUNS,
);

const sweeps = [];
for (const account of SWEEP_ACCOUNTS) {
  progress(
    `sweep: ${account.batches} batches, ${account.failedInWindow} failed in the window`,
  );
  sweeps.push(await measureSweep(account));
}

progress('burst: failure events at once under throttling');
const burst = await measureBurst(shipped.reservedConcurrency);

const bundleOverReference = ratio(ours.length, reference.bytes);
const coldStartOverReference = ratio(
  cold.ours.medianMs,
  cold.reference.medianMs,
);
const results: Results = {
  commit: git('rev-parse', 'HEAD'),
  node: process.version,
  measuredAt: new Date().toISOString(),
  uncommittedChanges,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageStart: round(loadStart, 2),
    loadAverageEnd: round(loadavg()[0], 2),
  },
  runSeconds: round((performance.now() - startedAt) / 1000),
  targets: {
    bundleOverReference: {
      value: bundleOverReference,
      target: '<= 1.15',
      met: bundleOverReference <= 1.15,
    },
    coldStartOverReference: {
      value: coldStartOverReference,
      target: '<= 1.1',
      met: coldStartOverReference <= 1.1,
    },
    burstRetries: {
      value: burst.retriesIssued,
      target: `= ${burst.expectedRetries}`,
      met:
        burst.retriesIssued === burst.expectedRetries &&
        burst.overRetried === 0,
    },
  },
  runtime: shipped.runtime,
  shippedAssetMatchesRebuild: readFileSync(rebuild.file).equals(ours),
  bundleBytes: ours.length,
  bundleGzipBytes: gzipSync(ours).length,
  floorBundleBytes: floor.bytes,
  referenceBundleBytes: reference.bytes,
  bundleRatio: ratio(ours.length, floor.bytes),
  bundleOverReference,
  bytesOverReferenceByPackage: bytesOverByPackage(
    rebuild.metafile,
    reference.metafile,
  ),
  coldStartRuns: COLD_RUNS,
  coldStart: cold,
  coldStartRatio: ratio(cold.ours.medianMs, cold.floor.medianMs),
  coldStartOverReference,
  sweeps,
  burst,
};

writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(RESULTS_MD, markdown(results));
progress(`done; wrote ${RESULTS_JSON} and ${RESULTS_MD}`);
process.stdout.write(table(results));
