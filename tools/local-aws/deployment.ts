/**
 * What one deployment of the synthesized template consists of, with
 * parameter values resolved as CloudFormation would: the function and its
 * bundled asset, its asynchronous invocation settings, the rules that
 * invoke it, its table, its SQS queues and the queue event sources that
 * invoke it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CfnResolver, type ResourceDefinition } from './cfn.js';
import type { Assembly } from './synth.js';

/** The function as the template configures it, references resolved. */
export type FunctionSpec = ReturnType<typeof resolveFunction>;

/** An EventBridge rule on the default bus, its targets the function. */
export type RuleSpec = ReturnType<typeof resolveRule>;

/** The DynamoDB table: what CreateTable needs on a local server. */
export type TableSpec = Deployment['table'];

/** What one stack deployment with given parameters consists of. */
export type Deployment = ReturnType<typeof resolveDeployment>;

/** Options of {@link resolveDeployment}. */
export interface DeploymentOptions {
  /** CloudFormation parameter values, as on `cdk deploy --parameters`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Stack name; a second deployment in the same account needs another. */
  readonly stackName?: string;
}

/**
 * Resolves the template of `assembly` with the given parameter values into
 * what a deployment runs, failing loudly on anything it would have to guess.
 *
 * @example
 * const deployment = resolveDeployment(assembly, { parameters: { MaxRetries: '3' } });
 */
export function resolveDeployment(
  assembly: Assembly,
  options: DeploymentOptions = {},
) {
  const { template } = assembly;
  const stackName = options.stackName ?? assembly.stackName;
  const cfn = new CfnResolver(template, options.parameters, stackName);
  const assetOk = (r: ResourceDefinition) =>
    r.Type !== 'AWS::Lambda::Function' || assetHashOf(r) !== undefined;
  const only = (types: readonly string[], what: string) => {
    const found = Object.entries(template.Resources).filter(
      ([id, r]) => types.includes(r.Type) && cfn.exists(id) && assetOk(r),
    );
    if (found.length !== 1) {
      throw new Error(`expected one ${what}, found ${found.length}`);
    }
    return found[0] as [string, ResourceDefinition];
  };
  const resolved = (type: string) =>
    Object.entries(template.Resources)
      .filter(([id, r]) => r.Type === type && cfn.exists(id))
      .map(([id, r]) => [id, cfn.resolve(r.Properties ?? {})] as const);

  const fn = resolveFunction(
    cfn,
    assembly,
    ...only(['AWS::Lambda::Function'], 'function with a bundled asset'),
  );
  const invoke = resolved('AWS::Lambda::EventInvokeConfig')
    .map(([, p]) => p as Record<string, number | string | undefined>)
    .find((p) => p.FunctionName === fn.name);
  const rules = resolved('AWS::Events::Rule')
    .map(([id, p]) => resolveRule(cfn, id, p as RuleProperties, fn.arn))
    .filter((rule) => rule.targets.length > 0);
  const queues = resolved('AWS::SQS::Queue').map(([id, p]) =>
    resolveQueue(cfn, id, p as QueueProperties),
  );
  // Ordered so that a dead-letter queue exists before the queues using it.
  queues.sort((a, b) => Number(!!a.redrive) - Number(!!b.redrive));
  const eventSources = resolved('AWS::Lambda::EventSourceMapping').map(
    ([id, p]) => {
      const props = p as Record<string, unknown>;
      const queue = queues.find((q) => q.arn === props.EventSourceArn);
      if (!queue) throw new Error(`${id}: only SQS event sources are read`);
      return {
        queue,
        batchSize: Number(props.BatchSize ?? 10),
        reportBatchItemFailures: (
          (props.FunctionResponseTypes as string[] | undefined) ?? []
        ).includes('ReportBatchItemFailures'),
        enabled: props.Enabled !== false && props.Enabled !== 'false',
      };
    },
  );
  const [tableId, table] = only(
    ['AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table'],
    'DynamoDB table',
  );
  const tableProps = cfn.resolve(
    table.Properties,
  ) as Partial<CreateTableCommandInput>;
  return {
    stackName,
    environment: cfn.environment,
    parameters: cfn.parameters,
    fn,
    // Lambda's defaults when no EventInvokeConfig exists: 2 retries, 6 hours.
    asyncInvoke: {
      maximumRetryAttempts: Number(invoke?.MaximumRetryAttempts ?? 2),
      maximumEventAgeSeconds: Number(
        invoke?.MaximumEventAgeInSeconds ?? 21_600,
      ),
    },
    rules,
    queues,
    eventSources,
    table: {
      logicalId: tableId,
      name: tableProps.TableName ?? cfn.physicalId(tableId),
      attributeDefinitions: tableProps.AttributeDefinitions ?? [],
      keySchema: tableProps.KeySchema ?? [],
      globalSecondaryIndexes: (tableProps.GlobalSecondaryIndexes ?? []).map(
        ({ IndexName, KeySchema, Projection }) => ({
          IndexName,
          KeySchema,
          Projection,
        }),
      ),
      billingMode: tableProps.BillingMode ?? 'PROVISIONED',
    },
  };
}

function resolveFunction(
  cfn: CfnResolver,
  assembly: Assembly,
  logicalId: string,
  resource: ResourceDefinition,
) {
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
  const reserved = props.ReservedConcurrentExecutions;
  const variables = props.Environment?.Variables ?? {};
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
    environment: Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, String(v)]),
    ),
    /** Absent when the function is unreserved. */
    reservedConcurrency: reserved === undefined ? undefined : Number(reserved),
    /** The asset directory in the cloud assembly (bundled unless skipped). */
    codeDirectory: assetDirectory(assembly, resource),
    logGroupName: props.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`,
  };
}

/** The asset hash in `Code.S3Key` (`<hash>.zip`), for file assets. */
function assetHashOf(resource: ResourceDefinition): string | undefined {
  const code = resource.Properties?.Code as { S3Key?: unknown } | undefined;
  const key = typeof code?.S3Key === 'string' ? code.S3Key : '';
  return /^([0-9a-f]{64})\.zip$/.exec(key)?.[1];
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
  const hash = assetHashOf(resource) ?? '';
  for (const file of readdirSync(assembly.directory)) {
    if (!file.endsWith('.assets.json')) continue;
    const manifest = JSON.parse(
      readFileSync(resolve(assembly.directory, file), 'utf8'),
    ) as { files?: Record<string, { source?: { path?: string } }> };
    const path = manifest.files?.[hash]?.source?.path;
    if (path) return resolve(assembly.directory, path);
  }
  throw new Error(`asset ${hash} is not in the assembly's asset manifests`);
}

interface QueueProperties {
  VisibilityTimeout?: number | string;
  MessageRetentionPeriod?: number | string;
  DelaySeconds?: number | string;
  RedrivePolicy?: { deadLetterTargetArn: string; maxReceiveCount: number };
}

/** A queue: its name and CreateQueue's attributes (encryption left out). */
function resolveQueue(cfn: CfnResolver, id: string, props: QueueProperties) {
  const names = ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds'];
  const attributes: Record<string, string> = {};
  for (const name of names) {
    const value = props[name as keyof QueueProperties];
    if (value !== undefined) attributes[name] = String(value);
  }
  const redrive = props.RedrivePolicy;
  if (redrive) attributes.RedrivePolicy = JSON.stringify(redrive);
  const url = cfn.physicalId(id);
  return {
    logicalId: id,
    name: url.split('/').pop() as string,
    arn: cfn.attribute(id, 'Arn'),
    attributes,
    redrive,
  };
}

interface RuleProperties {
  Name?: string;
  State?: string;
  EventPattern?: Record<string, unknown> | string;
  ScheduleExpression?: string;
  EventBusName?: string;
  Targets?: {
    Arn: string;
    Input?: string;
    InputPath?: string;
    InputTransformer?: unknown;
  }[];
}

function resolveRule(
  cfn: CfnResolver,
  logicalId: string,
  props: RuleProperties,
  functionArn: string,
) {
  const targets = (props.Targets ?? []).filter((t) => t.Arn === functionArn);
  // Rules invoking something else (the notification topic) are not run.
  const bus = props.EventBusName ?? 'default';
  if (targets.length > 0 && bus !== 'default') {
    throw new Error(`${logicalId}: only the default bus is simulated`);
  }
  if (targets.some((t) => t.InputPath || t.InputTransformer)) {
    throw new Error(`${logicalId}: InputPath/InputTransformer not simulated`);
  }
  const json = (text?: string | object): unknown =>
    typeof text === 'string' ? JSON.parse(text) : text;
  const schedule = props.ScheduleExpression;
  return {
    name: props.Name ?? cfn.physicalId(logicalId),
    enabled: (props.State ?? 'ENABLED') === 'ENABLED',
    eventPattern: json(props.EventPattern) as
      | Record<string, unknown>
      | undefined,
    scheduleExpression: schedule,
    scheduleRateMs: schedule ? parseRate(schedule) : undefined,
    /** Each target's constant input replacing the event (`Input`), if any. */
    targets: targets.map((t) => ({ input: json(t.Input) })),
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
  const match = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression);
  if (!match) throw new Error(`unsupported schedule expression: ${expression}`);
  const value = Number(match[1]);
  if (value < 1 || (value === 1) === (match[3] === 's')) {
    throw new Error(`invalid rate expression: ${expression}`);
  }
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
  return value * unit[match[2] as keyof typeof unit];
}
