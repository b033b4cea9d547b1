// Synthesizes the CDK app in-process (local esbuild bundling, as `cdk synth`
// does) and reads what the template says about the function.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the synthesized template says about the function. */
export interface Shipped {
  /** The asset directory `cdk synth` produced for the function. */
  readonly assetDir: string;
  /** Its entry file (`<assetDir>/index.mjs`). */
  readonly bundle: string;
  /**
   * The function's environment, parameters at their defaults; the table
   * name is {@link TABLE_PLACEHOLDER}.
   */
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

/** Stands for the table's name in {@link Shipped.environment}. */
export const TABLE_PLACEHOLDER = '<table>';

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}
interface Template {
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Resources: Record<string, Resource>;
}

/**
 * Synthesizes the stack as `bin/app.ts` declares it into `outdir`.
 * aws-cdk-lib is imported here, after the caller pointed HOME, TMPDIR and
 * CDK_HOME into the scratch directory.
 */
export async function synthesize(outdir: string): Promise<Shipped> {
  const started = performance.now();
  const { createApp } = await import('../lib/app.js');
  // The CLI turns asset metadata on; an in-process App must ask for it.
  const { app, stack } = createApp({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  app.synth();
  const synthMs = performance.now() - started;
  const template = JSON.parse(
    readFileSync(join(outdir, stack.templateFile), 'utf8'),
  ) as Template;
  return { ...readTemplate(template, outdir), synthMs };
}

function readTemplate(
  template: Template,
  outdir: string,
): Omit<Shipped, 'synthMs'> {
  const functions = Object.entries(template.Resources).filter(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path'],
  );
  if (functions.length !== 1) {
    throw new Error(
      `expected one bundled function in the template, found ${functions.length}`,
    );
  }
  const [functionId, fn] = functions[0];
  const props = fn.Properties ?? {};
  const assetDir = join(outdir, String(fn.Metadata?.['aws:asset:path']));
  const handler = String(props.Handler ?? 'index.handler');
  const parameters = template.Parameters ?? {};
  const defaultOf = (name: string): string => {
    const value = parameters[name]?.Default;
    if (value === undefined)
      throw new Error(`parameter ${name} has no default`);
    return String(value);
  };
  const resolve = (value: unknown): string => {
    if (typeof value === 'string' || typeof value === 'number') {
      return String(value);
    }
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') {
      if (node.Ref in parameters) return defaultOf(node.Ref);
      if (template.Resources[node.Ref]?.Type.startsWith('AWS::DynamoDB::')) {
        return TABLE_PLACEHOLDER;
      }
    }
    const join = node['Fn::Join'] as [string, unknown] | undefined;
    if (join) {
      const [separator, list] = join;
      if (Array.isArray(list)) return list.map(resolve).join(separator);
      // A CommaDelimitedList parameter's default is already joined by ','.
      return resolve(list).split(',').join(separator);
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  };
  const variables = ((props.Environment as { Variables?: object } | undefined)
    ?.Variables ?? {}) as Record<string, unknown>;
  const environment = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, resolve(value)]),
  );

  const actions: Record<string, string[]> = {};
  for (const resource of Object.values(template.Resources)) {
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

  const sweepInputs = Object.values(template.Resources).flatMap((r) =>
    r.Type === 'AWS::Events::Rule'
      ? ((r.Properties?.Targets as { Arn: unknown; Input?: string }[]) ?? [])
          .filter(
            (t) =>
              JSON.stringify(t.Arn).includes(functionId) &&
              t.Input !== undefined,
          )
          .map((t) => JSON.parse(String(t.Input)) as unknown)
      : [],
  );
  if (sweepInputs.length !== 1) {
    throw new Error('expected one scheduled rule with a constant input');
  }

  return {
    assetDir,
    bundle: join(assetDir, `${handler.split('.')[0]}.mjs`),
    environment,
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb: Number(props.MemorySize ?? 128),
    runtime: String(props.Runtime),
    actions,
    sweepEvent: sweepInputs[0],
    reservedConcurrency:
      'ReservedConcurrency' in parameters
        ? Number(defaultOf('ReservedConcurrency'))
        : 0,
  };
}
