/**
 * `npm run demo`: synthesizes the app, deploys it onto emulated AWS, runs a
 * scripted day of CodeBuild batches through it and prints what happened to
 * each batch (`--verbose`: the figures as well), read back from the
 * function's logs: which invocation (an event or the sweep) issued each
 * retry, and how often a dry run said it would retry.
 */
import './quiet.js';
import { pathToFileURL } from 'node:url';
import { STACK_ID } from '../lambda/contract.js';
import { main as flakinessReport } from '../report/flakiness.js';
import { CREDENTIALS, REGION } from '../tools/local-aws/environment.js';
import { synthesize } from '../tools/local-aws/synth.js';
import { elapsed } from './clock.js';
import { figuresTable, table } from './report.js';
import { demoScenario } from './scenarios.js';
import {
  type BatchResult,
  invocationKind,
  runSimulation,
  type SimulationResult,
} from './simulation.js';

/** Every JSON line the function wrote. */
function logRecords(result: SimulationResult): Record<string, unknown>[] {
  return result.logs.flatMap(({ line }) => {
    try {
      return line.startsWith('{') ? [JSON.parse(line)] : [];
    } catch {
      return [];
    }
  });
}

/** How each batch's retries came about, e.g. `event`, `sweep (resumed)`. */
export function retryPaths(result: SimulationResult): Map<string, string[]> {
  const via = new Map(
    result.invocations.map((r) => [
      r.requestId,
      { sweep: 'sweep', queue: 're-check', buildEvent: 'event' }[
        invocationKind(r)
      ],
    ]),
  );
  const paths = new Map<string, string[]>();
  for (const record of logRecords(result)) {
    if (record.message !== 'Retried batch') continue;
    const arn = String(record.batchArn);
    const path = via.get(String(record.function_request_id)) ?? '?';
    const resumed = record.reason === 'resumed-attempt' ? ' (resumed)' : '';
    paths.set(arn, [...(paths.get(arn) ?? []), `${path}${resumed}`]);
  }
  return paths;
}

/** Dry-run "would retry" lines per batch. */
export function wouldRetryCounts(
  result: SimulationResult,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of logRecords(result)) {
    if (record.decision !== 'would-retry') continue;
    const arn = String(record.batchArn);
    counts.set(arn, (counts.get(arn) ?? 0) + 1);
  }
  return counts;
}

/** A one-line outcome of a batch, for tables. */
export function outcomeText(b: BatchResult, wouldRetry = 0): string {
  const retries = `${b.retries} ${b.retries === 1 ? 'retry' : 'retries'}`;
  switch (b.scope) {
    case 'stale':
      return `${b.status}, ended before the lookback window`;
    case 'out-of-scope':
      return `${b.status}, out of scope`;
    case 'opted-out':
      return `${b.status}, project opted out by tag`;
    case 'dry-run':
      return `${b.status}, dry run: "would retry" ×${wouldRetry}`;
    case 'retry':
      if (b.status === 'SUCCEEDED') {
        return b.retries === 0 ? 'SUCCEEDED' : `SUCCEEDED after ${retries}`;
      }
      if (b.retries >= b.maxRetries && b.failures > b.retries) {
        return `FAILED, budget exhausted (${b.retries}/${b.maxRetries})`;
      }
      if (b.failures <= b.retries) return `${b.status} after ${retries}`;
      return b.retries === 0
        ? 'FAILED, not retryable'
        : `FAILED after ${retries}, then not retryable`;
  }
}

/** The classes of a batch's failures, e.g. `infrastructure, source`. */
export function classText(b: BatchResult): string {
  const classes = new Set(b.failedRuns.flatMap((r) => r.classes));
  return [...classes].join(', ') || '-';
}

/** True when the batch went exactly as the workload says it should. */
export function asExpected(b: BatchResult): boolean {
  return b.retries === b.expectedRetries && b.status === b.expectedStatus;
}
const HEADERS =
  'batch,scenario,project,class,failures,retries/expected,retried by,outcome,budget left,ok'.split(
    ',',
  );

/** The per-batch table of a demo run. */
export function demoTable(result: SimulationResult): string {
  const paths = retryPaths(result);
  const would = wouldRetryCounts(result);
  const rows = result.batches.map((b) => {
    const by = [...(paths.get(b.arn ?? '') ?? [])];
    // A process killed after CodeBuild accepted the retry never logged it.
    while (by.length < b.retries) by.push('killed before logging');
    return [
      b.key,
      b.label,
      b.project,
      classText(b),
      b.failures,
      `${b.retries}/${b.expectedRetries}`,
      by.join(', ') || '-',
      outcomeText(b, would.get(b.arn ?? '') ?? 0),
      b.scope === 'retry'
        ? `${b.maxRetries - (b.budgetRetries ?? 0)} of ${b.maxRetries}`
        : '-',
      asExpected(b) ? '✓' : '✗',
    ];
  });
  return table(HEADERS, rows);
}

/** A short summary under the table. */
export function demoSummary(result: SimulationResult): string {
  const f = result.figures;
  return [
    `${f.batches} batches, ${f.events} CodeBuild events, ${f.invocations} invocations (${f.invocationOutcomes.sweeps} sweeps), ${f.dlqMessages} dead-letter messages.`,
    `Retries issued ${f.retriesIssued}, expected ${f.expectedRetries}: over-retries ${f.overRetries}, missed ${f.missedRetries}, budget exceeded ${f.budgetExceeded}; non-retryable retried ${f.nonRetryableRetried}, retryable missed ${f.retryableMissed}; build logs read ${f.logReads}; secrets in logs ${f.secretLeaks}.`,
    `Settle → retry: p50 ${f.settleToRetrySeconds.p50} s, max ${f.settleToRetrySeconds.max} s (events lost: max ${f.lostEventSettleToRetrySeconds.max} s) of simulated time; ${f.invocationsByKind.queue} re-checks; ${elapsed(f.simulatedSeconds * 1000)} simulated in ${f.wallSeconds} s.`,
  ].join('\n');
}

/**
 * The flakiness report (`npm run report`, text) of the demo's own history,
 * read from its DynamoDB before the run's local AWS stops, over the week
 * up to `now` (the simulated clock).
 */
export async function demoFlakinessReport(
  dynamodbEndpoint: string,
  table: string,
  now: number,
): Promise<string> {
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  };
  let text = '';
  const code = await flakinessReport(
    ['--table', table, '--days', '7'],
    env,
    { write: (s) => (text += s), error: (s) => (text += s) },
    now,
  );
  return code === 0 ? text : `The flakiness report failed (${code}):\n${text}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  process.stderr.write(
    'Synthesizing the app (cdk-nag, local esbuild bundling)…\n',
  );
  const assembly = await synthesize('demo');
  const scenario = demoScenario();
  for (const { stackName, parameters = {} } of scenario.stacks ?? []) {
    const params = Object.entries(parameters).map(([k, v]) => `${k}=${v}`);
    process.stderr.write(`Deploying ${stackName} (${params.join(' ')})\n`);
  }
  let report = '';
  const result = await runSimulation({
    ...scenario,
    assembly,
    beforeStop: async ({ dynamodbEndpoint, tables, now }) => {
      report = await demoFlakinessReport(
        dynamodbEndpoint,
        tables[STACK_ID] ?? '',
        now,
      );
    },
  });
  console.log(`\n${demoTable(result)}\n\n${demoSummary(result)}`);
  if (process.argv.includes('--verbose')) {
    console.log(`\n${figuresTable(result.figures)}`);
  }
  console.log(`\nFlakiness report of this run (npm run report):\n\n${report}`);
  const ok = result.ok && result.batches.every(asExpected);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  console.log(
    `\n${ok ? 'All batches went as expected' : 'SOME BATCHES DID NOT GO AS EXPECTED'} (demo took ${seconds} s).`,
  );
  if (!ok) process.exitCode = 1;
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  await main();
}
