// Cold start: fresh Node processes import a bundle the way the Lambda
// runtime does, until `handler` is a function. Bundles take turns in every
// round (in a rotating order) so machine noise falls on all of them alike.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, percentile } from './stats.js';
import { type Shipped, TABLE_PLACEHOLDER } from './synth.js';

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
 * The function's environment as Lambda sets it: the template's variables
 * (parameters at their defaults, `NODE_OPTIONS` included) and the runtime's
 * own. Nothing is inherited from the bench's process but PATH, and HOME
 * points at `home`, so the SDK finds no ~/.aws files, as in Lambda.
 */
export function lambdaEnv(
  shipped: Shipped,
  home: string,
): Record<string, string> {
  const template = Object.entries(shipped.environment).map(([name, value]) => [
    name,
    value === TABLE_PLACEHOLDER ? 'batch-retry' : value,
  ]);
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_EXECUTION_ENV: `AWS_Lambda_${shipped.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: 'codebuild-batch-retry-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(shipped.memoryMb),
    // Node 20 here; the runtime is newer and does not print this warning.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...Object.fromEntries(template),
  };
}

/**
 * Measures each bundle in `bundles` (name → file) `runs` times after
 * `warmup` untimed runs, in fresh processes with exactly `env`.
 *
 * @example
 * const cold = measureColdStarts({ ours: shipped.bundle }, env, SCRATCH, 21, 2);
 */
export function measureColdStarts<Name extends string>(
  bundles: Readonly<Record<Name, string>>,
  env: Readonly<Record<string, string>>,
  scratch: string,
  runs: number,
  warmup: number,
): Record<Name, ColdStart> {
  const runner = join(scratch, 'cold-start-runner.mjs');
  writeFileSync(runner, RUNNER);
  const names = Object.keys(bundles) as Name[];
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
  ) as Record<Name, ColdStart>;
}
