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
/** Hand-written analysis appended to RESULTS.md. */
export const NOTES_MD = join(ROOT, 'bench', 'NOTES.md');

/** Fresh processes per bundle for the cold start (the issue asks >= 15). */
export const COLD_RUNS = 21;
/** Untimed runs per bundle first, so the file cache is warm for all. */
export const COLD_WARMUP_RUNS = 2;
/** Measured warm events, after {@link WARMUP_EVENTS} untimed ones. */
export const WARM_EVENTS = 2000;
export const WARMUP_EVENTS = 200;
/** The warm mix, in delivery order; a duplicate repeats the last retry. */
export const WARM_MIX = [
  'ignored',
  'standalone',
  'retried',
  'duplicate',
] as const;
/** Warm events per block when reporting the ratio's spread. */
export const WARM_BLOCK = 200;
/** Sweep growth: batches in the account and how many failed when. */
export const SWEEP_ACCOUNTS = [
  { batches: 10, failedInWindow: 1, failedBeforeWindow: 2 },
  { batches: 100, failedInWindow: 10, failedBeforeWindow: 20 },
  { batches: 1000, failedInWindow: 100, failedBeforeWindow: 200 },
] as const;
/** The control: many batches, one failure in the window. */
export const SWEEP_CONTROL = {
  batches: 1000,
  failedInWindow: 1,
  failedBeforeWindow: 200,
} as const;
/** Burst: failure events delivered at once, and the emulator's faults. */
export const BURST_EVENTS = 500;
export const BURST_THROTTLE_RATE = 0.2;
/** API latency during the burst, so requests in flight can be counted. */
export const BURST_LATENCY_MS = 10;
/** Lambda's asynchronous invocation retries (the stack's RetryPolicy). */
export const ASYNC_RETRIES = 2;
/** Seed of the emulator's fault draws, so runs are comparable. */
export const FAULT_SEED = 42;
/** The project every bench batch belongs to. */
export const PROJECT = 'bench';
