// Cold start: fresh Node processes import a bundle the way the Lambda
// runtime does, until `handler` is a function. Bundles take turns in every
// round (in a rotating order) so machine noise falls on all of them alike.
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { functionEnvironment } from '../tools/local-aws/environment.js';
import { percentile, round } from './stats.js';
import type { Shipped } from './synth.js';

const RUNNER = `const t0 = performance.now();
const m = await import(process.argv[1]);
if (typeof m.handler !== 'function') process.exit(2);
process.stdout.write(String(performance.now() - t0));
`;

/**
 * The function's environment as Lambda sets it: the local function
 * environment (region, dummy credentials, no ~/.aws), the runtime's own
 * variables and the template's (parameters at their defaults,
 * `NODE_OPTIONS` included).
 */
export function lambdaEnv(shipped: Shipped) {
  return {
    ...functionEnvironment(),
    AWS_EXECUTION_ENV: `AWS_Lambda_${shipped.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: 'codebuild-batch-retry-bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(shipped.memoryMb),
    ...shipped.environment,
  };
}

/** Median and quartiles of the time to import a bundle, in ms. */
export interface ColdStart {
  readonly medianMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
}

/**
 * Imports each bundle (name → file) in `runs` fresh processes with exactly
 * `env`, after 2 untimed rounds that warm the file cache for all.
 *
 * @example
 * const cold = measureColdStarts({ ours: shipped.bundle }, env, 21);
 */
export function measureColdStarts<Name extends string>(
  bundles: Readonly<Record<Name, string>>,
  env: Readonly<Record<string, string>>,
  runs: number,
): Record<Name, ColdStart> {
  const runner = ['--input-type=module', '--eval', RUNNER];
  const names = Object.keys(bundles) as Name[];
  const times = new Map(names.map((name) => [name, [] as number[]]));
  for (let turn = -2; turn < runs; turn++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + turn + 2) % names.length];
      const url = pathToFileURL(bundles[name]).href;
      const out = execFileSync(process.execPath, [...runner, url], { env });
      if (turn >= 0) times.get(name)?.push(Number(out.toString()));
    }
  }
  const figures = names.map((name) => {
    const ms = times.get(name) ?? [];
    const [p25Ms, medianMs, p75Ms] = [25, 50, 75].map((p) =>
      round(percentile(ms, p), 2),
    );
    return [name, { medianMs, p25Ms, p75Ms }];
  });
  return Object.fromEntries(figures);
}
