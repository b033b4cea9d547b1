// What the benchmarks read about the function from the synthesized stack.
import { join } from 'node:path';
import { resolveDeployment } from '../tools/local-aws/deployment.js';
import type { Assembly } from '../tools/local-aws/synth.js';

/** What the synthesized template says about the function. */
export interface Shipped {
  /** The asset directory `cdk synth` produced for the function. */
  readonly assetDir: string;
  /** Its entry file (`<assetDir>/index.mjs`). */
  readonly bundle: string;
  /** The function's environment, parameters at their defaults. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly runtime: string;
  /** IAM actions granted to the function, by service prefix. */
  readonly actions: Readonly<Record<string, readonly string[]>>;
  /** The input the sweep schedule sends. */
  readonly sweepEvent: unknown;
  /** Default of the ReservedConcurrency parameter (0: unreserved). */
  readonly reservedConcurrency: number;
  readonly synthMs: number;
}

/**
 * The function of a bundled assembly, its parameters at their defaults.
 *
 * @example
 * const shipped = readShipped(await synthesize('bench'));
 */
export function readShipped(assembly: Assembly): Shipped {
  const { fn, rules } = resolveDeployment(assembly);
  const sweepInputs = rules
    .filter((r) => r.scheduleExpression)
    .flatMap((r) => r.targets.map((t) => t.input))
    .filter((input) => input !== undefined);
  if (sweepInputs.length !== 1) {
    throw new Error('expected one scheduled rule with a constant input');
  }
  const actions: Record<string, string[]> = {};
  for (const resource of Object.values(assembly.template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const document = resource.Properties?.PolicyDocument as {
      Statement: { Effect: string; Action: string | string[] }[];
    };
    for (const statement of document.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of [statement.Action].flat()) {
        const [service, name] = action.split(':');
        actions[service] ??= [];
        if (!actions[service].includes(name)) actions[service].push(name);
      }
    }
  }
  return {
    assetDir: fn.codeDirectory,
    bundle: join(fn.codeDirectory, `${fn.handler.split('.')[0]}.mjs`),
    environment: fn.environment,
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb: fn.memoryMb,
    runtime: fn.runtime,
    actions,
    sweepEvent: sweepInputs[0],
    reservedConcurrency: fn.reservedConcurrency ?? 0,
    synthMs: assembly.synthMs,
  };
}
