// Sizes and paths of the benchmark, in one place.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (everything the bench reads lives below it). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Scratch space: synthesized app, bundles, HOME, TMPDIR. Wiped per run. */
export const SCRATCH = join(ROOT, '.scratch', 'bench');
/** Where the committed results go. */
export const RESULTS_JSON = join(ROOT, 'bench', 'results.json');
export const RESULTS_MD = join(ROOT, 'bench', 'RESULTS.md');
/** Fresh processes per bundle for the cold start, after 2 untimed ones. */
export const COLD_RUNS = 21;
/** Sweep growth: batches in the account and how many failed when. */
export const SWEEP_ACCOUNTS = [
  { batches: 10, failedInWindow: 1, failedBeforeWindow: 2 },
  { batches: 100, failedInWindow: 10, failedBeforeWindow: 20 },
  { batches: 1000, failedInWindow: 100, failedBeforeWindow: 200 },
  // The control: many batches, one failure in the window.
  { batches: 1000, failedInWindow: 1, failedBeforeWindow: 200 },
] as const;
/** Burst: failure events delivered at once. */
export const BURST_EVENTS = 500;
/** CodeBuild's throttling and latency during the burst. */
export const BURST_FAULTS = { throttleRate: 0.2, latencyMs: 10 };
/** Lambda's asynchronous invocation retries (the stack's RetryPolicy). */
export const ASYNC_RETRIES = 2;
/** Unwatched two-build batches whose healthy events the queue figures count. */
export const QUEUE_HEALTHY_BATCHES = 20;
/** The project every bench batch belongs to. */
export const PROJECT = 'bench';
