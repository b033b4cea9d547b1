import {
  CodeBuildClient,
  RetryBuildBatchCommand,
} from '@aws-sdk/client-codebuild';
import { afterEach, describe, expect, it } from 'vitest';
import { SIM_EPOCH, SimClock } from '../../sim/clock.js';
import { Random } from '../../sim/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import {
  type BatchPlan,
  expectedCourse,
  generateWorkload,
  runPlan,
  WorkloadDriver,
} from '../../sim/workload.js';
import { CodeBuildEmulator } from '../../tools/local-aws/codebuild/emulator.js';
import { CREDENTIALS } from '../../tools/local-aws/environment.js';

const TICK = 10_000;
const projects = ['web-app', 'api'];

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

  it('defines the expected course: every failure with budget is retried once', () => {
    const random = new Random(4);
    for (const plan of plans(4, 300)) {
      const course = expectedCourse(plan, random, 2, true);
      if (plan.kind === 'healthy') {
        expect(course).toEqual({ retries: 0, finalStatus: 'SUCCEEDED' });
      } else if (plan.kind === 'broken') {
        expect(course).toEqual({ retries: 2, finalStatus: 'FAILED' });
      } else {
        expect(course.retries).toBeGreaterThanOrEqual(1);
        expect(course.retries).toBeLessThanOrEqual(2);
      }
      // Not retried at all when out of scope, or with MaxRetries 0.
      expect(expectedCourse(plan, random, 2, false).retries).toBe(0);
      expect(expectedCourse(plan, random, 0, true).retries).toBe(0);
    }
  });

  it('fails a failing run in one of the groups that actually run', () => {
    const random = new Random(5);
    for (const plan of plans(5, 200)) {
      for (let run = 0; run < 3; run++) {
        const p = runPlan(plan, run, random, TICK, ['unit']);
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

  it('follows the expected course exactly under a perfect retrier', async () => {
    const maxRetries = 2;
    const client = () =>
      new CodeBuildClient({
        region: 'eu-west-1',
        endpoint: emulator?.endpoint,
        credentials: CREDENTIALS,
      });
    const { driver, random } = await drive(7, (d, scheduler) => {
      const codebuild = client();
      // After every step: retry each FAILED batch with budget left, once,
      // the way the service should.
      scheduler.onStep(async () => {
        let retried = false;
        for (const h of d.histories) {
          if (h.status !== 'FAILED' || !h.arn) continue;
          if (h.retries >= maxRetries || h.failures !== h.retries + 1) continue;
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
      const course = expectedCourse(h.plan, random, maxRetries, true);
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
  });
});
