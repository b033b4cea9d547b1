/**
 * What one deployment of the synthesized template consists of, with
 * parameter values resolved as CloudFormation would: the function and its
 * bundled asset, its asynchronous invocation settings, the rules that
 * invoke it, and its table.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CfnResolver,
  DEFAULT_ENVIRONMENT,
  type ResourceDefinition,
  type StackEnvironment,
} from './cfn.js';
import type { Assembly } from './synth.js';

/** The function as the template configures it. */
export interface FunctionSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Environment variables with every reference resolved. */
  readonly environment: Readonly<Record<string, string>>;
  /** Absent when the function is unreserved. */
  readonly reservedConcurrency?: number;
  /** The bundled asset directory in the cloud assembly. */
  readonly codeDirectory: string;
  readonly logGroupName: string;
}

/** Asynchronous invocation settings (AWS::Lambda::EventInvokeConfig). */
export interface AsyncInvokeSpec {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

/** One rule target pointing at the function. */
export interface TargetSpec {
  readonly id: string;
  /** Constant input replacing the event (`Input`), if any. */
  readonly input?: unknown;
  readonly maximumEventAgeSeconds: number;
}

/** An EventBridge rule on the default bus. */
export interface RuleSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly eventPattern?: Readonly<Record<string, unknown>>;
  readonly scheduleExpression?: string;
  /** The schedule as a period, for `rate(...)` expressions. */
  readonly scheduleRateMs?: number;
  readonly targets: readonly TargetSpec[];
}

/** The DynamoDB table, as CreateTable input for a local server. */
export interface TableSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly attributeDefinitions: readonly {
    AttributeName: string;
    AttributeType: string;
  }[];
  readonly keySchema: readonly { AttributeName: string; KeyType: string }[];
  readonly globalSecondaryIndexes: readonly {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: { ProjectionType: string; NonKeyAttributes?: string[] };
  }[];
  readonly billingMode: string;
}

/** What one stack deployment with given parameters consists of. */
export interface Deployment {
  readonly stackName: string;
  readonly environment: StackEnvironment;
  readonly parameters: Readonly<Record<string, string | string[]>>;
  readonly fn: FunctionSpec;
  readonly asyncInvoke: AsyncInvokeSpec;
  readonly rules: readonly RuleSpec[];
  readonly table: TableSpec;
}

/** Options of {@link resolveDeployment}. */
export interface DeploymentOptions {
  /** CloudFormation parameter values, as on `cdk deploy --parameters`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Stack name; a second deployment in the same account needs another. */
  readonly stackName?: string;
  readonly environment?: Omit<StackEnvironment, 'stackName'>;
}

/**
 * Resolves the template of `assembly` with the given parameter values into
 * the settings the simulation needs, failing loudly on anything it would
 * have to guess.
 *
 * @example
 * const deployment = resolveDeployment(assembly, { parameters: { MaxRetries: '3' } });
 */
export function resolveDeployment(
  assembly: Assembly,
  options: DeploymentOptions = {},
): Deployment {
  const environment: StackEnvironment = {
    ...DEFAULT_ENVIRONMENT,
    ...options.environment,
    stackName: options.stackName ?? assembly.stackName,
  };
  const cfn = new CfnResolver(
    assembly.template,
    options.parameters ?? {},
    environment,
  );
  const resources = Object.entries(assembly.template.Resources).filter(([id]) =>
    cfn.exists(id),
  );
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

  const functions = ofType('AWS::Lambda::Function').filter(
    ([, r]) => assetHashOf(r) !== undefined,
  );
  if (functions.length !== 1) {
    throw new Error(
      `expected one function with a bundled asset, found ${functions.length}`,
    );
  }
  const [fnId, fnResource] = functions[0] as [string, ResourceDefinition];
  const fn = resolveFunction(cfn, assembly, fnId, fnResource);

  const invokeConfigs = ofType('AWS::Lambda::EventInvokeConfig').filter(
    ([, r]) => cfn.resolve(r.Properties?.FunctionName) === fn.name,
  );
  const invokeProps = (invokeConfigs[0]?.[1].Properties ?? {}) as Record<
    string,
    unknown
  >;
  const resolvedInvoke = cfn.resolve(invokeProps) as {
    MaximumRetryAttempts?: number;
    MaximumEventAgeInSeconds?: number;
  };
  // Lambda's defaults when no EventInvokeConfig exists: 2 retries, 6 hours.
  const asyncInvoke: AsyncInvokeSpec = {
    maximumRetryAttempts: resolvedInvoke.MaximumRetryAttempts ?? 2,
    maximumEventAgeSeconds: resolvedInvoke.MaximumEventAgeInSeconds ?? 21_600,
  };

  const rules = ofType('AWS::Events::Rule')
    .map(([id, r]) => resolveRule(cfn, id, r, fn.arn))
    .filter((rule) => rule.targets.length > 0);

  const tables = [
    ...ofType('AWS::DynamoDB::GlobalTable'),
    ...ofType('AWS::DynamoDB::Table'),
  ];
  if (tables.length !== 1) {
    throw new Error(`expected one DynamoDB table, found ${tables.length}`);
  }
  const [tableId, tableResource] = tables[0] as [string, ResourceDefinition];

  return {
    stackName: environment.stackName,
    environment,
    parameters: cfn.parameters,
    fn,
    asyncInvoke,
    rules,
    table: resolveTable(cfn, tableId, tableResource),
  };
}

function resolveFunction(
  cfn: CfnResolver,
  assembly: Assembly,
  logicalId: string,
  resource: ResourceDefinition,
): FunctionSpec {
  const props = cfn.resolve(resource.Properties ?? {}) as {
    Handler?: string;
    Runtime?: string;
    Timeout?: number;
    MemorySize?: number;
    ReservedConcurrentExecutions?: number | string;
    Environment?: { Variables?: Record<string, unknown> };
    LoggingConfig?: { LogGroup?: string };
    FunctionName?: string;
  };
  if (!props.Handler || !props.Runtime) {
    throw new Error(`${logicalId}: Handler and Runtime are required`);
  }
  const codeDirectory = assetDirectory(assembly, resource);
  if (!existsSync(codeDirectory)) {
    throw new Error(`${logicalId}: asset ${codeDirectory} is missing`);
  }
  const environment = Object.fromEntries(
    Object.entries(props.Environment?.Variables ?? {}).map(([k, v]) => [
      k,
      String(v),
    ]),
  );
  const reserved =
    props.ReservedConcurrentExecutions === undefined
      ? undefined
      : Number(props.ReservedConcurrentExecutions);
  const name = props.FunctionName ?? cfn.physicalId(logicalId);
  return {
    logicalId,
    name,
    arn: cfn.attribute(logicalId, 'Arn'),
    handler: props.Handler,
    runtime: props.Runtime,
    // Lambda's default timeout is 3 seconds.
    timeoutSeconds: Number(props.Timeout ?? 3),
    memoryMb: Number(props.MemorySize ?? 128),
    environment,
    reservedConcurrency: reserved,
    codeDirectory,
    logGroupName: props.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`,
  };
}

/** The asset hash in `Code.S3Key` (`<hash>.zip`), for file assets. */
function assetHashOf(resource: ResourceDefinition): string | undefined {
  const code = resource.Properties?.Code as { S3Key?: unknown } | undefined;
  const key = typeof code?.S3Key === 'string' ? code.S3Key : undefined;
  return key ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
}

/**
 * The directory of a function's code in the assembly, found as the CDK CLI
 * finds it before uploading: `Code.S3Key` names the asset, the stack's asset
 * manifest maps it to its source path.
 */
function assetDirectory(
  assembly: Assembly,
  resource: ResourceDefinition,
): string {
  const hash = assetHashOf(resource);
  const manifests = readdirSync(assembly.directory).filter((f) =>
    f.endsWith('.assets.json'),
  );
  for (const file of manifests) {
    const manifest = JSON.parse(
      readFileSync(resolve(assembly.directory, file), 'utf8'),
    ) as {
      files?: Record<
        string,
        { source?: { path?: string; packaging?: string } }
      >;
    };
    const source = hash ? manifest.files?.[hash]?.source : undefined;
    if (source?.path) {
      if (source.packaging !== 'zip') {
        throw new Error(`asset ${hash} is not a zipped directory`);
      }
      return resolve(assembly.directory, source.path);
    }
  }
  throw new Error(`asset ${hash} is not in the assembly's asset manifests`);
}

function resolveRule(
  cfn: CfnResolver,
  logicalId: string,
  resource: ResourceDefinition,
  functionArn: string,
): RuleSpec {
  const props = cfn.resolve(resource.Properties ?? {}) as {
    Name?: string;
    State?: string;
    EventPattern?: Record<string, unknown> | string;
    ScheduleExpression?: string;
    EventBusName?: string;
    Targets?: {
      Id: string;
      Arn: string;
      Input?: string;
      InputPath?: string;
      InputTransformer?: unknown;
      RetryPolicy?: { MaximumEventAgeInSeconds?: number };
    }[];
  };
  if (props.EventBusName && props.EventBusName !== 'default') {
    throw new Error(`${logicalId}: only the default bus is simulated`);
  }
  const targets = (props.Targets ?? [])
    .filter((t) => t.Arn === functionArn)
    .map((t) => {
      if (t.InputPath || t.InputTransformer) {
        throw new Error(
          `${logicalId}: InputPath/InputTransformer are not simulated`,
        );
      }
      return {
        id: t.Id,
        input: t.Input === undefined ? undefined : JSON.parse(t.Input),
        // EventBridge's default: 24 hours.
        maximumEventAgeSeconds:
          t.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400,
      } satisfies TargetSpec;
    });
  const pattern =
    typeof props.EventPattern === 'string'
      ? (JSON.parse(props.EventPattern) as Record<string, unknown>)
      : props.EventPattern;
  return {
    logicalId,
    name: props.Name ?? cfn.physicalId(logicalId),
    enabled: (props.State ?? 'ENABLED') === 'ENABLED',
    eventPattern: pattern,
    scheduleExpression: props.ScheduleExpression,
    scheduleRateMs: props.ScheduleExpression
      ? parseRate(props.ScheduleExpression)
      : undefined,
    targets,
  };
}

/**
 * `rate(value unit)` in milliseconds. EventBridge requires the singular unit
 * for 1 and the plural otherwise.
 *
 * @example
 * parseRate('rate(5 minutes)'); // 300000
 */
export function parseRate(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(
    expression,
  );
  if (!match) {
    throw new Error(`unsupported schedule expression: ${expression}`);
  }
  const value = Number(match[1]);
  const unit = match[2] as string;
  if (value < 1 || (value === 1) !== !unit.endsWith('s')) {
    throw new Error(`invalid rate expression: ${expression}`);
  }
  const base = unit.startsWith('minute')
    ? 60_000
    : unit.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return value * base;
}

function resolveTable(
  cfn: CfnResolver,
  logicalId: string,
  resource: ResourceDefinition,
): TableSpec {
  const props = cfn.resolve(resource.Properties ?? {}) as {
    TableName?: string;
    AttributeDefinitions: TableSpec['attributeDefinitions'];
    KeySchema: TableSpec['keySchema'];
    GlobalSecondaryIndexes?: TableSpec['globalSecondaryIndexes'];
    BillingMode?: string;
  };
  return {
    logicalId,
    name: props.TableName ?? cfn.physicalId(logicalId),
    attributeDefinitions: props.AttributeDefinitions,
    keySchema: props.KeySchema,
    globalSecondaryIndexes: (props.GlobalSecondaryIndexes ?? []).map((g) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema,
      Projection: g.Projection,
    })),
    billingMode: props.BillingMode ?? 'PROVISIONED',
  };
}
