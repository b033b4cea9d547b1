import {
  BatchGetBuildBatchesCommand,
  BatchGetBuildsCommand,
  CodeBuildClient,
  InvalidInputException,
  ListBuildBatchesCommand,
  ListBuildBatchesForProjectCommand,
  ResourceNotFoundException,
  RetryBuildBatchCommand,
} from '@aws-sdk/client-codebuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeBuildEmulator } from './codebuild-emulator.js';
import { TEST_CREDENTIALS } from './dynamo.js';

// The emulator is only useful if the real SDK understands it: every test
// here goes through @aws-sdk/client-codebuild over HTTP.
let cb: CodeBuildEmulator;
let client: CodeBuildClient;
let clock = Date.UTC(2026, 10, 20, 9, 0, 0);
let projects = 0;

beforeAll(async () => {
  cb = await CodeBuildEmulator.start({ now: () => clock });
  client = new CodeBuildClient({
    endpoint: cb.endpoint,
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
    maxAttempts: 3,
  });
});
afterAll(() => cb.stop());

function project(): string {
  projects += 1;
  const name = `proj-${projects}`;
  cb.createProject(name, {
    environmentVariables: [
      { name: 'TOKEN', type: 'PLAINTEXT', value: 's3cr3t' },
    ],
  });
  return name;
}

function failedBatch(name: string) {
  const batch = cb.startBatch(name, { groups: ['ok', 'bad'] });
  const [ok, bad] = batch.buildGroups.map(
    (g) => g.currentBuildSummary?.arn as string,
  );
  cb.completeBuild(ok, 'SUCCEEDED');
  cb.completeBuild(bad, 'FAILED');
  clock += 1000;
  cb.settleBatch(batch.arn);
  return batch;
}

describe('CodeBuildEmulator', () => {
  it('serves batches and their child builds in the SDK shape', async () => {
    const batch = failedBatch(project());
    const { buildBatches } = await client.send(
      new BatchGetBuildBatchesCommand({ ids: [batch.id, 'nope:1'] }),
    );
    const [read] = buildBatches ?? [];
    expect(read.buildBatchStatus).toBe('FAILED');
    expect(read.endTime).toBeInstanceOf(Date);
    expect(read.endTime?.getTime()).toBe(clock);
    expect(
      read.buildGroups?.map((g) => g.currentBuildSummary?.buildStatus),
    ).toEqual(['SUCCEEDED', 'FAILED']);
    const child = read.buildGroups?.[1].currentBuildSummary?.arn as string;
    const { builds } = await client.send(
      new BatchGetBuildsCommand({ ids: [child] }),
    );
    expect(builds?.[0]).toMatchObject({
      buildBatchArn: batch.arn,
      buildStatus: 'FAILED',
    });
    expect(builds?.[0].startTime).toBeInstanceOf(Date);
  });

  it('emits documented Build State Change events without a batch ARN', () => {
    const name = project();
    const build = cb.startBuild(name);
    const event = cb.completeBuild(build.arn, 'FAILED');
    expect(event).toMatchObject({
      source: 'aws.codebuild',
      'detail-type': 'CodeBuild Build State Change',
      resources: [build.arn],
      detail: {
        'build-status': 'FAILED',
        'project-name': name,
        'build-id': build.arn,
      },
    });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(JSON.stringify(event)).toContain('s3cr3t');
    expect(JSON.stringify(event)).not.toContain('build-batch');
  });

  it('retries only failed batches, in place, restarting failed groups', async () => {
    const batch = failedBatch(project());
    const { buildBatch } = await client.send(
      new RetryBuildBatchCommand({
        id: batch.id,
        idempotencyToken: 't1',
        retryType: 'RETRY_FAILED_BUILDS',
      }),
    );
    expect(buildBatch).toMatchObject({
      arn: batch.arn,
      buildBatchNumber: batch.buildBatchNumber,
      buildBatchStatus: 'IN_PROGRESS',
      complete: false,
    });
    expect(buildBatch?.endTime).toBeUndefined();
    expect(buildBatch?.phases?.length).toBeGreaterThan(batch.phases.length);
    const [ok, bad] = buildBatch?.buildGroups ?? [];
    expect(ok.priorBuildSummaryList).toEqual([]);
    expect(bad.priorBuildSummaryList?.[0].buildStatus).toBe('FAILED');
    expect(bad.currentBuildSummary?.buildStatus).toBe('IN_PROGRESS');
    await expect(
      client.send(
        new RetryBuildBatchCommand({ id: batch.id, idempotencyToken: 't2' }),
      ),
    ).rejects.toBeInstanceOf(InvalidInputException);
    expect(cb.retryCount(batch.arn)).toBe(1);
  });

  it('restarts every group with RETRY_ALL_BUILDS', async () => {
    const batch = failedBatch(project());
    const { buildBatch } = await client.send(
      new RetryBuildBatchCommand({
        id: batch.arn,
        retryType: 'RETRY_ALL_BUILDS',
      }),
    );
    expect(
      buildBatch?.buildGroups?.every(
        (g) => g.priorBuildSummaryList?.length === 1,
      ),
    ).toBe(true);
  });

  it('replays a token for five minutes and rejects it with other parameters', async () => {
    const batch = failedBatch(project());
    const retry = (retryType: 'RETRY_FAILED_BUILDS' | 'RETRY_ALL_BUILDS') =>
      client.send(
        new RetryBuildBatchCommand({
          id: batch.id,
          idempotencyToken: 'tok',
          retryType,
        }),
      );
    await retry('RETRY_FAILED_BUILDS');
    await retry('RETRY_FAILED_BUILDS');
    expect(cb.retryCount(batch.id)).toBe(1);
    await expect(retry('RETRY_ALL_BUILDS')).rejects.toThrow(
      /different parameters/,
    );
    clock += 5 * 60_000 + 1;
    // The token is forgotten; the batch is running, so it is refused now.
    await expect(retry('RETRY_FAILED_BUILDS')).rejects.toThrow(/Only failed/);
  });

  it('says ResourceNotFound for unknown batches and projects', async () => {
    await expect(
      client.send(new RetryBuildBatchCommand({ id: 'ghost:1' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(
        new ListBuildBatchesForProjectCommand({ projectName: 'ghost' }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('lists failed batches newest first, in pages', async () => {
    const name = project();
    const made = [failedBatch(name), failedBatch(name), failedBatch(name)];
    cb.startBatch(name, { groups: ['x'] });
    const first = await client.send(
      new ListBuildBatchesForProjectCommand({
        projectName: name,
        filter: { status: 'FAILED' },
        maxResults: 2,
      }),
    );
    expect(first.ids).toEqual([made[2].id, made[1].id]);
    const second = await client.send(
      new ListBuildBatchesForProjectCommand({
        projectName: name,
        filter: { status: 'FAILED' },
        maxResults: 2,
        nextToken: first.nextToken,
      }),
    );
    expect(second).toMatchObject({ ids: [made[0].id] });
    expect(second.nextToken).toBeUndefined();
    const all = await client.send(
      new ListBuildBatchesCommand({ sortOrder: 'ASCENDING' }),
    );
    expect(all.ids?.indexOf(made[0].id)).toBeLessThan(
      all.ids?.indexOf(made[2].id) ?? -1,
    );
  });

  it('fails a batch before any child build with no event', () => {
    const before = cb.events.length;
    const batch = cb.failBatchBeforeBuilds(project());
    expect(batch).toMatchObject({
      buildBatchStatus: 'FAILED',
      buildGroups: [],
    });
    expect(cb.events.length).toBe(before);
  });

  it('injects throttling and 5xx that the SDK retries, and gives up after its attempts', async () => {
    const batch = failedBatch(project());
    cb.failNext('BatchGetBuildBatches', 1, 'throttle');
    cb.failNext('BatchGetBuildBatches', 1, 'server-error');
    const ok = await client.send(
      new BatchGetBuildBatchesCommand({ ids: [batch.id] }),
    );
    expect(ok.$metadata.attempts).toBe(3);
    cb.setFaults({ throttleRate: 1, operations: ['BatchGetBuildBatches'] });
    await expect(
      client.send(new BatchGetBuildBatchesCommand({ ids: [batch.id] })),
    ).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    cb.setFaults({});
    expect(cb.throttledCount).toBeGreaterThanOrEqual(4);
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await fetch(cb.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'CodeBuild_20161006.DeleteEverything',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      __type: 'UnknownOperationException',
    });
  });
});
