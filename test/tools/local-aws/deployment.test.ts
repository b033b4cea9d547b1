import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_STATE_CHANGE, TABLE } from '../../../lambda/contract.js';
import { ParameterError } from '../../../tools/local-aws/cfn.js';
import {
  parseRate,
  resolveDeployment,
} from '../../../tools/local-aws/deployment.js';
import {
  createTable,
  type LocalDynamo,
  startDynamo,
} from '../../../tools/local-aws/dynamo.js';
import {
  type Assembly,
  serviceTable,
  synthesize,
} from '../../../tools/local-aws/synth.js';

// What the simulation reads from the synthesized template, with parameters
// resolved as CloudFormation would.

let assembly: Assembly;
let dynamo: LocalDynamo;

beforeAll(async () => {
  [assembly, dynamo] = await Promise.all([
    synthesize('test-deployment'),
    startDynamo({ tables: [] }),
  ]);
});
afterAll(() => dynamo.stop());

describe('resolveDeployment', () => {
  it('finds the bundled function and its settings', () => {
    const { fn } = resolveDeployment(assembly);
    expect(fn.handler).toBe('index.handler');
    expect(fn.runtime).toMatch(/^nodejs(22|24)\.x$/);
    expect(fn.timeoutSeconds).toBeGreaterThan(0);
    expect(existsSync(join(fn.codeDirectory, 'index.mjs'))).toBe(true);
    expect(fn.reservedConcurrency).toBeUndefined();
  });

  it('resolves the environment from parameters and references', () => {
    const d = resolveDeployment(assembly, {
      parameters: {
        MaxRetries: '4',
        DryRun: 'true',
        ProjectNames: 'web-app,api',
        LogLevel: 'DEBUG',
      },
    });
    expect(d.fn.environment).toMatchObject({
      TABLE_NAME: d.table.name,
      MAX_RETRIES: '4',
      DRY_RUN: 'true',
      PROJECT_NAMES: 'web-app,api',
      RETRY_TYPE: 'RETRY_FAILED_BUILDS',
      LOOKBACK_HOURS: '24',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    for (const value of Object.values(d.fn.environment)) {
      expect(value).not.toMatch(/Ref|Fn::|\[object/);
    }
  });

  it('narrows the rule pattern to ProjectNames through the Fn::If', () => {
    const all = resolveDeployment(assembly);
    const scoped = resolveDeployment(assembly, {
      parameters: { ProjectNames: 'web-app,api' },
    });
    const pattern = (d: typeof all) =>
      d.rules.find((r) => r.eventPattern)?.eventPattern as {
        detail: Record<string, unknown>;
      };
    expect(pattern(all)).toMatchObject({
      source: ['aws.codebuild'],
      'detail-type': [BUILD_STATE_CHANGE],
    });
    expect(pattern(all).detail['project-name']).toBeUndefined();
    expect(pattern(scoped).detail['project-name']).toEqual(['web-app', 'api']);
  });

  it('reads the schedule, its constant input and the async settings', () => {
    const d = resolveDeployment(assembly);
    const sweep = d.rules.find((r) => r.scheduleExpression);
    expect(sweep?.scheduleRateMs).toBe(5 * 60_000);
    expect(sweep?.targets[0]?.input).toEqual({ kind: 'sweep' });
    expect(
      resolveDeployment(assembly, {
        parameters: { SweepIntervalMinutes: '1' },
      }).rules.find((r) => r.scheduleExpression)?.scheduleExpression,
    ).toBe('rate(1 minute)');
    expect(d.asyncInvoke.maximumRetryAttempts).toBeGreaterThanOrEqual(0);
    expect(d.asyncInvoke.maximumEventAgeSeconds).toBeGreaterThan(0);
  });

  it('reserves concurrency only when ReservedConcurrency is above 0', () => {
    expect(
      resolveDeployment(assembly, {
        parameters: { ReservedConcurrency: '3' },
      }).fn.reservedConcurrency,
    ).toBe(3);
  });

  it('refuses parameter values CloudFormation would refuse', () => {
    expect(() =>
      resolveDeployment(assembly, { parameters: { MaxRetries: '11' } }),
    ).toThrow(ParameterError);
    expect(() =>
      resolveDeployment(assembly, { parameters: { DryRun: 'maybe' } }),
    ).toThrow(ParameterError);
  });

  it("creates the template's table on dynalite", async () => {
    const { table } = resolveDeployment(assembly, { stackName: 'TableTest' });
    await createTable(dynamo.client, table);
    const { TableNames } = await dynamo.client.send(new ListTablesCommand({}));
    expect(TableNames).toContain(table.name);
    const { Table } = await dynamo.client.send(
      new DescribeTableCommand({ TableName: table.name }),
    );
    expect(Table?.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
    ]);
    expect(Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual([
      TABLE.watchIndex,
    ]);
  });

  it('serves the table of the bundled template, synthesized without bundling', async () => {
    const { table } = resolveDeployment(assembly);
    expect(await serviceTable()).toEqual(table);
    const started = await startDynamo();
    try {
      expect(started.tableName).toBe(table.name);
      expect(await started.scan()).toEqual([]);
    } finally {
      await started.stop();
    }
  });
});

describe('parseRate', () => {
  it('reads EventBridge rate expressions', () => {
    expect(parseRate('rate(1 minute)')).toBe(60_000);
    expect(parseRate('rate(5 minutes)')).toBe(300_000);
    expect(parseRate('rate(2 hours)')).toBe(7_200_000);
  });

  it('rejects what EventBridge rejects, and cron', () => {
    expect(() => parseRate('rate(1 minutes)')).toThrow();
    expect(() => parseRate('rate(5 minute)')).toThrow();
    expect(() => parseRate('cron(0 12 * * ? *)')).toThrow();
  });
});
