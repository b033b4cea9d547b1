// Cold start: fresh Node processes import a bundle the way the Lambda
// runtime does, until `handler` is a function. Bundles take turns in every
// round (in a rotating order) so machine noise falls on all of them alike.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, percentile } from './stats.js';

/** Cold-start figures of one bundle. */
export interface ColdStart {
  /** Median time to import the bundle until its handler exists. */
  readonly medianMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
  /** Median from spawning `node` until the handler exists (info). */
  readonly processMedianMs: number;
  readonly runs: number;
}

const RUNNER = `const t0 = performance.now();
const m = await import(process.argv[2]);
const t1 = performance.now();
if (typeof m.handler !== 'function') process.exit(2);
process.stdout.write(JSON.stringify({ importMs: t1 - t0, readyAt: performance.timeOrigin + t1 }));
`;

/**
 * Measures each bundle in `bundles` (name → file) `runs` times after
 * `warmup` untimed runs, in fresh processes with exactly `env`.
 */
export function measureColdStarts(
  bundles: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string>>,
  scratch: string,
  runs: number,
  warmup: number,
): Record<string, ColdStart> {
  const runner = join(scratch, 'cold-start-runner.mjs');
  writeFileSync(runner, RUNNER);
  const names = Object.keys(bundles);
  const imports: Record<string, number[]> = {};
  const processes: Record<string, number[]> = {};
  for (const name of names) {
    imports[name] = [];
    processes[name] = [];
  }
  for (let round = 0; round < warmup + runs; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const spawnedAt = performance.timeOrigin + performance.now();
      const out = execFileSync(
        process.execPath,
        [runner, pathToFileURL(bundles[name]).href],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const { importMs, readyAt } = JSON.parse(out.toString()) as {
        importMs: number;
        readyAt: number;
      };
      if (round < warmup) continue;
      imports[name].push(importMs);
      processes[name].push(readyAt - spawnedAt);
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        medianMs: median(imports[name]),
        p25Ms: percentile(imports[name], 25),
        p75Ms: percentile(imports[name], 75),
        processMedianMs: median(processes[name]),
        runs,
      },
    ]),
  );
}
