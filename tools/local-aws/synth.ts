/**
 * Synthesizes the CDK app offline, in-process, as `cdk synth` would, and
 * reads the cloud assembly back.
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { STACK_ID } from '../../lambda/contract.js';
import type { Template } from './cfn.js';
import { resolveDeployment, type TableSpec } from './deployment.js';
import { PROJECT_ROOT, SCRATCH, SCRATCH_HOME } from './environment.js';

/** A synthesized cloud assembly: its folder, stack and template. */
export type Assembly = Awaited<ReturnType<typeof synthesize>>;

/**
 * Synthesizes the app of `lib/app.ts` (as `bin/app.ts` builds it, cdk-nag
 * included) into `.scratch/cdk.out/<label>`, with HOME, TMPDIR and CDK_HOME
 * under `.scratch`. `bundling: false` skips building the function's asset.
 *
 * @example
 * const assembly = await synthesize('demo');
 * const template = (await synthesize('table', { bundling: false })).template;
 */
export async function synthesize(
  label = `run-${process.pid}`,
  options: { readonly bundling?: boolean } = {},
) {
  const outdir = scratchOutdir(label);
  const started = Date.now();
  // Loaded only now: aws-cdk-lib fixes its cache folder from HOME when it
  // loads, and callers that never synthesize should not pay for it.
  const { createApp } = await import('../../lib/app.js');
  const { app } = createApp({
    outdir,
    // An empty list skips asset bundling for every stack.
    context:
      options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {},
  });
  const cloudAssembly = app.synth();
  const stack = cloudAssembly.getStackByName(STACK_ID);
  return {
    directory: cloudAssembly.directory,
    stackName: stack.stackName,
    template: JSON.parse(
      readFileSync(join(cloudAssembly.directory, stack.templateFile), 'utf8'),
    ) as Template,
    /** Wall-clock milliseconds the synth took. */
    synthMs: Date.now() - started,
  };
}

/**
 * Points HOME, CDK_HOME and TMPDIR under `.scratch`, so neither aws-cdk-lib
 * (its fingerprint cache), the SDK (`~/.aws`) nor esbuild writes outside the
 * project, and returns an emptied cloud assembly folder for `label`.
 *
 * @example
 * const app = new App({ outdir: scratchOutdir('nag') });
 */
export function scratchOutdir(label: string): string {
  const home = SCRATCH_HOME;
  for (const [name, dir] of [
    ['HOME', home],
    ['CDK_HOME', join(home, '.cdk')],
    ['TMPDIR', join(SCRATCH, 'tmp')],
  ] as const) {
    mkdirSync(dir, { recursive: true });
    process.env[name] = dir;
  }
  const outdir = join(SCRATCH, 'cdk.out', label);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  return outdir;
}

/** What the table's definition is made from: the stack and the contract. */
function templateSources(): string[] {
  const lib = readdirSync(join(PROJECT_ROOT, 'lib'), {
    recursive: true,
    encoding: 'utf8',
  });
  return [
    ...lib.filter((f) => f.endsWith('.ts')).map((f) => join('lib', f)),
    join('lambda', 'contract.ts'),
    'package-lock.json',
  ].sort();
}

/**
 * The service's DynamoDB table as the synthesized template defines it,
 * synthesized without bundling once per change of its sources.
 *
 * @example
 * await createTable(client, await serviceTable());
 */
export async function serviceTable(): Promise<TableSpec> {
  const hash = createHash('sha256');
  for (const file of templateSources()) {
    hash.update(file).update(readFileSync(join(PROJECT_ROOT, file)));
  }
  const cache = join(SCRATCH, 'local-aws', `table-${hash.digest('hex')}.json`);
  try {
    return JSON.parse(readFileSync(cache, 'utf8')) as TableSpec;
  } catch {
    // Not synthesized for these sources yet.
  }
  const assembly = await synthesize(`table-${process.pid}`, {
    bundling: false,
  });
  const { table } = resolveDeployment(assembly);
  rmSync(assembly.directory, { recursive: true, force: true });
  mkdirSync(join(SCRATCH, 'local-aws'), { recursive: true });
  // Written whole, then renamed: a concurrent reader sees all or nothing.
  writeFileSync(`${cache}.${process.pid}`, JSON.stringify(table));
  renameSync(`${cache}.${process.pid}`, cache);
  return table;
}
