import {
  BatchGetBuildBatchesCommand,
  BatchGetBuildsCommand,
  type BuildBatch,
  CodeBuildClient,
  InvalidInputException,
  ListBuildBatchesCommand,
  ListBuildBatchesForProjectCommand,
  ResourceNotFoundException,
  RetryBuildBatchCommand,
  type RetryBuildBatchType,
} from '@aws-sdk/client-codebuild';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import { BUILD_STATE_CHANGE } from '../../../../lambda/contract.js';
import {
  type BatchSnapshot,
  CodeBuildEmulator,
  TOKEN_WINDOW_MS,
} from '../../../../tools/local-aws/codebuild/emulator.js';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';
import {
  createSecretProject,
  eventFixture,
  FIXTURE_SECRET,
} from '../../../support/fixtures.js';

// Every API assertion goes through the real @aws-sdk/client-codebuild over
// HTTP: the emulator is only useful if the SDK parses what it sends.

const SECRET = FIXTURE_SECRET;
// biome-ignore lint/suspicious/noExplicitAny: the fixture's JSON, walked by path
const fixture: any = eventFixture('build-state-failed.json');

/** A fixed emulator clock with milliseconds, so seconds go out fractional. */
const T0 = Date.UTC(2026, 10, 20, 9, 32, 15, 250);
let clock = T0;
let cb: CodeBuildEmulator;
let client: CodeBuildClient;

beforeAll(async () => {
  cb = await CodeBuildEmulator.start({ now: () => clock });
  client = newClient();
});
afterAll(async () => {
  client.destroy();
  await cb.stop();
});
afterEach(() => cb.setFaults({}));

function newClient(maxAttempts = 3, endpoint = cb.endpoint) {
  return new CodeBuildClient({
    region: REGION,
    endpoint,
    credentials: CREDENTIALS,
    maxAttempts,
  });
}

const newProject = () => createSecretProject(cb);

function childArns(batchArn: string): string[] {
  return cb
    .getBatch(batchArn)
    .buildGroups.map((g) => g.currentBuildSummary?.arn as string);
}

/** A settled FAILED batch: group `ok` succeeded, group `bad` failed. */
function failedBatch(project: string): BatchSnapshot {
  const batch = cb.startBatch(project, { groups: ['ok', 'bad'] });
  const [ok, bad] = childArns(batch.arn);
  cb.completeBuild(ok, 'SUCCEEDED');
  cb.completeBuild(bad, 'FAILED');
  return cb.settleBatch(batch.arn);
}

/** Fails every running child of the batch and settles it again. */
function failAgain(batchArn: string): void {
  for (const build of cb.currentBuilds(batchArn)) {
    if (build.buildStatus === 'IN_PROGRESS') {
      cb.completeBuild(build.arn, 'FAILED');
    }
  }
  cb.settleBatch(batchArn);
}

async function readBatch(id: string): Promise<BuildBatch> {
  const { buildBatches } = await client.send(
    new BatchGetBuildBatchesCommand({ ids: [id] }),
  );
  expect(buildBatches).toHaveLength(1);
  return buildBatches?.[0] as BuildBatch;
}

const retry = (
  id: string,
  retryType?: RetryBuildBatchType,
  idempotencyToken?: string,
) =>
  client.send(new RetryBuildBatchCommand({ id, retryType, idempotencyToken }));

type SdkError = Error & {
  $metadata: { attempts?: number; httpStatusCode?: number };
};

async function rejection(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail');
}

/**
 * The SDK's standard retry strategy waits `Math.random() * base * 2^n`
 * (base 1 s for throttling, 50 ms otherwise). Fixing the jitter near zero
 * keeps these tests fast without replacing the strategy.
 */
async function withFastBackoff<T>(run: () => Promise<T>): Promise<T> {
  const random = vi.spyOn(Math, 'random').mockReturnValue(0.001);
  try {
    return await run();
  } finally {
    random.mockRestore();
  }
}

describe('batches', () => {
  it('serves a running batch and its child builds in the SDK shapes', async () => {
    const project = newProject();
    const first = cb.startBatch(project, { groups: ['unit', 'lint'] });
    const second = cb.startBatch(project, { groups: ['unit'] });
    expect([first.buildBatchNumber, second.buildBatchNumber]).toEqual([1, 2]);
    expect(first.id).toMatch(new RegExp(`^${project}:[0-9a-f-]{36}$`));
    expect(first.arn).toBe(
      `arn:aws:codebuild:${REGION}:${ACCOUNT}:build-batch/${first.id}`,
    );

    const { buildBatches, buildBatchesNotFound } = await client.send(
      new BatchGetBuildBatchesCommand({
        ids: [first.id, second.arn, `${project}:missing`],
      }),
    );
    expect(buildBatchesNotFound).toEqual([`${project}:missing`]);
    expect(buildBatches?.map((b) => b.id)).toEqual([first.id, second.id]);
    const read = buildBatches?.[0] as BuildBatch;
    expect(read).toMatchObject({
      arn: first.arn,
      projectName: project,
      buildBatchNumber: 1,
      buildBatchStatus: 'IN_PROGRESS',
      currentPhase: 'IN_PROGRESS',
      complete: false,
    });
    expect(read.startTime).toBeInstanceOf(Date);
    expect(read.startTime?.getTime()).toBe(clock);
    expect(read.endTime).toBeUndefined();
    expect(read.phases?.map((p) => [p.phaseType, p.phaseStatus])).toEqual([
      ['SUBMITTED', 'SUCCEEDED'],
      ['DOWNLOAD_BATCHSPEC', 'SUCCEEDED'],
      ['IN_PROGRESS', undefined],
    ]);
    const [unit, lint] = read.buildGroups ?? [];
    expect(unit).toMatchObject({
      identifier: 'unit',
      ignoreFailure: false,
      currentBuildSummary: { buildStatus: 'IN_PROGRESS' },
      priorBuildSummaryList: [],
    });
    expect(lint.identifier).toBe('lint');
    expect(unit.currentBuildSummary?.requestedOn).toBeInstanceOf(Date);

    const childArn = unit.currentBuildSummary?.arn as string;
    expect(childArn).toMatch(
      new RegExp(
        `^arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${project}:[0-9a-f-]{36}$`,
      ),
    );
    const childId = childArn.split('build/')[1];
    const { builds, buildsNotFound } = await client.send(
      new BatchGetBuildsCommand({
        ids: [childArn, childId, `${project}:nope`],
      }),
    );
    expect(buildsNotFound).toEqual([`${project}:nope`]);
    expect(builds).toHaveLength(2);
    expect(builds?.[0]).toMatchObject({
      id: childId,
      arn: childArn,
      buildBatchArn: first.arn,
      projectName: project,
      buildStatus: 'IN_PROGRESS',
      currentPhase: 'BUILD',
      buildComplete: false,
      environment: {
        environmentVariables: [
          { name: 'STAGE', type: 'PLAINTEXT', value: 'test' },
          { name: 'NPM_TOKEN', type: 'PLAINTEXT', value: SECRET },
        ],
      },
    });
    expect(builds?.[0].startTime).toEqual(new Date(clock));
    expect(builds?.[0].endTime).toBeUndefined();
  });

  it('stays IN_PROGRESS after its children end, until it settles', async () => {
    const project = newProject();
    const batch = cb.startBatch(project, { groups: ['ok', 'bad'] });
    const [ok, bad] = childArns(batch.arn);
    clock += 60_000;
    cb.completeBuild(ok, 'SUCCEEDED');
    cb.completeBuild(bad, 'FAILED');
    expect(cb.getBatch(batch.id).buildBatchStatus).toBe('IN_PROGRESS');
    const running = await readBatch(batch.id);
    expect(running.buildBatchStatus).toBe('IN_PROGRESS');
    expect(
      running.buildGroups?.map((g) => g.currentBuildSummary?.buildStatus),
    ).toEqual(['SUCCEEDED', 'FAILED']);

    clock += 5_000;
    const settled = cb.settleBatch(batch.arn);
    expect(settled.buildBatchStatus).toBe('FAILED');
    const read = await readBatch(batch.arn);
    expect(read).toMatchObject({
      buildBatchStatus: 'FAILED',
      currentPhase: 'FAILED',
      complete: true,
    });
    expect(read.endTime).toEqual(new Date(clock));
    expect(read.phases?.slice(-2)).toMatchObject([
      {
        phaseType: 'IN_PROGRESS',
        phaseStatus: 'FAILED',
        durationInSeconds: 65,
      },
      { phaseType: 'FAILED' },
    ]);

    const { builds } = await client.send(
      new BatchGetBuildsCommand({ ids: [bad] }),
    );
    const child = builds?.[0];
    expect(child).toMatchObject({
      buildStatus: 'FAILED',
      currentPhase: 'COMPLETED',
      buildComplete: true,
      buildBatchArn: batch.arn,
    });
    expect(child?.endTime).toEqual(new Date(clock - 5_000));
    expect(child?.phases?.find((p) => p.phaseType === 'BUILD')).toMatchObject({
      phaseStatus: 'FAILED',
      durationInSeconds: 60,
      contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR' }],
    });
  });

  it('fails when any group failed, succeeds when all did, or takes the given status', () => {
    const project = newProject();
    const mixed = cb.startBatch(project, { groups: ['unit', 'flaky'] });
    const [unit, flaky] = childArns(mixed.arn);
    cb.completeBuild(unit, 'SUCCEEDED');
    cb.completeBuild(flaky, 'TIMED_OUT');
    expect(cb.settleBatch(mixed.arn).buildBatchStatus).toBe('FAILED');

    const green = cb.startBatch(project, { groups: ['unit'] });
    cb.completeBuild(childArns(green.arn)[0], 'SUCCEEDED');
    expect(cb.settleBatch(green.arn).buildBatchStatus).toBe('SUCCEEDED');

    const strict = cb.startBatch(project, { groups: ['unit'] });
    cb.completeBuild(childArns(strict.arn)[0], 'FAULT');
    const stopped = cb.settleBatch(strict.arn, { status: 'STOPPED' });
    expect(stopped).toMatchObject({
      buildBatchStatus: 'STOPPED',
      currentPhase: 'STOPPED',
    });
    expect(() => cb.settleBatch(strict.arn)).toThrow(/already settled/);
  });

  it('refuses to settle while children run, unless forced to stop them', () => {
    const project = newProject();
    const batch = cb.startBatch(project, { groups: ['a', 'b'] });
    const [a, b] = childArns(batch.arn);
    cb.completeBuild(a, 'FAILED');
    expect(() => cb.settleBatch(batch.arn)).toThrow(/still has running/);

    const before = cb.events.length;
    const settled = cb.settleBatch(batch.arn, { force: true });
    expect(settled.buildBatchStatus).toBe('FAILED');
    expect(cb.getBuild(b).buildStatus).toBe('STOPPED');
    expect(
      cb.events.slice(before).map((e) => e.detail['build-status']),
    ).toEqual(['STOPPED']);
    expect(() => cb.completeBuild(b, 'SUCCEEDED')).toThrow(/already ended/);
  });

  it('fails a batch before any child build exists, without an event', async () => {
    const project = newProject();
    const before = cb.events.length;
    const batch = cb.failBatchBeforeBuilds(project);
    expect(cb.events).toHaveLength(before);

    const read = await readBatch(batch.id);
    expect(read).toMatchObject({
      buildBatchStatus: 'FAILED',
      complete: true,
      buildGroups: [],
      buildBatchNumber: 1,
    });
    expect(read.endTime).toEqual(new Date(clock));
    expect(read.phases?.map((p) => [p.phaseType, p.phaseStatus])).toEqual([
      ['SUBMITTED', 'SUCCEEDED'],
      ['DOWNLOAD_BATCHSPEC', 'FAILED'],
      ['FAILED', undefined],
    ]);

    // Retried, it runs again; the test decides what its buildspec yields.
    const { buildBatch } = await retry(batch.id);
    expect(buildBatch).toMatchObject({
      buildBatchStatus: 'IN_PROGRESS',
      buildGroups: [],
    });
    cb.startGroups(batch.arn, ['unit']);
    const [unit] = cb.currentBuilds(batch.arn);
    expect(unit.buildBatchArn).toBe(batch.arn);
    cb.completeBuild(unit.arn, 'SUCCEEDED');
    expect(cb.settleBatch(batch.arn).buildBatchStatus).toBe('SUCCEEDED');
    expect(cb.retryCount(batch.arn)).toBe(1);
  });
  it('rejects misuse of the model loudly, leaving no half-made batch', () => {
    const project = newProject();
    expect(() => cb.createProject(project)).toThrow(/already exists/);
    expect(() => cb.createProject('x')).toThrow(/Invalid project name/);
    expect(() => cb.startBatch('no-such-project', { groups: ['a'] })).toThrow(
      /Unknown project/,
    );
    const before = cb.listBatches().length;
    expect(() => cb.startBatch(project, { groups: ['a', 'a'] })).toThrow(
      /Duplicate build group/,
    );
    expect(() => cb.startBatch(project, { groups: [] })).toThrow(
      /at least one group/,
    );
    expect(cb.listBatches()).toHaveLength(before);
    expect(() => cb.completeBuild(`${project}:nope`, 'FAILED')).toThrow(
      /Unknown build/,
    );
    expect(() => cb.getBatch(`${project}:nope`)).toThrow(/Unknown batch/);

    const batch = cb.startBatch(project, { groups: ['a'] });
    expect(cb.listBatches().at(-1)?.id).toBe(batch.id);
    // Snapshots are copies.
    batch.buildGroups.length = 0;
    expect(cb.getBatch(batch.id).buildGroups).toHaveLength(1);
  });
});

describe('RetryBuildBatch', () => {
  it('retries only FAILED batches', async () => {
    const project = newProject();
    const running = cb.startBatch(project, { groups: ['a'] });
    const error = await rejection(retry(running.id));
    expect(error).toBeInstanceOf(InvalidInputException);
    expect(error.name).toBe('InvalidInputException');
    expect(error.message).toMatch(/Only failed batch builds can be retried/);
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });

    cb.completeBuild(childArns(running.arn)[0], 'SUCCEEDED');
    cb.settleBatch(running.arn);
    await expect(retry(running.id)).rejects.toBeInstanceOf(
      InvalidInputException,
    );
    const stopped = cb.startBatch(project, { groups: ['a'] });
    cb.settleBatch(stopped.arn, { force: true, status: 'STOPPED' });
    await expect(retry(stopped.id)).rejects.toThrow(/Only failed/);
    expect(cb.retryCount(running.arn) + cb.retryCount(stopped.arn)).toBe(0);
  });

  it('answers ResourceNotFoundException for an unknown batch', async () => {
    const project = newProject();
    const error = await rejection(retry(`${project}:does-not-exist`));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.name).toBe('ResourceNotFoundException');
    await expect(
      retry(
        `arn:aws:codebuild:${REGION}:${ACCOUNT}:build-batch/${project}:nope`,
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('retries in place, restarting only failed groups with RETRY_FAILED_BUILDS', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    const [okArn, badArn] = childArns(batch.arn);
    const eventsBefore = cb.events.length;
    clock += 30_000;

    const { buildBatch } = await retry(batch.id, 'RETRY_FAILED_BUILDS');

    expect(buildBatch).toMatchObject({
      id: batch.id,
      arn: batch.arn,
      buildBatchNumber: batch.buildBatchNumber,
      buildBatchStatus: 'IN_PROGRESS',
      currentPhase: 'IN_PROGRESS',
      complete: false,
    });
    expect(buildBatch?.startTime).toEqual(batch.startTime);
    expect(buildBatch?.endTime).toBeUndefined();
    expect(buildBatch?.phases).toHaveLength(batch.phases.length + 1);
    expect(buildBatch?.phases?.at(-1)).toMatchObject({
      phaseType: 'IN_PROGRESS',
    });
    expect(buildBatch?.phases?.at(-1)?.phaseStatus).toBeUndefined();
    const [ok, bad] = buildBatch?.buildGroups ?? [];
    expect(ok.currentBuildSummary?.arn).toBe(okArn);
    expect(ok.priorBuildSummaryList).toEqual([]);
    expect(bad.priorBuildSummaryList).toHaveLength(1);
    expect(bad.priorBuildSummaryList?.[0]).toMatchObject({
      arn: badArn,
      buildStatus: 'FAILED',
    });
    const newArn = bad.currentBuildSummary?.arn as string;
    expect(newArn).not.toBe(badArn);
    expect(bad.currentBuildSummary).toMatchObject({
      buildStatus: 'IN_PROGRESS',
      requestedOn: new Date(clock),
    });

    const { builds } = await client.send(
      new BatchGetBuildsCommand({ ids: [newArn, badArn] }),
    );
    expect(builds?.map((b) => [b.buildStatus, b.buildBatchArn])).toEqual([
      ['IN_PROGRESS', batch.arn],
      ['FAILED', batch.arn],
    ]);
    expect(cb.retryCount(batch.arn)).toBe(1);
    expect(cb.events).toHaveLength(eventsBefore);
  });

  it('restarts every group with RETRY_ALL_BUILDS, the default, and keeps all prior summaries', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    const first = await retry(batch.arn);
    expect(
      first.buildBatch?.buildGroups?.map((g) => [
        g.currentBuildSummary?.buildStatus,
        g.priorBuildSummaryList?.map((s) => s.buildStatus),
      ]),
    ).toEqual([
      ['IN_PROGRESS', ['SUCCEEDED']],
      ['IN_PROGRESS', ['FAILED']],
    ]);

    failAgain(batch.arn);
    const second = await retry(batch.id, 'RETRY_ALL_BUILDS');
    expect(
      second.buildBatch?.buildGroups?.map((g) => g.priorBuildSummaryList),
    ).toMatchObject([
      [{ buildStatus: 'SUCCEEDED' }, { buildStatus: 'FAILED' }],
      [{ buildStatus: 'FAILED' }, { buildStatus: 'FAILED' }],
    ]);
    expect(second.buildBatch?.phases?.length).toBe(batch.phases.length + 3);
    expect(cb.retryCount(batch.id)).toBe(2);
  });

  it('replays a token within five minutes without retrying again', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    await retry(batch.id, 'RETRY_FAILED_BUILDS', 'token-1');

    const replay = await retry(batch.id, 'RETRY_FAILED_BUILDS', 'token-1');
    expect(replay.buildBatch?.buildBatchStatus).toBe('IN_PROGRESS');
    expect(cb.retryCount(batch.arn)).toBe(1);

    // Even after the batch failed again, the token still names that retry.
    failAgain(batch.arn);
    clock += TOKEN_WINDOW_MS - 1;
    const late = await retry(batch.id, 'RETRY_FAILED_BUILDS', 'token-1');
    expect(late.buildBatch?.buildBatchStatus).toBe('FAILED');
    expect(cb.retryCount(batch.arn)).toBe(1);

    // A new token is a new retry.
    await retry(batch.id, 'RETRY_FAILED_BUILDS', 'token-2');
    expect(cb.retryCount(batch.arn)).toBe(2);
  });

  it('rejects a token reused with other parameters', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    const other = failedBatch(project);
    await retry(batch.id, 'RETRY_FAILED_BUILDS', 'shared');

    const changedType = await rejection(
      retry(batch.id, 'RETRY_ALL_BUILDS', 'shared'),
    );
    expect(changedType).toBeInstanceOf(InvalidInputException);
    expect(changedType.message).toMatch(/parameter mismatch/);
    const changedId = await rejection(
      retry(other.id, 'RETRY_FAILED_BUILDS', 'shared'),
    );
    expect(changedId).toBeInstanceOf(InvalidInputException);
    expect(changedId.message).toMatch(/parameter mismatch/);
    expect(cb.retryCount(other.arn)).toBe(0);
    expect(cb.getBatch(other.arn).buildBatchStatus).toBe('FAILED');
  });

  it('forgets a token after five minutes', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    await retry(batch.id, 'RETRY_FAILED_BUILDS', 'expiring');
    failAgain(batch.arn);

    clock += TOKEN_WINDOW_MS;
    const { buildBatch } = await retry(
      batch.id,
      'RETRY_ALL_BUILDS',
      'expiring',
    );
    expect(buildBatch?.buildBatchStatus).toBe('IN_PROGRESS');
    expect(cb.retryCount(batch.arn)).toBe(2);
  });

  it('validates its input', async () => {
    const project = newProject();
    const batch = failedBatch(project);
    await expect(
      retry(batch.id, 'RETRY_SOME' as RetryBuildBatchType),
    ).rejects.toBeInstanceOf(InvalidInputException);
    await expect(
      client.send(new RetryBuildBatchCommand({})),
    ).rejects.toBeInstanceOf(InvalidInputException);
    expect(cb.retryCount(batch.arn)).toBe(0);
  });
});

describe('standalone builds', () => {
  it('have no batch ARN and emit their own events', async () => {
    const project = newProject();
    const first = cb.startBuild(project);
    const second = cb.startBuild(project);
    expect([first.buildNumber, second.buildNumber]).toEqual([1, 2]);
    const event = cb.completeBuild(first.arn, 'FAILED');
    expect(event.detail['build-id']).toBe(first.arn);

    const { builds } = await client.send(
      new BatchGetBuildsCommand({ ids: [first.id, second.arn] }),
    );
    expect(builds?.map((b) => b.buildStatus)).toEqual([
      'FAILED',
      'IN_PROGRESS',
    ]);
    for (const build of builds ?? []) {
      expect(build.projectName).toBe(project);
      expect(build).not.toHaveProperty('buildBatchArn');
    }
  });
});

describe('listing batches', () => {
  it('orders by creation time, newest first unless ASCENDING', async () => {
    const project = newProject();
    const middle = cb.startBatch(project, { groups: ['a'] });
    clock -= 3_600_000;
    const oldest = cb.startBatch(project, { groups: ['a'] });
    clock += 7_200_000;
    const newest = cb.startBatch(project, { groups: ['a'] });

    const descending = await client.send(
      new ListBuildBatchesForProjectCommand({ projectName: project }),
    );
    expect(descending.ids).toEqual([newest.id, middle.id, oldest.id]);
    expect(descending.nextToken).toBeUndefined();
    const ascending = await client.send(
      new ListBuildBatchesForProjectCommand({
        projectName: project,
        sortOrder: 'ASCENDING',
      }),
    );
    expect(ascending.ids).toEqual([oldest.id, middle.id, newest.id]);

    const everywhere = await client.send(new ListBuildBatchesCommand({}));
    const mine = (everywhere.ids ?? []).filter((id) =>
      id.startsWith(`${project}:`),
    );
    expect(mine).toEqual([newest.id, middle.id, oldest.id]);
    expect(everywhere.ids?.[0]).toBe(newest.id);
  });

  it('filters by status and pages with nextToken', async () => {
    const project = newProject();
    const failed: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock += 1_000;
      failed.push(failedBatch(project).id);
    }
    cb.startBatch(project, { groups: ['running'] });
    const ok = cb.startBatch(project, { groups: ['a'] });
    cb.completeBuild(childArns(ok.arn)[0], 'SUCCEEDED');
    cb.settleBatch(ok.arn);

    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListBuildBatchesForProjectCommand({
          projectName: project,
          filter: { status: 'FAILED' },
          maxResults: 2,
          nextToken,
        }),
      );
      pages.push(page.ids ?? []);
      nextToken = page.nextToken;
      // A batch failing while we page must not shift or repeat the pages.
      if (pages.length === 1) failedBatch(project);
    } while (nextToken && pages.length < 10);

    expect(pages).toEqual([
      [failed[4], failed[3]],
      [failed[2], failed[1]],
      [failed[0]],
    ]);
    const succeeded = await client.send(
      new ListBuildBatchesForProjectCommand({
        projectName: project,
        filter: { status: 'SUCCEEDED' },
      }),
    );
    expect(succeeded.ids).toEqual([ok.id]);
  });

  it('lists FAILED batches across projects with ListBuildBatches', async () => {
    const a = failedBatch(newProject());
    const b = failedBatch(newProject());
    const c = cb.startBatch(newProject(), { groups: ['x'] });
    const { ids } = await client.send(
      new ListBuildBatchesCommand({ filter: { status: 'FAILED' } }),
    );
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids).not.toContain(c.id);
  });

  it('rejects an unknown project, a bad maxResults and a bad nextToken', async () => {
    const project = newProject();
    const missing = await rejection(
      client.send(
        new ListBuildBatchesForProjectCommand({ projectName: 'ghost-project' }),
      ),
    );
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    for (const maxResults of [0, 101]) {
      await expect(
        client.send(new ListBuildBatchesCommand({ maxResults })),
      ).rejects.toBeInstanceOf(InvalidInputException);
    }
    await expect(
      client.send(
        new ListBuildBatchesForProjectCommand({
          projectName: project,
          nextToken: 'not-a-token',
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidInputException);
  });

  it('takes 1 to 100 ids in the batch reads', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `ghost:${i}`);
    const hundred = await client.send(new BatchGetBuildsCommand({ ids }));
    expect(hundred.buildsNotFound).toHaveLength(100);
    await expect(
      client.send(new BatchGetBuildsCommand({ ids: [...ids, 'ghost:100'] })),
    ).rejects.toBeInstanceOf(InvalidInputException);
    await expect(
      client.send(
        new BatchGetBuildBatchesCommand({ ids: [...ids, 'ghost:100'] }),
      ),
    ).rejects.toBeInstanceOf(InvalidInputException);
    await expect(
      client.send(new BatchGetBuildBatchesCommand({ ids: [] })),
    ).rejects.toBeInstanceOf(InvalidInputException);
  });
});

describe('faults', () => {
  it('throttles, and the SDK retries ThrottlingException', async () => {
    const batch = failedBatch(newProject());
    cb.resetLog();
    cb.failNext('BatchGetBuildBatches', 2, 'throttle');

    const out = await withFastBackoff(() =>
      client.send(new BatchGetBuildBatchesCommand({ ids: [batch.id] })),
    );

    expect(out.$metadata.attempts).toBe(3);
    expect(out.buildBatches?.[0].id).toBe(batch.id);
    expect(cb.throttledCount).toBe(2);
    expect(cb.requests.map((r) => [r.status, r.errorType])).toEqual([
      [400, 'ThrottlingException'],
      [400, 'ThrottlingException'],
      [200, undefined],
    ]);
  });

  it('answers 5xx, and the SDK retries them', async () => {
    const batch = failedBatch(newProject());
    cb.resetLog();
    cb.failNext('RetryBuildBatch', 1, 'server-error');
    cb.failNext('RetryBuildBatch', 1, {
      type: 'ServiceUnavailable',
      status: 503,
    });

    const out = await withFastBackoff(() => retry(batch.id));

    expect(out.$metadata.attempts).toBe(3);
    expect(cb.throttledCount).toBe(0);
    expect(cb.requests.map((r) => [r.status, r.errorType])).toEqual([
      [500, 'InternalFailure'],
      [503, 'ServiceUnavailable'],
      [200, undefined],
    ]);
    expect(cb.retryCount(batch.arn)).toBe(1);
  });

  it('gives up after maxAttempts with the ThrottlingException', async () => {
    const project = newProject();
    const twice = newClient(2);
    cb.setFaults({ throttleRate: 1, operations: ['ListBuildBatches'] });
    try {
      const error = await withFastBackoff(() =>
        rejection(twice.send(new ListBuildBatchesCommand({}))),
      );
      expect(error.name).toBe('ThrottlingException');
      expect(error.message).toBe('Rate exceeded');
      expect(error.$metadata).toMatchObject({
        attempts: 2,
        httpStatusCode: 400,
      });
      // Other operations are not affected.
      const other = await twice.send(
        new ListBuildBatchesForProjectCommand({ projectName: project }),
      );
      expect(other.$metadata.attempts).toBe(1);
    } finally {
      twice.destroy();
    }
  });

  it('injects modeled errors the SDK does not retry', async () => {
    const batch = failedBatch(newProject());
    cb.failNext('*', 1, {
      type: 'InvalidInputException',
      status: 400,
      message: 'Only failed batch builds can be retried',
    });
    const error = await rejection(retry(batch.id));
    expect(error).toBeInstanceOf(InvalidInputException);
    expect(error.$metadata.attempts).toBe(1);
    expect(cb.retryCount(batch.arn)).toBe(0);
    expect((await retry(batch.id)).$metadata.attempts).toBe(1);
  });

  it('draws random faults from the injected source of randomness', async () => {
    const batch = failedBatch(newProject());
    const draws = [0.05, 0.3, 0.9];
    cb.setFaults({
      throttleRate: 0.1,
      serverErrorRate: 0.4,
      random: () => draws.shift() ?? 0.99,
    });
    cb.resetLog();
    const out = await withFastBackoff(() => readBatch(batch.id));
    expect(out.id).toBe(batch.id);
    expect(cb.requests.map((r) => r.status)).toEqual([400, 500, 200]);
    expect(cb.throttledCount).toBe(1);
  });

  it('delays the listed operations by latencyMs, showing them as arrived meanwhile', async () => {
    const project = newProject();
    cb.setFaults({ latencyMs: 200, operations: ['ListBuildBatches'] });
    cb.resetLog();
    const started = Date.now();
    const slow = client.send(new ListBuildBatchesCommand({}));
    await vi.waitFor(() => expect(cb.arrivals).toHaveLength(1), {
      timeout: 1_000,
      interval: 5,
    });
    expect(cb.requests).toHaveLength(0);
    await slow;
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(cb.requests).toHaveLength(1);

    const fastStart = Date.now();
    await client.send(
      new ListBuildBatchesForProjectCommand({ projectName: project }),
    );
    expect(Date.now() - fastStart).toBeLessThan(150);
  });
});

describe('protocol', () => {
  type ErrorBody = { __type: string; message: string };
  const post = (target: string | undefined, body: string) =>
    fetch(cb.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        ...(target ? { 'x-amz-target': target } : {}),
      },
      body,
    });

  it('sends JSON 1.1 with epoch seconds on the wire', async () => {
    const batch = cb.startBatch(newProject(), { groups: ['a'] });
    const res = await post(
      'CodeBuild_20161006.BatchGetBuildBatches',
      JSON.stringify({ ids: [batch.id] }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    const body = (await res.json()) as {
      buildBatches: Record<string, unknown>[];
    };
    expect(body.buildBatches[0].startTime).toBe(clock / 1000);
    expect(Number.isInteger(body.buildBatches[0].startTime)).toBe(false);
    expect(body.buildBatches[0]).not.toHaveProperty('endTime');
  });

  it('answers unknown operations, a missing target and malformed JSON', async () => {
    const unknown = await post('CodeBuild_20161006.DeleteEverything', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      __type: 'UnknownOperationException',
      message: expect.stringContaining('DeleteEverything'),
    });
    const untargeted = await post(undefined, '{}');
    expect(untargeted.status).toBe(400);
    expect(((await untargeted.json()) as ErrorBody).__type).toBe(
      'UnknownOperationException',
    );
    const otherService = await post('DynamoDB_20120810.Scan', '{}');
    expect(((await otherService.json()) as ErrorBody).__type).toBe(
      'UnknownOperationException',
    );
    const malformed = await post(
      'CodeBuild_20161006.BatchGetBuilds',
      '{"ids": [',
    );
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).__type).toBe(
      'SerializationException',
    );
  });

  it('logs answered requests', async () => {
    const batch = cb.startBatch(newProject(), { groups: ['a'] });
    cb.resetLog();
    await readBatch(batch.id);
    await readBatch(batch.arn);
    await rejection(retry(batch.id));
    expect(cb.requests.map((r) => r.operation)).toEqual([
      'BatchGetBuildBatches',
      'BatchGetBuildBatches',
      'RetryBuildBatch',
    ]);
    expect(cb.requests[2]).toEqual({
      operation: 'RetryBuildBatch',
      input: { id: batch.id },
      status: 400,
      errorType: 'InvalidInputException',
      at: clock,
    });
    cb.resetLog();
    expect([cb.requests, cb.arrivals]).toEqual([[], []]);
  });

  it('stops promptly despite keep-alive and in-flight requests', async () => {
    const other = await CodeBuildEmulator.start();
    const keepAlive = newClient(1, other.endpoint);
    try {
      await keepAlive.send(new ListBuildBatchesCommand({}));
      other.setFaults({ latencyMs: 10_000 });
      const stuck = rejection(keepAlive.send(new ListBuildBatchesCommand({})));
      await vi.waitFor(() => expect(other.arrivals).toHaveLength(2), {
        timeout: 1_000,
        interval: 5,
      });
      const started = Date.now();
      await other.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await stuck).toBeInstanceOf(Error);
      expect(other.requests).toHaveLength(1);
      await expect(
        keepAlive.send(new ListBuildBatchesCommand({})),
      ).rejects.toThrow();
    } finally {
      keepAlive.destroy();
    }
  });
});

describe('Build State Change events', () => {
  /** Keys of each object along the path, to compare with the fixture. */
  const keysAt = (event: unknown, path: string[]) => {
    let value = event as Record<string, unknown>;
    for (const key of path) value = value[key] as Record<string, unknown>;
    return Object.keys(value).sort();
  };

  it('have the documented shape, plaintext variables and no batch ARN', () => {
    const project = newProject();
    const batch = cb.startBatch(project, { groups: ['a'] });
    const [child] = childArns(batch.arn);
    const seen: unknown[] = [];
    const unsubscribe = cb.onEvent((e) => seen.push(e));

    const event = cb.completeBuild(child, 'FAILED');

    expect(seen).toEqual([event]);
    expect(cb.events.at(-1)).toEqual(event);
    for (const path of [
      [],
      ['detail'],
      ['detail', 'additional-information'],
      ['detail', 'additional-information', 'environment'],
      ['detail', 'additional-information', 'source'],
      ['detail', 'additional-information', 'logs'],
    ]) {
      expect(keysAt(event, path)).toEqual(keysAt(fixture, path));
    }
    expect(event).toMatchObject({
      version: '0',
      'detail-type': BUILD_STATE_CHANGE,
      source: 'aws.codebuild',
      account: ACCOUNT,
      region: REGION,
      resources: [child],
      detail: {
        'build-status': 'FAILED',
        'project-name': project,
        'build-id': child,
        'current-phase': 'COMPLETED',
        // The default failure: an out-of-memory kill in BUILD.
        'current-phase-context':
          '[COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 137]',
        version: '1',
        'additional-information': {
          'build-complete': true,
          environment: {
            'environment-variables': [
              { name: 'STAGE', type: 'PLAINTEXT', value: 'test' },
              { name: 'NPM_TOKEN', type: 'PLAINTEXT', value: SECRET },
            ],
          },
        },
      },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.time).toBe(`${new Date(clock).toISOString().slice(0, 19)}Z`);
    const info = event.detail['additional-information'];
    expect(info['build-start-time']).toMatch(
      /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/,
    );
    const fixturePhaseKeys = new Set(
      fixture.detail['additional-information'].phases.flatMap((p: object) =>
        Object.keys(p),
      ),
    );
    for (const phase of info.phases) {
      for (const key of Object.keys(phase)) {
        expect(fixturePhaseKeys).toContain(key);
      }
    }
    expect(info.phases.at(-1)).toEqual({
      'phase-type': 'COMPLETED',
      'start-time': expect.any(String),
    });
    expect(info.phases.find((p) => p['phase-type'] === 'BUILD')).toMatchObject({
      'phase-status': 'FAILED',
      'phase-context': [expect.stringMatching(/^COMMAND_EXECUTION_ERROR: /)],
    });
    const text = JSON.stringify(event);
    expect(text).not.toContain(batch.arn);
    expect(text).not.toContain(batch.id);
    expect(text).not.toMatch(/build-batch|buildBatch/i);
    const keys = (value: unknown): string[] =>
      value !== null && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => [k, ...keys(v)])
        : [];
    expect(keys(event).filter((k) => /batch/i.test(k))).toEqual([]);

    unsubscribe();
    cb.completeBuild(cb.startBuild(project).arn, 'SUCCEEDED');
    expect(seen).toHaveLength(1);
  });

  it('come once per child reaching a terminal status, never for the batch', async () => {
    const project = newProject();
    const before = cb.events.length;
    const batch = failedBatch(project);
    await retry(batch.id, 'RETRY_FAILED_BUILDS');
    expect(cb.events.length - before).toBe(2);
    failAgain(batch.arn);
    const emitted = cb.events.slice(before);
    expect(emitted.map((e) => e.detail['build-status'])).toEqual([
      'SUCCEEDED',
      'FAILED',
      'FAILED',
    ]);
    expect(new Set(emitted.map((e) => e.id)).size).toBe(3);
    expect(new Set(emitted.map((e) => e.resources[0])).size).toBe(3);
  });
});
