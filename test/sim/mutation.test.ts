import {
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomScenario } from '../../sim/scenarios.js';
import { NO_FAULTS, runSimulation } from '../../sim/simulation.js';
import type { Template } from '../../tools/local-aws/cfn.js';
import { resolveDeployment } from '../../tools/local-aws/deployment.js';
import { SCRATCH } from '../../tools/local-aws/environment.js';
import { type Assembly, synthesize } from '../../tools/local-aws/synth.js';

// The harness must be able to fail: run it against deliberately broken
// copies of what `cdk deploy` ships and check that it says so.

let assembly: Assembly;
const copies: string[] = [];

beforeAll(async () => {
  assembly = await synthesize('test-mutation');
});
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the assembly whose bundled function has each `from` replaced. */
function mutateBundle(
  ...edits: [from: string | RegExp, to: string][]
): Assembly {
  const dir = join(SCRATCH, 'sim', `mutant-${process.pid}-${copies.length}`);
  copies.push(dir);
  cpSync(assembly.directory, dir, { recursive: true });
  const codeDirectory = resolveDeployment({ ...assembly, directory: dir }).fn
    .codeDirectory;
  const file = readdirSync(codeDirectory).find((f) => f.endsWith('.mjs'));
  const path = join(codeDirectory, file as string);
  let code = readFileSync(path, 'utf8');
  for (const [from, to] of edits) {
    // Each edit must hit exactly one place, or the test proves nothing.
    const pattern = new RegExp(from, 'g');
    expect(code.match(pattern)).toHaveLength(1);
    code = code.replace(pattern, to);
  }
  writeFileSync(path, code);
  return { ...assembly, directory: dir };
}

describe('the harness catches a broken function', () => {
  it('reports over-retries and budget excess when the budget check is off by one', async () => {
    // Both checks: the budget write's condition and the decision's.
    const broken = mutateBundle(
      ['retries < :max', 'retries <= :max'],
      [
        /(\w+)\.lastFailure===(\w+)\|\|\1\.retries<(\w+)\}/,
        '$1.lastFailure===$2||$1.retries<=$3}',
      ],
    );
    const result = await runSimulation({
      ...randomScenario({ batches: 30, seed: 5, faults: NO_FAULTS }),
      assembly: broken,
    });
    expect(result.figures.overRetries).toBeGreaterThan(0);
    expect(result.figures.budgetExceeded).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
  }, 120_000);

  it('reports non-retryable failures retried when the class check is off', async () => {
    // The minified retryableByClass: no blocking class counts.
    const broken = mutateBundle([
      /\{retryable:\w+\.length===0,/,
      '{retryable:true,',
    ]);
    const result = await runSimulation({
      ...randomScenario({ batches: 30, seed: 5, faults: NO_FAULTS }),
      assembly: broken,
    });
    expect(result.figures.nonRetryableRetried).toBeGreaterThan(0);
    expect(result.figures.overRetries).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
  }, 120_000);

  it('reports a leak when the function logs the build log it read', async () => {
    // The minified BuildLogs.tail: print the events before returning them.
    const broken = mutateBundle([
      /return\((\w+)\?\?\[\]\)\.map\((\w+)=>\2\.message\?\?""\)/,
      'return console.log(JSON.stringify($1)),($1??[]).map($2=>$2.message??"")',
    ]);
    const result = await runSimulation({
      ...randomScenario({ batches: 30, seed: 5, faults: NO_FAULTS }),
      assembly: broken,
    });
    expect(result.figures.secretsInLogTails).toBeGreaterThan(0);
    expect(result.figures.secretLeaks).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
  }, 120_000);

  it('reports missed retries when the sweep is disabled and events are lost', async () => {
    const template = structuredClone(assembly.template) as Template & {
      Resources: Record<string, { Type: string; Properties?: object }>;
    };
    for (const resource of Object.values(template.Resources)) {
      const props = resource.Properties as Record<string, unknown> | undefined;
      if (resource.Type === 'AWS::Events::Rule' && props?.ScheduleExpression) {
        props.State = 'DISABLED';
      }
    }
    const result = await runSimulation({
      ...randomScenario({
        batches: 30,
        seed: 5,
        faults: { ...NO_FAULTS, drop: 1 },
      }),
      assembly: { ...assembly, template },
    });
    expect(result.figures.expectedRetries).toBeGreaterThan(0);
    expect(result.figures.missedRetries).toBe(result.figures.expectedRetries);
    expect(result.ok).toBe(false);
  }, 120_000);

  it('the same run passes against the unmodified stack', async () => {
    const result = await runSimulation({
      ...randomScenario({
        batches: 30,
        seed: 5,
        faults: { ...NO_FAULTS, drop: 1 },
      }),
      assembly,
    });
    expect(result.figures.expectedRetries).toBeGreaterThan(0);
    expect(result.figures.missedRetries).toBe(0);
    expect(result.ok).toBe(true);
  }, 120_000);
});
