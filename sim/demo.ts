/**
 * `npm run demo`: synthesizes the app, deploys it onto emulated AWS, runs a
 * scripted day of CodeBuild batches through it and prints what happened to
 * each batch.
 */
import './quiet.js';
import { pathToFileURL } from 'node:url';
import { synthesize } from '../tools/local-aws/synth.js';
import { elapsed } from './clock.js';
import {
  asExpected,
  outcomeText,
  retryPaths,
  wouldRetryCounts,
} from './explain.js';
import { figuresTable, progressWriter, table } from './report.js';
import { demoScenario } from './scenarios.js';
import { runSimulation, type SimulationResult } from './simulation.js';

/** The per-batch table of a demo run. */
export function demoTable(result: SimulationResult): string {
  const paths = retryPaths(result);
  const would = wouldRetryCounts(result);
  const rows = result.batches.map((b) => {
    const arn = b.arn ?? '';
    const by = [...(paths.get(arn) ?? [])];
    // A process killed after CodeBuild accepted the retry never logged it.
    while (by.length < b.retries) by.push('killed before logging');
    return [
      b.key,
      b.label,
      b.project,
      b.failures,
      `${b.retries}/${b.expectedRetries}`,
      by.length > 0 ? by.join(', ') : '-',
      outcomeText(b, would.get(arn) ?? 0),
      b.scope === 'retry'
        ? `${b.maxRetries - (b.budgetRetries ?? 0)} of ${b.maxRetries}`
        : '-',
      asExpected(b) ? '✓' : '✗',
    ];
  });
  return table(
    [
      'batch',
      'scenario',
      'project',
      'failures',
      'retries/expected',
      'retried by',
      'outcome',
      'budget left',
      'ok',
    ],
    rows,
  );
}

/** A short summary under the table. */
export function demoSummary(result: SimulationResult): string {
  const f = result.figures;
  const lines = [
    `${f.batches} batches, ${f.events} CodeBuild events, ${f.invocations} invocations (${f.invocationOutcomes.sweeps} sweeps), ${f.dlqMessages} dead-letter messages.`,
    `Retries issued ${f.retriesIssued}, expected ${f.expectedRetries}: over-retries ${f.overRetries}, missed ${f.missedRetries}, budget exceeded ${f.budgetExceeded}; secrets in logs ${f.secretLeaks}.`,
    `Failure → retry: p50 ${f.failureToRetrySeconds.p50} s, max ${f.failureToRetrySeconds.max} s of simulated time; ${elapsed(0, f.simulatedSeconds * 1000)} simulated in ${f.wallSeconds} s.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const verbose = process.argv.includes('--verbose');
  process.stderr.write(
    'Synthesizing the app (cdk-nag, local esbuild bundling)…\n',
  );
  const assembly = await quietly(() => synthesize('demo'));
  const scenario = demoScenario();
  for (const stack of scenario.stacks ?? []) {
    const params = Object.entries(stack.parameters ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    process.stderr.write(`Deploying ${stack.stackName} (${params})\n`);
  }
  const progress = progressWriter();
  const result = await runSimulation({
    ...scenario,
    assembly,
    onProgress: (p) => progress.update(p),
  });
  progress.done();
  console.log('');
  console.log(demoTable(result));
  console.log('');
  console.log(demoSummary(result));
  if (verbose) {
    console.log('');
    console.log(figuresTable(result.figures));
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  console.log(
    `\n${result.ok && result.batches.every(asExpected) ? 'All batches went as expected' : 'SOME BATCHES DID NOT GO AS EXPECTED'} (demo took ${seconds} s).`,
  );
  if (!result.ok || !result.batches.every(asExpected)) process.exitCode = 1;
}

/** Runs `fn` with stdout/stderr held back (shown only if it fails). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const held: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((s) => s.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      held.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    return await fn();
  } catch (error) {
    streams.forEach((s, i) => {
      s.write = writes[i] as typeof s.write;
    });
    process.stderr.write(held.join(''));
    throw error;
  } finally {
    streams.forEach((s, i) => {
      s.write = writes[i] as typeof s.write;
    });
  }
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  await main();
}
