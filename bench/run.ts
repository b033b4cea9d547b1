// npm run bench: what users pay for (bundle, cold start, per-event cost,
// remote calls, sweep growth, a throttled burst, memory), each beside a
// floor measured in the same run. Writes bench/results.json and
// bench/RESULTS.md and prints a table. See bench/NOTES.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { synthesize } from '../tools/local-aws/synth.js';
import {
  buildEntry,
  CJS_ENTRY_POINTS,
  componentSources,
  describe,
  extraBytesByPackage,
  floorSource,
  floorSpec,
  listAsset,
  rebuildShipped,
  referenceSource,
} from './bundles.js';
import { measureBurst } from './burst.js';
import { measureColdStarts } from './cold-start.js';
import { measureProbes } from './probes.js';
import { assemble, markdown, table } from './report.js';
import {
  COLD_RUNS,
  COLD_WARMUP_RUNS,
  NOTES_MD,
  RESULTS_JSON,
  RESULTS_MD,
  ROOT,
  SCRATCH,
  SWEEP_ACCOUNTS,
  SWEEP_CONTROL,
} from './settings.js';
import { measureSweep } from './sweep.js';
import { readShipped } from './synth.js';
import { measureWarm } from './warm.js';
import { lambdaEnv } from './world.js';

const progress = (text: string) =>
  process.stderr.write(
    `bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s  ${text}\n`,
  );
const startedAt = performance.now();
const loadStart = loadavg();

// Nothing outside the project: aws-cdk-lib caches fingerprints under ~/.cdk,
// the SDK would read ~/.aws, esbuild and CDK write temporary files.
rmSync(SCRATCH, { recursive: true, force: true });
for (const dir of ['home', 'tmp']) {
  mkdirSync(join(SCRATCH, dir), { recursive: true });
}
process.env.HOME = join(SCRATCH, 'home');
process.env.TMPDIR = join(SCRATCH, 'tmp');
process.env.CDK_HOME = join(SCRATCH, 'home', '.cdk');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

progress('synthesizing the app in-process (local esbuild bundling)');
const shipped = readShipped(await synthesize('bench'));

progress('building the floor and component bundles');
const rebuild = await rebuildShipped(join(SCRATCH, 'rebuild'), shipped.bundle);
const shippedBundle = describe(
  'shipped',
  shipped.bundle,
  rebuild.identical ? rebuild.bundle.metafile : undefined,
);
// The function's own retry setting, so the floor's clients behave alike.
const { SDK_MAX_ATTEMPTS } = await import('../lambda/contract.js');
const spec = await floorSpec(
  rebuild.bundle.metafile,
  shipped.actions,
  SDK_MAX_ATTEMPTS,
);
const floorCode = floorSource(spec);
const floor = await buildEntry('floor', join(SCRATCH, 'floor'), floorCode);
const components = [];
for (const [name, source] of Object.entries(
  componentSources(floorCode, referenceSource(spec)),
)) {
  components.push(
    await buildEntry(name, join(SCRATCH, 'components', name), source),
  );
}
// Information only: the floor's source as the calibration built it.
components.push(
  await buildEntry(
    'floor-cjs-entry-points',
    join(SCRATCH, 'components', 'floor-cjs-entry-points'),
    floorCode,
    CJS_ENTRY_POINTS,
  ),
);
const workerFile = join(SCRATCH, 'worker.mjs');
await build({
  entryPoints: [join(ROOT, 'bench', 'worker.ts')],
  outfile: workerFile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});

progress(
  `cold start: ${COLD_RUNS} fresh processes per bundle, ${2 + components.length} bundles interleaved`,
);
const cold = measureColdStarts(
  {
    shipped: shipped.bundle,
    floor: floor.file,
    ...Object.fromEntries(components.map((c) => [c.name, c.file])),
  },
  lambdaEnv(shipped, { tableName: 'batch-retry' }),
  SCRATCH,
  COLD_RUNS,
  COLD_WARMUP_RUNS,
);

progress('remote calls: out-of-scope event, watched batch, idle sweep');
const probes = await measureProbes(shipped, workerFile);

progress(
  'warm: shipped handler, floor and reference in lock step, triplet worlds',
);
const referenceBundle = components.find((c) => c.name === 'issue-reference');
if (!referenceBundle) throw new Error('the reference bundle was not built');
const warm = await measureWarm(
  shipped,
  floor.file,
  referenceBundle.file,
  workerFile,
);

const sweeps = [];
for (const account of [...SWEEP_ACCOUNTS, SWEEP_CONTROL]) {
  progress(
    `sweep: ${account.batches} batches, ${account.failedInWindow} failed in the window`,
  );
  sweeps.push(await measureSweep(shipped, workerFile, account));
}

progress('burst: failure events at once under throttling');
const burst = await measureBurst(shipped, workerFile);

const results = assemble({
  commit: git(['rev-parse', 'HEAD']),
  changedFiles: git(['diff', '--name-only', 'HEAD'])
    .split('\n')
    .filter((f) => f && !f.startsWith('bench/results.json'))
    .filter((f) => f !== 'bench/RESULTS.md'),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverageStart: loadStart[0],
    loadAverageEnd: loadavg()[0],
  },
  runSeconds: (performance.now() - startedAt) / 1000,
  shipped,
  shippedBundle,
  shippedAsset: listAsset(shipped.assetDir),
  rebuildIdentical: rebuild.identical,
  floor,
  spec,
  components,
  extraBytes: extraBytesByPackage(rebuild.bundle.metafile, floor.metafile),
  cold,
  probes,
  warm,
  sweeps,
  burst,
});

writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(RESULTS_MD, markdown(results, readNotes()));
progress(`done; wrote ${RESULTS_JSON} and ${RESULTS_MD}`);
process.stdout.write(table(results));

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT }).toString().trim();
  } catch {
    return 'unknown';
  }
}

function readNotes(): string {
  try {
    return readFileSync(NOTES_MD, 'utf8');
  } catch {
    return '';
  }
}
