import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_TAGS, PROJECT_TAGS_TTL_MS } from '../../lambda/contract.js';
import { createHandler } from '../../lambda/create-handler.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import { FAILURES } from '../../tools/local-aws/codebuild/failures.js';
import {
  defaultConfig,
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';

// Integration: per-project policy from CodeBuild project tags, read with
// BatchGetProjects through the real SDK client from the CodeBuild emulator.

let h: Harness;
let projects = 0;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

function newProject(tags: Record<string, string>): string {
  projects += 1;
  const name = `tagged-${projects}`;
  h.codebuild.createProject(name, { tags });
  return name;
}

/** Runs a one-group batch to FAILED with `failure`; returns the event. */
function failRun(batchArn: string, failure = FAILURES.outOfMemory) {
  const running = h.codebuild
    .currentBuilds(batchArn)
    .filter((b) => b.buildStatus === 'IN_PROGRESS');
  let event: unknown;
  for (const build of running) {
    event = h.codebuild.completeBuild(build.arn, 'FAILED', failure);
  }
  h.codebuild.settleBatch(batchArn);
  return event;
}

function failedBatch(project: string, failure = FAILURES.outOfMemory) {
  const batch = h.codebuild.startBatch(project, { groups: ['unit'] });
  return { batch, event: failRun(batch.arn, failure) };
}

const tagReads = (project: string) =>
  h.codebuild.requests.filter(
    (r) =>
      r.operation === 'BatchGetProjects' &&
      JSON.stringify(r.input).includes(`"${project}"`),
  ).length;

describe('project tags', () => {
  it('opts a project out: no retry, no classification, logged project-disabled', async () => {
    const project = newProject({ [PROJECT_TAGS.enabled]: 'false' });
    const { batch, event } = failedBatch(project);
    const handler = h.handler();
    const { value: result, logs } = await whileCapturing(() =>
      handler(event, lambdaContext()),
    );

    expect(result).toMatchObject({
      result: 'skipped',
      reason: 'project-disabled',
    });
    expect(h.codebuild.retryCount(batch.arn)).toBe(0);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        reason: 'project-disabled',
        batchArn: batch.arn,
      }),
    );
  });

  it('gives a project its own MaxRetries: 5 retries, then exhausted', async () => {
    const project = newProject({ [PROJECT_TAGS.maxRetries]: '5' });
    const { batch, event } = failedBatch(project);
    const handler = h.handler();

    let next = event;
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await handler(next, lambdaContext())).toMatchObject({
        result: 'retried',
        attempt,
      });
      next = failRun(batch.arn);
    }
    expect(await handler(next, lambdaContext())).toMatchObject({
      result: 'exhausted',
      attempt: 5,
    });
    expect(h.codebuild.retryCount(batch.arn)).toBe(5);
  });

  it("retries the classes and with the retry type a project's tags name", async () => {
    const project = newProject({
      [PROJECT_TAGS.retryOn]: 'script transient',
      [PROJECT_TAGS.retryType]: 'RETRY_ALL_BUILDS',
    });
    const { batch, event } = failedBatch(project, FAILURES.testFailure);

    const result = await h.handler()(event, lambdaContext());

    expect(result).toMatchObject({
      result: 'retried',
      classifications: [{ class: 'script' }],
    });
    const call = h.codebuild.requests.find(
      (r) =>
        r.operation === 'RetryBuildBatch' &&
        (r.input as { id?: string }).id === batch.id,
    );
    expect(call?.input).toMatchObject({ retryType: 'RETRY_ALL_BUILDS' });
  });

  it('ignores an invalid tag with a WARN and a metric; the stack setting applies', async () => {
    const project = newProject({
      [PROJECT_TAGS.maxRetries]: 'plenty',
      [PROJECT_TAGS.enabled]: 'yes',
    });
    const { batch, event } = failedBatch(project);
    const { value: result, logs } = await whileCapturing(() =>
      h.handler()(event, lambdaContext()),
    );

    expect(result).toMatchObject({ result: 'retried' });
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    const warnings = logs
      .records()
      .filter(
        (r) =>
          r.message ===
          'Ignored invalid project tag; the stack setting applies',
      );
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'WARN',
        projectName: project,
        tag: PROJECT_TAGS.enabled,
        problem: 'must be "true" or "false"',
      }),
      expect.objectContaining({
        level: 'WARN',
        projectName: project,
        tag: PROJECT_TAGS.maxRetries,
        problem: 'must be a whole number from 0 to 10',
      }),
    ]);
    expect(logs.text()).not.toContain('plenty');
    // Powertools folds repeated values of one metric into an array.
    const counted = logs
      .records()
      .flatMap((r) =>
        r.InvalidProjectTag === undefined ? [] : [r.InvalidProjectTag].flat(),
      );
    expect(counted.reduce((n: number, v) => n + Number(v), 0)).toBe(2);
  });

  it('reads tags once per five minutes per environment, and picks up a change after that', async () => {
    const project = newProject({ [PROJECT_TAGS.enabled]: 'false' });
    let now = Date.now();
    const handler = createHandler(defaultConfig(h.dynamo.tableName), {
      now: () => now,
    });
    const first = failedBatch(project);
    const second = failedBatch(project);

    await handler(first.event, lambdaContext());
    await handler(second.event, lambdaContext());
    expect(tagReads(project)).toBe(1);

    h.codebuild.setProjectTags(project, { [PROJECT_TAGS.enabled]: 'true' });
    now += PROJECT_TAGS_TTL_MS - 1_000;
    expect(await handler(second.event, lambdaContext())).toMatchObject({
      reason: 'project-disabled',
    });
    now += 2_000;
    expect(await handler(second.event, lambdaContext())).toMatchObject({
      result: 'retried',
    });
    expect(tagReads(project)).toBe(2);
  });

  it('reads no tags for a healthy build', async () => {
    const project = newProject({ [PROJECT_TAGS.enabled]: 'false' });
    const batch = h.codebuild.startBatch(project, { groups: ['unit', 'e2e'] });
    const [unit] = h.codebuild.currentBuilds(batch.arn);
    const event = h.codebuild.completeBuild(unit?.arn as string, 'SUCCEEDED');

    await h.handler()(event, lambdaContext());

    expect(tagReads(project)).toBe(0);
  });
});
