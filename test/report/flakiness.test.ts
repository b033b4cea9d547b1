import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryStore } from '../../lambda/history-store.js';
import { type Env, main } from '../../report/flakiness.js';
import { type LocalDynamo, startDynamo } from '../../tools/local-aws/dynamo.js';
import { functionEnvironment } from '../../tools/local-aws/environment.js';

// Integration: the CLI in-process, the real DynamoDB client against
// dynalite, the SDK pointed at it by AWS_ENDPOINT_URL_DYNAMODB only.
const UNUSED = 'http://127.0.0.1:9';
const HOUR = 3600_000;
let dynamo: LocalDynamo;
let env: Env;
let now: number;

const arn = (n: number) =>
  `arn:aws:codebuild:eu-west-1:111122223333:build-batch/web-app:b${n}`;

beforeAll(async () => {
  dynamo = await startDynamo();
  env = functionEnvironment({
    codebuild: UNUSED,
    logs: UNUSED,
    events: UNUSED,
    sqs: UNUSED,
    dynamodb: dynamo.endpoint,
  });
  now = Date.now();
  const history = new HistoryStore(dynamo.client, {
    tableName: dynamo.tableName,
    historyDays: 30,
    now: () => now,
  });
  const e2e = [{ identifier: 'e2e', class: 'transient' }];
  const entries = [
    { n: 1, decision: 'retried', ago: 1, delay: 4, outcome: 'healed' },
    { n: 2, decision: 'retried', ago: 2, delay: 8, outcome: 'healed' },
    { n: 3, decision: 'retried', ago: 3, delay: 30, outcome: 'failed-again' },
    { n: 4, decision: 'exhausted', ago: 4 },
    // Ten days ago: outside the default seven.
    { n: 5, decision: 'retried', ago: 240, delay: 1, outcome: 'healed' },
  ] as const;
  for (const e of entries) {
    const failedAt = now - e.ago * HOUR;
    await history.record({
      batchArn: arn(e.n),
      projectName: 'web-app',
      failure: `${new Date(failedAt).toISOString()}/p3`,
      decision: e.decision,
      failedGroups: e2e,
      failedAt,
      ...('delay' in e
        ? { retriedAt: failedAt + e.delay * 1000, outcome: e.outcome }
        : {}),
    });
  }
  await history.record({
    batchArn: 'arn:aws:codebuild:eu-west-1:111122223333:build-batch/api:b1',
    projectName: 'api',
    failure: 'x/p1',
    decision: 'not-retried',
    reason: 'not-retryable',
    failedGroups: [{ identifier: 'build', class: 'configuration' }],
    failedAt: now - HOUR,
  });
  // Budget and idempotency items share the table; big ones, so the scan
  // takes several 1 MB pages.
  const doc = DynamoDBDocumentClient.from(dynamo.client);
  const filler = 'x'.repeat(300_000);
  for (let i = 0; i < 5; i += 1) {
    await doc.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: {
          id: i % 2 ? `batch#${arn(i)}` : `codebuild-batch-retry#${i}`,
          projectName: 'web-app',
          decision: 'retried',
          failedAt: now,
          filler,
        },
      }),
    );
  }
});
afterAll(() => dynamo?.stop());

async function run(argv: string[], environment: Env = env) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, environment, {
    write: (text) => {
      stdout += text;
    },
    error: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

describe('npm run report', () => {
  it('reports the history items of the window as JSON', async () => {
    const scansBefore = scans();
    const { code, stdout, stderr } = await run([
      '--table',
      dynamo.tableName,
      '--json',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(stdout);
    expect(scans() - scansBefore).toBeGreaterThan(1);
    expect(report).toMatchObject({
      table: dynamo.tableName,
      days: 7,
      project: null,
      totals: { failures: 5, retried: 3, healed: 2, exhausted: 1 },
      flakiest: [
        {
          projectName: 'web-app',
          identifier: 'e2e',
          healed: 2,
          retried: 3,
          healRate: 2 / 3,
        },
      ],
    });
    const [webApp, api] = report.projects;
    expect(webApp).toMatchObject({
      projectName: 'web-app',
      failures: 4,
      retried: 3,
      healed: 2,
      failedAgain: 1,
      pending: 0,
      healRate: 2 / 3,
      exhausted: 1,
      failureToRetrySeconds: { count: 3, p50: 8, p95: 30 },
    });
    expect(webApp.groups).toEqual([
      expect.objectContaining({ identifier: 'e2e', failures: 4, healed: 2 }),
    ]);
    expect(api).toMatchObject({
      projectName: 'api',
      failures: 1,
      notRetried: 1,
      notRetriedByClass: { configuration: 1, script: 0 },
      healRate: null,
      failureToRetrySeconds: { count: 0, p50: null, p95: null },
    });
  });

  it('filters on days and project in the scan', async () => {
    const { stdout } = await run([
      '--table',
      dynamo.tableName,
      '--days',
      '30',
      '--project',
      'web-app',
      '--json',
    ]);
    const report = JSON.parse(stdout);
    expect(
      report.projects.map((p: { projectName: string }) => p.projectName),
    ).toEqual(['web-app']);
    expect(report.totals).toMatchObject({ failures: 5, healed: 3 });
    const scan = dynamo.requests.filter((r) => r.operation === 'Scan').at(-1);
    expect(scan?.input.FilterExpression).toContain('#projectName = :project');
  });

  it('renders Markdown tables', async () => {
    const { code, stdout } = await run([
      '--table',
      dynamo.tableName,
      '--markdown',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('## web-app');
    expect(stdout).toContain(
      '| build group | failures | retried | healed | heal rate |',
    );
    expect(stdout).toContain('| e2e | 4 | 3 | 2 | 67% | 1 | 0 | 1 | 8 | 30 |');
    expect(stdout).toContain(
      '| (all) | 1 | 0 | 0 | - | 0 | 1 (configuration 1) | 0 | - | - |',
    );
    expect(stdout).toContain('## Flakiest build groups');
  });

  it('prints a text table by default', async () => {
    const { code, stdout } = await run(['--table', dynamo.tableName]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}e2e +4 +3 +2 +67% +1 +0 +1 +8 +30$/m);
  });

  it('finds the table in the stack outputs', async () => {
    const stub = await cloudFormationStub(dynamo.tableName);
    try {
      const withStack = {
        ...env,
        AWS_ENDPOINT_URL_CLOUDFORMATION: stub.endpoint,
      };
      const found = await run(['--stack', 'Retry', '--json'], withStack);
      expect(found.code).toBe(0);
      expect(JSON.parse(found.stdout).table).toBe(dynamo.tableName);
      expect(stub.bodies[0]).toContain('Action=DescribeStacks');
      expect(stub.bodies[0]).toContain('StackName=Retry');
      const missing = await run(['--stack', 'Nope'], withStack);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('stack Nope: Stack with id Nope');
    } finally {
      await stub.close();
    }
  });

  it('names a bad option and exits 2', async () => {
    for (const [argv, message] of [
      [['--tabel', 'x'], "Unknown option '--tabel'"],
      [['--table', 'x', '--days', 'week'], '--days must be'],
      [['--table', 'x', '--stack', 'y'], '--table and --stack'],
      [['--table', 'x', '--json', '--markdown'], '--json and --markdown'],
      [['--table'], "Option '--table <value>' argument missing"],
    ] as const) {
      const { code, stdout, stderr } = await run([...argv]);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toContain(message);
    }
  });

  it('fails with the table named when it does not exist', async () => {
    const { code, stderr } = await run(['--table', 'no-such-table']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^report: table no-such-table: /);
  });
});

function scans(): number {
  return dynamo.requests.filter((r) => r.operation === 'Scan').length;
}

/** DescribeStacks (query protocol) knowing one stack, `Retry`. */
async function cloudFormationStub(tableName: string) {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
      res.setHeader('content-type', 'text/xml');
      if (!body.includes('StackName=Retry')) {
        res.statusCode = 400;
        res.end(
          `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id Nope does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
        return;
      }
      res.end(
        `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks><member><StackName>Retry</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>FunctionName</OutputKey><OutputValue>fn</OutputValue></member><member><OutputKey>TableName</OutputKey><OutputValue>${tableName}</OutputValue></member></Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
