/**
 * Reads a run's function logs back into per-batch stories: which invocation
 * (an event or the sweep) issued each retry, and how often a dry run said
 * it would retry.
 */
import { SWEEP_INPUT } from '../lambda/contract.js';
import type { BatchResult, SimulationResult } from './simulation.js';

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
    result.invocations.map(({ requestId, event }) => [
      requestId,
      (event.payload as { kind?: string }).kind === SWEEP_INPUT.kind
        ? 'sweep'
        : 'event',
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
    case 'dry-run':
      return `${b.status}, dry run: "would retry" ×${wouldRetry}`;
    case 'retry':
      if (b.status === 'SUCCEEDED') {
        return b.retries === 0 ? 'SUCCEEDED' : `SUCCEEDED after ${retries}`;
      }
      return b.retries >= b.maxRetries && b.failures > b.retries
        ? `FAILED, budget exhausted (${b.retries}/${b.maxRetries})`
        : `${b.status} after ${retries}`;
  }
}

/** True when the batch went exactly as the workload says it should. */
export function asExpected(b: BatchResult): boolean {
  return b.retries === b.expectedRetries && b.status === b.expectedStatus;
}
