import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  CodeBuildClient,
  RetryBuildBatchCommand,
} from '@aws-sdk/client-codebuild';
import { afterEach, describe, expect, it } from 'vitest';
import type { FailedGroup } from '../../lambda/batch.js';
import { BuildLogs } from '../../lambda/build-logs.js';
import { CodeBuildGateway } from '../../lambda/codebuild-gateway.js';
import { FAILURE_CLASSES, SETTINGS } from '../../lambda/contract.js';
import {
  classifyBatchPhases,
  classifyBuild,
} from '../../lambda/failure-class.js';
import { SIM_EPOCH, SimClock } from '../../sim/clock.js';
import { Random } from '../../sim/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import {
  type BatchPlan,
  CAUSES,
  expectedCourse,
  FAILURE_MIX,
  generateWorkload,
  PRE_BUILD,
  type RetryPolicy,
  runClasses,
  runPlan,
  WorkloadDriver,
} from '../../sim/workload.js';
import { CodeBuildEmulator } from '../../tools/local-aws/codebuild/emulator.js';
import { CREDENTIALS, REGION } from '../../tools/local-aws/environment.js';
import { startLocalAws } from '../../tools/local-aws/local-aws.js';

const TICK = 10_000;
const projects = ['web-app', 'api'];
/** The stack's defaults. */
const RETRYABLE: readonly string[] = SETTINGS.retryOn.default;
const POLICY: RetryPolicy = {
  maxRetries: 2,
  retryOn: SETTINGS.retryOn.default,
  retryType: 'RETRY_FAILED_BUILDS',
};

function plans(seed: number, batches = 40): BatchPlan[] {
  return generateWorkload({
    batches,
    random: new Random(seed),
    projects,
    tickMs: TICK,
    spreadMs: 3_600_000,
  });
}

describe('the workload model', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(plans(1)).toEqual(plans(1));
    expect(plans(1)).not.toEqual(plans(2));
  });

  it('mixes healthy, flaky and broken batches, some failing before any build', () => {
    const all = plans(3, 1000);
    const share = (kind: string) =>
      all.filter((p) => p.kind === kind).length / all.length;
    expect(share('healthy')).toBeCloseTo(0.45, 1);
    expect(share('flaky')).toBeCloseTo(0.4, 1);
    expect(share('broken')).toBeCloseTo(0.15, 1);
    expect(all.some((p) => p.preBuild === 'always')).toBe(true);
    expect(all.some((p) => p.preBuild === 'first')).toBe(true);
    expect(all.every((p) => p.groups.length >= 2)).toBe(true);
  });

  it('defines the expected course: a retryable failure with budget is retried once', () => {
    const random = new Random(4);
    const courses = { broken: new Set<string>(), flaky: new Set<string>() };
    for (const plan of plans(4, 300)) {
      const course = expectedCourse(plan, random, POLICY);
      if (plan.kind === 'healthy') {
        expect(course).toEqual({ retries: 0, finalStatus: 'SUCCEEDED' });
      } else if (plan.kind === 'broken') {
        // A genuine failure is not retried, a persistent one until the budget is spent.
        expect([0, 2]).toContain(course.retries);
        expect(course.finalStatus).toBe('FAILED');
        courses.broken.add(String(course.retries));
        // Retrying every class spends the whole budget.
        const all = { ...POLICY, retryOn: FAILURE_CLASSES };
        expect(expectedCourse(plan, random, all).retries).toBe(2);
      } else {
        expect(course.retries).toBeGreaterThanOrEqual(1);
        expect(course.retries).toBeLessThanOrEqual(2);
        courses.flaky.add(course.finalStatus);
      }
      // Not retried at all when out of scope, or with MaxRetries 0.
      expect(expectedCourse(plan, random, undefined).retries).toBe(0);
      const none = { ...POLICY, maxRetries: 0 };
      expect(expectedCourse(plan, random, none).retries).toBe(0);
    }
    expect(courses).toEqual({
      broken: new Set(['0', '2']),
      flaky: new Set(['SUCCEEDED', 'FAILED']),
    });
  });

  it('draws failures from the documented mix', () => {
    const random = new Random(8);
    const seen = new Set<string>();
    for (const plan of plans(8, 1000)) {
      const first = runPlan(plan, 0, random);
      const classes = first.fails ? runClasses(first, plan) : [];
      for (const c of classes) seen.add(c);
      const causes = Object.values(first.causes);
      if (plan.kind === 'flaky') {
        expect(classes.every((c) => RETRYABLE.includes(c))).toBe(true);
        if (!first.preBuild) {
          expect(causes.every((c) => c in FAILURE_MIX.flaky)).toBe(true);
        }
      }
      if (
        plan.kind === 'broken' &&
        classes.every((c) => RETRYABLE.includes(c))
      ) {
        // Persistent: the same cause every run.
        const later = Object.values(runPlan(plan, 3, random).causes);
        expect(new Set([...causes, ...later]).size).toBe(1);
      }
      if (plan.fastFail) expect(new Set(causes).size).toBeLessThanOrEqual(1);
    }
    expect([...seen].sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it('gives each cause the class the function finds in the emulated build', async () => {
    const aws = await startLocalAws({ tables: [] });
    const options = { region: REGION, credentials: CREDENTIALS };
    const codebuild = new CodeBuildGateway(
      new CodeBuildClient({ ...options, endpoint: aws.codebuild.endpoint }),
    );
    const logs = new BuildLogs(
      new CloudWatchLogsClient({ ...options, endpoint: aws.logs.endpoint }),
    );
    const found: Record<string, string> = {};
    const expected: Record<string, string> = {};
    try {
      aws.codebuild.createProject('web-app');
      const policy = { retryExitCodes: SETTINGS.retryExitCodes.default };
      for (const [name, cause] of Object.entries(CAUSES)) {
        const batch = aws.codebuild.startBatch('web-app', { groups: ['e2e'] });
        const [build] = aws.codebuild.currentBuilds(batch.arn);
        const arn = build?.arn as string;
        const failure = 'failure' in cause ? cause.failure : undefined;
        aws.codebuild.completeBuild(arn, cause.status, failure);
        const [view] = await codebuild.getBuilds([arn]);
        const group = { identifier: 'e2e', buildArn: arn } as FailedGroup;
        let found1 = classifyBuild(group, view, policy);
        if (found1.logTailWouldHelp && view?.logs) {
          const tail = await logs.tail(view.logs, 100);
          found1 = classifyBuild(group, view, policy, tail);
        }
        found[name] = found1.class;
        expected[name] = cause.class;
      }
      for (const [kind, pre] of Object.entries(PRE_BUILD)) {
        const failed = aws.codebuild.failBatchBeforeBuilds(
          'web-app',
          pre.context,
        );
        const [batch] = await codebuild.getBatches([failed.arn]);
        found[kind] = classifyBatchPhases(batch?.phases ?? [], policy).class;
        expected[kind] = pre.class;
      }
    } finally {
      await aws.stop();
    }
    expect(found).toEqual(expected);
  });

  it('fails a failing run in one of the groups that actually run', () => {
    const random = new Random(5);
    for (const plan of plans(5, 200)) {
      for (let run = 0; run < 3; run++) {
        const p = runPlan(plan, run, random, ['unit']);
        if (p.fails && !p.preBuild) expect(p.failingGroups).toEqual(['unit']);
        if (!p.fails) expect(p.failingGroups).toEqual([]);
      }
    }
  });
});

describe('the workload driver on the CodeBuild emulator', () => {
  let emulator: CodeBuildEmulator | undefined;
  afterEach(async () => {
    await emulator?.stop();
    emulator = undefined;
  });

  async function drive(
    seed: number,
    retrier?: (driver: WorkloadDriver, scheduler: Scheduler) => void,
  ) {
    const clock = new SimClock(SIM_EPOCH);
    emulator = await CodeBuildEmulator.start({ now: clock.now });
    for (const project of projects) emulator.createProject(project);
    const scheduler = new Scheduler(clock);
    const random = new Random(seed);
    const driver = new WorkloadDriver({
      emulator,
      scheduler,
      clock,
      random,
      tickMs: TICK,
      plans: plans(seed),
      origin: SIM_EPOCH,
    });
    retrier?.(driver, scheduler);
    driver.start();
    await scheduler.runUntil(SIM_EPOCH + 24 * 3_600_000);
    return { driver, random };
  }

  it('runs every batch to a settled state when nobody retries', async () => {
    const { driver } = await drive(6);
    expect(driver.idle).toBe(true);
    for (const h of driver.histories) {
      expect(h.status).toBe(h.plan.kind === 'healthy' ? 'SUCCEEDED' : 'FAILED');
      expect(h.retries).toBe(0);
    }
    const childBuilds = driver.histories
      .filter((h) => h.plan.preBuild === undefined)
      .reduce((n, h) => n + h.plan.groups.length, 0);
    expect(emulator?.events).toHaveLength(childBuilds);
  });

  it('follows the expected course exactly under a retrier that checks classes', async () => {
    const maxRetries = 2;
    const client = () =>
      new CodeBuildClient({
        region: 'eu-west-1',
        endpoint: emulator?.endpoint,
        credentials: CREDENTIALS,
      });
    const { driver, random } = await drive(7, (d, scheduler) => {
      const codebuild = client();
      // After every step: retry each FAILED batch with budget left whose
      // failed groups are all retryable, once, the way the service should.
      scheduler.onStep(async () => {
        let retried = false;
        for (const h of d.histories) {
          if (h.status !== 'FAILED' || !h.arn) continue;
          if (h.retries >= maxRetries || h.failures !== h.retries + 1) continue;
          const classes = h.failedRuns.at(-1)?.classes ?? [];
          if (!classes.every((c) => RETRYABLE.includes(c))) continue;
          if (emulator?.retryCount(h.arn) !== h.retries) continue;
          await codebuild.send(
            new RetryBuildBatchCommand({
              id: h.arn.split('/').pop(),
              retryType: 'RETRY_FAILED_BUILDS',
              idempotencyToken: `${h.arn}#${h.failures}`,
            }),
          );
          retried = true;
        }
        if (retried) scheduler.after(0, () => undefined);
      });
    });
    for (const h of driver.histories) {
      const course = expectedCourse(h.plan, random, POLICY);
      expect(
        { key: h.plan.key, retries: h.retries, status: h.status },
        h.plan.kind,
      ).toEqual({
        key: h.plan.key,
        retries: course.retries,
        status: course.finalStatus,
      });
    }
    expect(driver.histories.some((h) => h.retries === 2)).toBe(true);
    const notRetryable = driver.histories.filter(
      (h) => h.status === 'FAILED' && h.retries === 0,
    );
    expect(notRetryable.length).toBeGreaterThan(0);
  });
});
