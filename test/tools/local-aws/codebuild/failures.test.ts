import {
  BatchGetBuildBatchesCommand,
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  type Build,
  CodeBuildClient,
  InvalidInputException,
} from '@aws-sdk/client-codebuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuildFailure,
  CodeBuildEmulator,
  FAILURES,
  type TerminalStatus,
} from '../../../../tools/local-aws/codebuild/emulator.js';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';

// Failures as CodeBuild reports them, read back through the real
// @aws-sdk/client-codebuild: where a build failed, what its log says, and
// the project tags a caller reads to pick its policy.

const T0 = Date.UTC(2026, 10, 20, 9, 32, 15, 250);
let clock = T0;
let cb: CodeBuildEmulator;
let client: CodeBuildClient;
const written: {
  group: string;
  stream: string;
  lines: readonly string[];
  at: number;
}[] = [];

beforeAll(async () => {
  cb = await CodeBuildEmulator.start({
    now: () => clock,
    logSink: (group, stream, lines, at) =>
      written.push({ group, stream, lines, at }),
  });
  client = new CodeBuildClient({
    region: REGION,
    endpoint: cb.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await cb.stop();
});

let projects = 0;
function newProject(
  options: Parameters<CodeBuildEmulator['createProject']>[1] = {},
) {
  projects += 1;
  const name = `failing-app-${projects}`;
  cb.createProject(name, options);
  return name;
}

async function readBuild(arn: string): Promise<Build> {
  const { builds } = await client.send(
    new BatchGetBuildsCommand({ ids: [arn] }),
  );
  expect(builds).toHaveLength(1);
  return builds?.[0] as Build;
}

/** Runs a standalone build for 90 s and ends it as told; reads it back. */
async function runBuild(
  status: TerminalStatus,
  failure?: BuildFailure,
  project = newProject(),
) {
  const { arn } = cb.startBuild(project);
  clock += 90_000;
  const event = cb.completeBuild(arn, status, failure);
  return { build: await readBuild(arn), event, project };
}

const phaseList = (build: Build) =>
  build.phases?.map((p) => [p.phaseType, p.phaseStatus]);

const BEFORE_STREAM = ['SUBMITTED', 'QUEUED', 'PROVISIONING'];
const COMMAND_PHASES = ['INSTALL', 'PRE_BUILD', 'BUILD'];

describe('failure presets', () => {
  it.each(Object.entries(FAILURES))(
    '%s fails where CodeBuild reports it',
    async (_, failure) => {
      const status =
        failure.statusCode === 'BUILD_TIMED_OUT' ? 'TIMED_OUT' : 'FAILED';
      const { build, event } = await runBuild(status, failure);
      const phases = build.phases ?? [];
      const at = phases.findIndex((p) => p.phaseStatus !== 'SUCCEEDED');
      expect(phases[at]).toMatchObject({
        phaseType: failure.phase,
        phaseStatus: status,
        contexts: [
          { statusCode: failure.statusCode, message: failure.message },
        ],
        durationInSeconds: 90,
      });
      const after = phases
        .slice(at + 1)
        .map((p) => [p.phaseType, p.phaseStatus]);
      const rest =
        COMMAND_PHASES.includes(failure.phase) && status === 'FAILED'
          ? [
              ['POST_BUILD', 'SUCCEEDED'],
              ['UPLOAD_ARTIFACTS', 'SUCCEEDED'],
            ]
          : [];
      expect(after).toEqual([
        ...rest,
        ['FINALIZING', 'SUCCEEDED'],
        ['COMPLETED', undefined],
      ]);
      expect(build).toMatchObject({
        buildStatus: status,
        currentPhase: 'COMPLETED',
      });
      expect(event.detail['current-phase-context']).toBe(
        `[${failure.statusCode}: ${failure.message}]`,
      );
      expect(event.detail['additional-information'].phases[at]).toMatchObject({
        'phase-type': failure.phase,
        'phase-context': [`${failure.statusCode}: ${failure.message}`],
      });
      if (BEFORE_STREAM.includes(failure.phase)) {
        expect(build.logs?.streamName).toBeUndefined();
        expect(build.logs?.deepLink).toMatch(/group=null;stream=null$/);
      } else {
        expect(build.logs?.streamName).toBe(build.id?.split(':')[1]);
      }
    },
  );

  it('are frozen', () => {
    expect(Object.isFrozen(FAILURES)).toBe(true);
    expect(Object.isFrozen(FAILURES.testFailure.log)).toBe(true);
  });

  it('a failed test leaves POST_BUILD and UPLOAD_ARTIFACTS running after BUILD', async () => {
    const { build } = await runBuild('FAILED', FAILURES.testFailure);
    expect(phaseList(build)).toEqual([
      ['SUBMITTED', 'SUCCEEDED'],
      ['QUEUED', 'SUCCEEDED'],
      ['PROVISIONING', 'SUCCEEDED'],
      ['DOWNLOAD_SOURCE', 'SUCCEEDED'],
      ['INSTALL', 'SUCCEEDED'],
      ['PRE_BUILD', 'SUCCEEDED'],
      ['BUILD', 'FAILED'],
      ['POST_BUILD', 'SUCCEEDED'],
      ['UPLOAD_ARTIFACTS', 'SUCCEEDED'],
      ['FINALIZING', 'SUCCEEDED'],
      ['COMPLETED', undefined],
    ]);
  });

  it('a failed INSTALL skips the later command phases', async () => {
    const failure: BuildFailure = {
      ...FAILURES.networkInLog,
      phase: 'INSTALL',
    };
    const { build } = await runBuild('FAILED', failure);
    expect(phaseList(build)?.slice(3)).toEqual([
      ['DOWNLOAD_SOURCE', 'SUCCEEDED'],
      ['INSTALL', 'FAILED'],
      ['POST_BUILD', 'SUCCEEDED'],
      ['UPLOAD_ARTIFACTS', 'SUCCEEDED'],
      ['FINALIZING', 'SUCCEEDED'],
      ['COMPLETED', undefined],
    ]);
  });

  it('succeeded builds go through every phase', async () => {
    const { build, event } = await runBuild('SUCCEEDED');
    expect(phaseList(build)?.map(([type]) => type)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
      'COMPLETED',
    ]);
    expect(build.phases?.every((p) => p.phaseStatus !== 'FAILED')).toBe(true);
    expect(event.detail['current-phase-context']).toBe('[: ]');
    expect(() =>
      cb.completeBuild(
        cb.startBuild(newProject()).arn,
        'SUCCEEDED',
        FAILURES.testFailure,
      ),
    ).toThrow(/no failure/);
  });

  it('by default, a FAILED build was killed for memory in BUILD and a stopped one stopped there', async () => {
    const failed = await runBuild('FAILED');
    expect(
      failed.build.phases?.find((p) => p.phaseType === 'BUILD'),
    ).toMatchObject({
      phaseStatus: 'FAILED',
      contexts: [
        {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message:
            'Error while executing command: npm test. Reason: exit status 137',
        },
      ],
    });
    const stopped = await runBuild('STOPPED');
    expect(phaseList(stopped.build)?.slice(-3)).toEqual([
      ['BUILD', 'STOPPED'],
      ['FINALIZING', 'SUCCEEDED'],
      ['COMPLETED', undefined],
    ]);
    expect(stopped.event.detail['current-phase-context']).toBe('[: ]');
  });
});

describe('build logs', () => {
  it('are written to the sink when a build with a stream ends', async () => {
    const before = written.length;
    const { build } = await runBuild('FAILED', FAILURES.networkInLog);
    expect(written.slice(before)).toHaveLength(1);
    const [log] = written.slice(before);
    expect(log).toMatchObject({
      group: build.logs?.groupName,
      stream: build.logs?.streamName,
      at: clock,
    });
    expect(log.group).toBe(`/aws/codebuild/${build.projectName}`);
    expect(log.lines[0]).toMatch(
      /^\[Container\] 2026\/11\/20 \d\d:\d\d:\d\d\.\d{6} Running on CodeBuild On-demand$/,
    );
    const text = log.lines.join('\n');
    expect(text).toContain('Running command npm ci');
    expect(text).not.toContain('Running command npm test');
    expect(text).toContain(FAILURES.networkInLog.log.join('\n'));
    const tail = log.lines.slice(
      log.lines.indexOf(FAILURES.networkInLog.log.at(-1) as string),
    );
    expect(tail.slice(1, 4)).toEqual([
      expect.stringMatching(
        / Command did not exit successfully npm ci exit status 1$/,
      ),
      expect.stringMatching(/ Phase complete: BUILD State: FAILED$/),
      expect.stringMatching(
        / Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: npm ci\. Reason: exit status 1$/,
      ),
    ]);
    expect(log.lines.at(-2)).toMatch(
      /Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED$/,
    );
  });

  it('a build that failed before PROVISIONING ended has no stream and no log', async () => {
    const before = written.length;
    for (const failure of [
      FAILURES.pullRateLimit,
      FAILURES.insufficientSubnet,
    ]) {
      const { build, event } = await runBuild('FAILED', failure);
      expect(build.logs).toMatchObject({
        cloudWatchLogs: { status: 'ENABLED' },
      });
      expect(build.logs?.groupName).toBeUndefined();
      expect(build.logs?.streamName).toBeUndefined();
      expect(event.detail['additional-information'].logs['stream-name']).toBe(
        '',
      );
    }
    expect(written).toHaveLength(before);
  });

  it('a build failed in DOWNLOAD_SOURCE logs up to it', async () => {
    const before = written.length;
    await runBuild('FAILED', FAILURES.brokenBuildspec);
    const [log] = written.slice(before);
    expect(log.lines.slice(-2)).toEqual([
      expect.stringMatching(/ Phase complete: DOWNLOAD_SOURCE State: FAILED$/),
      expect.stringMatching(
        / Phase context status code: YAML_FILE_ERROR Message: YAML file does not exist$/,
      ),
    ]);
  });

  it('are absent from projects with CloudWatch logs disabled', async () => {
    const before = written.length;
    const project = newProject({ logs: 'disabled' });
    const { build } = await runBuild('FAILED', FAILURES.testFailure, project);
    expect(build.logs).toMatchObject({
      cloudWatchLogs: { status: 'DISABLED' },
    });
    expect(build.logs?.streamName).toBeUndefined();
    expect(written).toHaveLength(before);
    const { projects } = await client.send(
      new BatchGetProjectsCommand({ names: [project] }),
    );
    expect(projects?.[0].logsConfig?.cloudWatchLogs?.status).toBe('DISABLED');
  });
});

describe('ignoreFailure groups', () => {
  it('do not fail their batch; stopped groups still do', async () => {
    const project = newProject();
    const batch = cb.startBatch(project, {
      groups: ['unit', 'flaky'],
      ignoreFailure: ['flaky'],
    });
    const [unit, flaky] = cb.currentBuilds(batch.arn);
    cb.completeBuild(unit.arn, 'SUCCEEDED');
    cb.completeBuild(flaky.arn, 'FAILED', FAILURES.testFailure);
    expect(cb.settleBatch(batch.arn).buildBatchStatus).toBe('SUCCEEDED');
    const { buildBatches } = await client.send(
      new BatchGetBuildBatchesCommand({ ids: [batch.id] }),
    );
    expect(
      buildBatches?.[0].buildGroups?.map((g) => [
        g.identifier,
        g.ignoreFailure,
      ]),
    ).toEqual([
      ['unit', false],
      ['flaky', true],
    ]);

    const stopped = cb.startBatch(project, {
      groups: ['unit', 'flaky'],
      ignoreFailure: ['flaky'],
    });
    cb.completeBuild(cb.currentBuilds(stopped.arn)[1].arn, 'TIMED_OUT');
    expect(cb.settleBatch(stopped.arn, { force: true }).buildBatchStatus).toBe(
      'FAILED',
    );
  });

  it('can be added later, and must name the groups added', () => {
    const project = newProject();
    const batch = cb.startBatch(project, { groups: ['unit'] });
    expect(() =>
      cb.startBatch(project, { groups: ['a'], ignoreFailure: ['b'] }),
    ).toThrow(/ignoreFailure names no new group: b/);
    const grown = cb.startGroups(batch.arn, ['e2e'], {
      ignoreFailure: ['e2e'],
    });
    expect(grown.buildGroups.map((g) => g.ignoreFailure)).toEqual([
      false,
      true,
    ]);
    const [unit, e2e] = cb.currentBuilds(batch.arn);
    cb.completeBuild(unit.arn, 'SUCCEEDED');
    cb.completeBuild(e2e.arn, 'FAULT');
    expect(cb.settleBatch(batch.arn).buildBatchStatus).toBe('SUCCEEDED');
  });

  it('a batch that failed before its builds carries the given context', () => {
    const batch = cb.failBatchBeforeBuilds(newProject(), {
      statusCode: 'CLIENT_ERROR',
      message: 'error while downloading batchspec, please try again later',
    });
    expect(
      batch.phases.find((p) => p.phaseType === 'DOWNLOAD_BATCHSPEC'),
    ).toMatchObject({
      phaseStatus: 'FAILED',
      contexts: [{ statusCode: 'CLIENT_ERROR' }],
    });
  });
});

describe('BatchGetProjects', () => {
  it('answers projects by name or ARN with their tags, and the names not found', async () => {
    clock += 1_000;
    const tags = {
      'codebuild-batch-retry:max-retries': '2',
      team: 'web @ platform',
    };
    const tagged = newProject({ tags });
    const plain = newProject();
    const arn = `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${plain}`;
    const { projects, projectsNotFound } = await client.send(
      new BatchGetProjectsCommand({ names: [tagged, arn, 'nope'] }),
    );
    expect(projectsNotFound).toEqual(['nope']);
    expect(projects?.map((p) => p.name)).toEqual([tagged, plain]);
    expect(projects?.[0]).toMatchObject({
      arn: `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${tagged}`,
      tags: [
        { key: 'codebuild-batch-retry:max-retries', value: '2' },
        { key: 'team', value: 'web @ platform' },
      ],
      source: { type: 'GITHUB' },
      environment: { type: 'LINUX_CONTAINER' },
      logsConfig: { cloudWatchLogs: { status: 'ENABLED' } },
    });
    expect(projects?.[0].created).toEqual(new Date(clock));
    expect(projects?.[1].tags).toEqual([]);
  });

  it('shows tags once they are replaced', async () => {
    const project = newProject({ tags: { a: '1' } });
    clock += 1_000;
    cb.setProjectTags(project, { 'codebuild-batch-retry:enabled': 'false' });
    const { projects } = await client.send(
      new BatchGetProjectsCommand({ names: [project] }),
    );
    expect(projects?.[0].tags).toEqual([
      { key: 'codebuild-batch-retry:enabled', value: 'false' },
    ]);
    expect(projects?.[0].lastModified).toEqual(new Date(clock));
    expect(() => cb.setProjectTags(project, { list: 'a,b' })).toThrow(
      /Invalid tag/,
    );
    expect(() => newProject({ tags: { '': 'x' } })).toThrow(/Invalid tag/);
  });

  it('validates its input and goes through faults and the request log', async () => {
    for (const names of [[], Array.from({ length: 101 }, (_, i) => `p-${i}`)]) {
      await expect(
        client.send(new BatchGetProjectsCommand({ names })),
      ).rejects.toBeInstanceOf(InvalidInputException);
    }
    cb.resetLog();
    cb.failNext('BatchGetProjects', 1, 'throttle');
    await expect(
      client.send(new BatchGetProjectsCommand({ names: [newProject()] })),
    ).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(cb.requests).toMatchObject([
      {
        operation: 'BatchGetProjects',
        status: 400,
        errorType: 'ThrottlingException',
      },
    ]);
    expect(cb.throttledCount).toBe(1);
  });
});
