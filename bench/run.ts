// npm run bench: measures what users pay for (bundle, cold start, per-event
// cost, remote calls, sweep growth, burst, memory), each beside a floor
// measured in the same run. Writes bench/results.json and bench/RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { BatchRetryStack } from '../lib/batch-retry-stack.js';
import { CodeBuildEmulator } from '../test/support/codebuild-emulator.js';
import { startDynamo, TEST_CREDENTIALS } from '../test/support/dynamo.js';
import { captureLogs } from '../test/support/logs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRATCH = join(ROOT, '.scratch', 'bench');
const COLD_RUNS = 15;
const WARM_EVENTS = 2000;
const WARMUP_EVENTS = 200;
const BURST_EVENTS = 500;
const BURST_CONCURRENCY = 50;
/** Shifts CodeBuild's clock, to stage batches that ended long ago. */
let clockOffsetMs = 0;

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
type Kind = 'ignored' | 'standalone' | 'retried' | 'duplicate';
interface Call {
  service: 'codebuild' | 'dynamodb';
  operation: string;
  input: Record<string, unknown>;
}

const progress = (text: string) => process.stderr.write(`bench: ${text}\n`);

// ---------------------------------------------------------------- set-up
rmSync(SCRATCH, { recursive: true, force: true });
mkdirSync(join(SCRATCH, 'home'), { recursive: true });
mkdirSync(join(SCRATCH, 'tmp'), { recursive: true });
// Nothing goes to the real home: aws-cdk-lib caches fingerprints under ~/.cdk.
process.env.HOME = join(SCRATCH, 'home');
process.env.TMPDIR = join(SCRATCH, 'tmp');
process.env.CDK_HOME = join(SCRATCH, 'home', '.cdk');
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

progress('synthesizing the app (local esbuild bundling)');
const shipped = synthesizedAsset();
progress('building the floor bundle with the same esbuild settings');
const floor = await floorBundle();

const bundleBytes = statSync(shipped).size;
const floorBundleBytes = statSync(floor).size;
const gzipBytes = gzipSync(readFileSync(shipped)).length;
const floorGzipBytes = gzipSync(readFileSync(floor)).length;

// ------------------------------------------------------------ cold start
progress(`cold start: ${COLD_RUNS} fresh processes each`);
const coldOurs: number[] = [];
const coldFloor: number[] = [];
for (let i = 0; i < COLD_RUNS; i++) {
  // Alternate the order so machine noise falls on both alike.
  const pair = i % 2 === 0 ? [shipped, floor] : [floor, shipped];
  for (const file of pair) {
    (file === shipped ? coldOurs : coldFloor).push(coldStart(file));
  }
}
const coldStartMs = median(coldOurs);
const floorColdStartMs = median(coldFloor);

// ----------------------------------------------------- servers + handler
let servers = await startServers();
let handler = await loadHandler('probe');

// -------------------------------------------------- calls per event kind
progress('counting remote calls per event kind');
const probeCalls: Record<Kind, Call[]> = {
  ignored: [],
  standalone: [],
  retried: [],
  duplicate: [],
};
for (const kind of ['ignored', 'standalone', 'retried'] as const) {
  const event = makeEvent(kind);
  probeCalls[kind] = await callsOf(() => invoke(handler, event));
  if (kind === 'retried') {
    probeCalls.duplicate = await callsOf(() => invoke(handler, event));
  }
}
const outOfScopeHandler = await loadHandler('scoped', {
  PROJECT_NAMES: 'another-project',
});
const outOfScopeCalls = await callsOf(() =>
  invoke(outOfScopeHandler, makeEvent('retried')),
);

// ------------------------------------------------------------------ warm
progress(`warm: ${WARM_EVENTS} events through the shipped handler`);
const kinds: Kind[] = ['ignored', 'standalone', 'retried', 'duplicate'];
const events: unknown[] = [];
const eventKinds: Kind[] = [];
let lastRetried: unknown;
for (let i = 0; i < WARMUP_EVENTS + WARM_EVENTS; i++) {
  const kind = kinds[i % kinds.length];
  const event = kind === 'duplicate' ? lastRetried : makeEvent(kind);
  if (kind === 'retried') lastRetried = event;
  events.push(event);
  eventKinds.push(kind);
}
const ours = await runWorker('ours', { bundle: shipped, events });
const floorRun = await runWorker('floor', {
  bundle: floor,
  events: [],
  calls: eventKinds.map((kind) => probeCalls[kind]),
});
const measured = ours.latencies.slice(WARMUP_EVENTS);
const floorMeasured = floorRun.latencies.slice(WARMUP_EVENTS);
const warmEventsPerSec = rate(measured);
const floorEventsPerSec = rate(floorMeasured);

// ---------------------------------------------------------- sweep growth
const sweepCalls: Record<string, number> = {};
const sweepMs: Record<string, number> = {};
for (const total of [10, 100, 1000]) {
  progress(`sweep: ${total} batches, ${total / 10} failed in the window`);
  await servers.stop();
  servers = await startServers();
  handler = await loadHandler(`sweep-${total}`);
  seedAccount(total);
  const t0 = performance.now();
  const calls = await callsOf(() => invoke(handler, { kind: 'sweep' }));
  sweepMs[total] = round(performance.now() - t0);
  sweepCalls[total] = calls.length;
}

// ----------------------------------------------------------------- burst
progress(`burst: ${BURST_EVENTS} failures at once, 20% throttling`);
await servers.stop();
servers = await startServers();
handler = await loadHandler('burst');
const burstEvents = Array.from({ length: BURST_EVENTS }, () =>
  makeEvent('retried'),
);
const burstBatches = [...servers.codebuild.listBatches()].map((b) => b.arn);
servers.codebuild.setFaults({ throttleRate: 0.2 });
const burst = await runBurst(burstEvents);
servers.codebuild.setFaults({});
const retriesIssued = burstBatches.reduce(
  (sum, arn) => sum + servers.codebuild.retryCount(arn),
  0,
);
await servers.stop();

// ---------------------------------------------------------------- report
const results = {
  commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT })
    .toString()
    .trim(),
  node: process.version,
  measuredAt: new Date().toISOString(),
  bundleBytes,
  floorBundleBytes,
  bundleRatio: ratio(bundleBytes, floorBundleBytes),
  bundleGzipBytes: gzipBytes,
  floorBundleGzipBytes: floorGzipBytes,
  coldStartMs: round(coldStartMs),
  floorColdStartMs: round(floorColdStartMs),
  coldStartRatio: ratio(coldStartMs, floorColdStartMs),
  warmEventsPerSec: round(warmEventsPerSec),
  floorEventsPerSec: round(floorEventsPerSec),
  warmThroughputRatio: ratio(warmEventsPerSec, floorEventsPerSec),
  p50Ms: round(percentile(measured, 50)),
  p99Ms: round(percentile(measured, 99)),
  floorP50Ms: round(percentile(floorMeasured, 50)),
  floorP99Ms: round(percentile(floorMeasured, 99)),
  callsPerIgnoredEvent: probeCalls.ignored.length,
  callsPerStandaloneBuild: probeCalls.standalone.length,
  callsPerRetriedBatch: probeCalls.retried.length,
  callsPerDuplicate: probeCalls.duplicate.length,
  callsPerOutOfScopeEvent: outOfScopeCalls.length,
  callsByKind: Object.fromEntries(
    Object.entries(probeCalls).map(([k, calls]) => [
      k,
      calls.map((c) => c.operation),
    ]),
  ),
  sweepCalls,
  sweepMs,
  burst: {
    seconds: round(burst.seconds),
    retriesIssued,
    expectedRetries: BURST_EVENTS,
    throttled: burst.throttled,
    peakConcurrency: burst.peakConcurrency,
    lambdaRetries: burst.lambdaRetries,
    dlq: burst.dlq,
  },
  peakRssMb: round(ours.rssPeakMb),
  floorPeakRssMb: round(floorRun.rssPeakMb),
};
writeFileSync(
  join(ROOT, 'bench', 'results.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), markdown(results));
process.stdout.write(table(results));
process.exit(0);

// ============================================================== helpers

function synthesizedAsset(): string {
  const outdir = join(SCRATCH, 'cdk.out');
  // The CLI turns asset metadata on; an in-process App must ask for it.
  const app = new App({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  new BatchRetryStack(app, 'CodeBuildBatchRetry');
  app.synth();
  const template = JSON.parse(
    readFileSync(join(outdir, 'CodeBuildBatchRetry.template.json'), 'utf8'),
  ) as {
    Resources: Record<
      string,
      { Type: string; Metadata?: Record<string, string> }
    >;
  };
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'],
  );
  if (!fn?.Metadata) throw new Error('no bundled function in the template');
  return join(outdir, fn.Metadata['aws:asset:path'], 'index.mjs');
}

async function floorBundle(): Promise<string> {
  // Same settings as the construct's NodejsFunction bundling.
  const outfile = join(SCRATCH, 'floor', 'index.mjs');
  await build({
    entryPoints: [join(ROOT, 'bench', 'floor-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

function coldStart(file: string): number {
  const script = `const t0 = performance.now();
const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') throw new Error('no handler');
process.stdout.write(String(performance.now() - t0));`;
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script],
    {
      env: {
        PATH: process.env.PATH,
        // As the template configures the function.
        NODE_OPTIONS: '--enable-source-maps',
        AWS_REGION: 'eu-west-1',
        TABLE_NAME: 'bench',
        POWERTOOLS_SERVICE_NAME: 'codebuild-batch-retry',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  );
  return Number(out.toString());
}

async function startServers() {
  const [codebuild, dynamo] = await Promise.all([
    CodeBuildEmulator.start({ now: () => Date.now() + clockOffsetMs }),
    startDynamo(),
  ]);
  codebuild.createProject('bench', {
    environmentVariables: [{ name: 'TOKEN', type: 'PLAINTEXT', value: 'x' }],
  });
  const env = {
    AWS_ENDPOINT_URL_CODEBUILD: codebuild.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'codebuild-batch-retry-bench',
    TABLE_NAME: dynamo.tableName,
    MAX_RETRIES: '2',
    POWERTOOLS_SERVICE_NAME: 'codebuild-batch-retry',
    POWERTOOLS_METRICS_NAMESPACE: 'CodeBuildBatchRetry',
  };
  Object.assign(process.env, env);
  return {
    codebuild,
    dynamo,
    env,
    async stop() {
      await Promise.all([codebuild.stop(), dynamo.stop()]);
    },
  };
}

/** A fresh module instance, so its clients pick up the current endpoints. */
async function loadHandler(
  tag: string,
  env: Record<string, string> = {},
): Promise<Handler> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const module = (await import(
    `${pathToFileURL(shipped).href}?instance=${tag}`
  )) as { handler: Handler };
  process.env = saved;
  return module.handler;
}

function context() {
  const deadline = Date.now() + 120_000;
  return {
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

async function invoke(h: Handler, event: unknown): Promise<unknown> {
  const logs = captureLogs();
  try {
    return await h(event, context());
  } finally {
    logs.restore();
  }
}

function makeEvent(kind: Exclude<Kind, 'duplicate'>): unknown {
  const cb = servers.codebuild;
  if (kind === 'standalone') {
    const b = cb.startBuild('bench');
    return cb.completeBuild(b.arn, 'FAILED');
  }
  const batch = cb.startBatch('bench', { groups: ['only'] });
  const child = cb.currentBuilds(batch.arn)[0];
  const event = cb.completeBuild(
    child.arn,
    kind === 'ignored' ? 'SUCCEEDED' : 'FAILED',
  );
  cb.settleBatch(batch.arn);
  return event;
}

/**
 * Creates `total` batches: the oldest fifth failed two days ago (outside the
 * window), the newest tenth failed just now, the rest succeeded.
 */
function seedAccount(total: number): void {
  const cb = servers.codebuild;
  const old = total / 5;
  const recent = total / 10;
  for (let i = 0; i < total; i++) {
    // The oldest failures ended two days ago, outside the 24 h window.
    clockOffsetMs = i < old ? -48 * 3_600_000 : 0;
    const batch = cb.startBatch('bench', { groups: ['only'] });
    const child = cb.currentBuilds(batch.arn)[0];
    const fails = i < old || i >= total - recent;
    cb.completeBuild(child.arn, fails ? 'FAILED' : 'SUCCEEDED');
    cb.settleBatch(batch.arn);
  }
  clockOffsetMs = 0;
}

async function callsOf(action: () => Promise<unknown>): Promise<Call[]> {
  const cb = servers.codebuild;
  const db = servers.dynamo;
  cb.resetLog();
  const dbStart = db.requests.length;
  await action();
  return [
    ...cb.requests.map((r) => ({
      service: 'codebuild' as const,
      operation: r.operation,
      input: r.input as Record<string, unknown>,
    })),
    ...db.requests.slice(dbStart).map((r) => ({
      service: 'dynamodb' as const,
      operation: r.operation,
      input: r.input,
    })),
  ];
}

async function runWorker(
  mode: 'ours' | 'floor',
  input: { bundle: string; events: unknown[]; calls?: Call[][] },
): Promise<{ latencies: number[]; rssPeakMb: number }> {
  const file = join(SCRATCH, `${mode}-input.json`);
  writeFileSync(file, JSON.stringify(input));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'worker.ts'), mode, file],
    {
      env: { ...process.env, ...servers.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', (exitCode) => resolve(exitCode)),
  );
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"latencies"'));
  if (code !== 0 || !line) throw new Error(`${mode} worker failed (${code})`);
  return JSON.parse(line);
}

async function runBurst(queue: unknown[]) {
  // Lambda's asynchronous invocation: up to the concurrency cap at once, a
  // failed invocation is retried twice, then it goes to the DLQ. One sweep
  // follows, as the schedule would.
  const attempts = new Map<unknown, number>();
  const pending = [...queue];
  let inFlight = 0;
  let peakConcurrency = 0;
  let lambdaRetries = 0;
  let dlq = 0;
  const cb = servers.codebuild;
  cb.resetLog();
  const logs = captureLogs();
  const t0 = performance.now();
  const worker = async () => {
    for (let event = pending.shift(); event; event = pending.shift()) {
      inFlight++;
      peakConcurrency = Math.max(peakConcurrency, inFlight);
      try {
        await handler(event, context());
      } catch {
        const n = (attempts.get(event) ?? 0) + 1;
        attempts.set(event, n);
        if (n <= 2) {
          lambdaRetries++;
          pending.push(event);
        } else dlq++;
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: BURST_CONCURRENCY }, worker));
  await handler({ kind: 'sweep' }, context()).catch(() => undefined);
  const seconds = (performance.now() - t0) / 1000;
  logs.restore();
  return {
    seconds,
    throttled: cb.throttledCount,
    peakConcurrency,
    lambdaRetries,
    dlq,
  };
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(
    sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1,
  );
  return sorted[Math.max(0, index)];
}

function rate(latencies: number[]): number {
  return latencies.length / (latencies.reduce((a, b) => a + b, 0) / 1000);
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

type Results = typeof results;

function rows(r: Results): [string, string, string, string, string][] {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  return [
    [
      'bundle (minified)',
      kb(r.bundleBytes),
      kb(r.floorBundleBytes),
      `${r.bundleRatio}`,
      '<= 1.15',
    ],
    [
      'bundle (gzip)',
      kb(r.bundleGzipBytes),
      kb(r.floorBundleGzipBytes),
      `${ratio(r.bundleGzipBytes, r.floorBundleGzipBytes)}`,
      '',
    ],
    [
      'cold start (median ms)',
      `${r.coldStartMs}`,
      `${r.floorColdStartMs}`,
      `${r.coldStartRatio}`,
      '<= 1.1',
    ],
    [
      'warm events/s',
      `${r.warmEventsPerSec}`,
      `${r.floorEventsPerSec}`,
      `${r.warmThroughputRatio}`,
      '>= 0.9',
    ],
    [
      'warm p50 / p99 ms',
      `${r.p50Ms} / ${r.p99Ms}`,
      `${r.floorP50Ms} / ${r.floorP99Ms}`,
      '',
      'info',
    ],
    ['calls: ignored event', `${r.callsPerIgnoredEvent}`, '', '', '<= 2'],
    ['calls: standalone build', `${r.callsPerStandaloneBuild}`, '', '', ''],
    [
      'calls: retried batch',
      `${r.callsPerRetriedBatch}`,
      '4 (physical)',
      `${ratio(r.callsPerRetriedBatch, 4)}`,
      '<= 6',
    ],
    ['calls: duplicate', `${r.callsPerDuplicate}`, '', '', '<= 3'],
    ['calls: out-of-scope event', `${r.callsPerOutOfScopeEvent}`, '', '', ''],
    [
      'sweep calls 10/100/1000',
      `${r.sweepCalls[10]} / ${r.sweepCalls[100]} / ${r.sweepCalls[1000]}`,
      '',
      '',
      'grows with failures',
    ],
    [
      'sweep ms 10/100/1000',
      `${r.sweepMs[10]} / ${r.sweepMs[100]} / ${r.sweepMs[1000]}`,
      '',
      '',
      'info',
    ],
    [
      'burst retries / expected',
      `${r.burst.retriesIssued} / ${r.burst.expectedRetries}`,
      '',
      '',
      'equal',
    ],
    [
      'burst seconds, throttled',
      `${r.burst.seconds} s, ${r.burst.throttled}`,
      '',
      '',
      'info',
    ],
    [
      'peak RSS (MB)',
      `${r.peakRssMb}`,
      `${r.floorPeakRssMb}`,
      `${ratio(r.peakRssMb, r.floorPeakRssMb)}`,
      'info',
    ],
  ];
}

function table(r: Results): string {
  const header = ['figure', 'ours', 'floor', 'ratio', 'target'];
  const all = [header, ...rows(r)];
  const widths = header.map((_, i) =>
    Math.max(...all.map((row) => row[i].length)),
  );
  return `${all
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  '))
    .join('\n')}\n`;
}

function markdown(r: Results): string {
  const body = rows(r)
    .map((row) => `| ${row.join(' | ')} |`)
    .join('\n');
  return `# Benchmark results

Produced by \`npm run bench\` at commit \`${r.commit.slice(0, 12)}\` on Node ${r.node}
(${r.measuredAt}). Ratios compare with a floor measured in the same run;
absolute times are for information only (2-core shared machine, noisy).

| figure | ours | floor | ratio | target |
|---|---|---|---|---|
${body}

See the end of this file for what each floor is; the raw figures are in
\`bench/results.json\`.
${readNotes()}`;
}

function readNotes(): string {
  try {
    return `\n${readFileSync(join(ROOT, 'bench', 'NOTES.md'), 'utf8')}`;
  } catch {
    return '';
  }
}
