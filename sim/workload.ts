/**
 * The CodeBuild activity of a simulated account: batches with several build
 * groups across a few projects, each healthy, flaky or broken, some failing
 * before any child build exists.
 *
 * Every outcome is a keyed draw on the seed (batch, run, group), so the
 * workload alone determines how each batch would go if every failure with
 * budget left were retried exactly once; that is the expectation the
 * simulation checks the function against.
 */
import type {
  BatchSnapshot,
  CodeBuildEmulator,
  TerminalStatus,
} from '../tools/local-aws/codebuild/emulator.js';
import type { DeliveryPlan } from './bus.js';
import type { SimClock } from './clock.js';
import type { CrashPoint } from './network.js';
import type { Random } from './random.js';
import type { Scheduler } from './scheduler.js';

export type BatchKind = 'healthy' | 'flaky' | 'broken';

/** One run of a batch (the first, or one after a retry). */
export interface RunPlan {
  /** The run fails in DOWNLOAD_BATCHSPEC, before any child build. */
  readonly preBuild: boolean;
  readonly fails: boolean;
  /** Groups that fail in this run (among those that run). */
  readonly failingGroups: readonly string[];
  readonly durationMs: Readonly<Record<string, number>>;
  /** How long after its last child (or its first failure, fast-fail) the batch settles. */
  readonly settleLagMs: number;
}

/** One batch of the workload. */
export interface BatchPlan {
  readonly key: string;
  /** A short description (the demo names its scenarios). */
  readonly label: string;
  readonly project: string;
  readonly kind: BatchKind;
  readonly groups: readonly string[];
  /** Start, relative to the start of the workload (negative: history). */
  readonly startOffsetMs: number;
  /** Stop the other children as soon as one fails (CodeBuild fast-fail). */
  readonly fastFail: boolean;
  /** Runs failing before any child build: the first (transient) or all (broken batchspec). */
  readonly preBuild?: 'first' | 'always';
  /** Explicit runs (the demo); missing runs are drawn from the seed. */
  readonly runs?: readonly Partial<RunPlan>[];
  /** What the demo does to the batch beyond the random faults. */
  readonly script?: BatchScript;
}

/** Faults the demo scripts for one batch. */
export interface BatchScript {
  /** Delays of the copies of the batch's n-th event (0-based); [] loses it. */
  readonly delivery?: (n: number) => DeliveryPlan | undefined;
  /** Kills the first invocation for each failure event of the batch there. */
  readonly crash?: CrashPoint;
  /** RetryBuildBatch calls CodeBuild throttles once the batch first fails. */
  readonly throttleRetry?: number;
}

/** Parameters of {@link generateWorkload}. */
export interface WorkloadOptions {
  readonly batches: number;
  readonly random: Random;
  /** Projects in scope of the deployment. */
  readonly projects: readonly string[];
  /** Projects outside ProjectNames, and the share of batches in them. */
  readonly outOfScopeProjects?: readonly string[];
  readonly outOfScopeShare?: number;
  /** Share of batches failed before the lookback window, starting here (negative). */
  readonly staleShare?: number;
  readonly staleOffsetMs?: number;
  /** Batches start within this window. Default four hours. */
  readonly spreadMs?: number;
  /** All times are whole multiples of this. */
  readonly tickMs: number;
}

/** Shares of healthy and flaky batches (the rest are broken). */
const MIX = { healthy: 0.45, flaky: 0.4 } as const;
/** Build groups a batch can have (2 to 4 of them). */
const GROUP_NAMES = ['build', 'unit', 'lint', 'integration', 'e2e'] as const;
/** Probability that a flaky batch's run after a retry fails again. */
const FLAKY_REFAIL_RATE = 0.4;

/**
 * Draws a workload of `batches` batches.
 *
 * @example
 * const plans = generateWorkload({ batches: 100, random: new Random(1), projects: ['web'], tickMs: 10_000 });
 */
export function generateWorkload(options: WorkloadOptions): BatchPlan[] {
  const r = options.random;
  const spread = options.spreadMs ?? 4 * 3_600_000;
  const tick = options.tickMs;
  const plans: BatchPlan[] = [];
  for (let i = 0; i < options.batches; i++) {
    const key = `b${String(i + 1).padStart(4, '0')}`;
    const stale = r.chanceAt(options.staleShare ?? 0, key, 'stale');
    const outOfScope =
      !stale &&
      (options.outOfScopeProjects?.length ?? 0) > 0 &&
      r.chanceAt(options.outOfScopeShare ?? 0, key, 'scope');
    const projects = outOfScope
      ? (options.outOfScopeProjects as readonly string[])
      : options.projects;
    const project = projects[r.intAt(0, projects.length - 1, key, 'project')];
    const draw = r.at(key, 'kind');
    const kind: BatchKind =
      draw < MIX.healthy
        ? 'healthy'
        : draw < MIX.healthy + MIX.flaky
          ? 'flaky'
          : 'broken';
    const count = r.intAt(2, 4, key, 'groups');
    const groups = GROUP_NAMES.slice(0, count);
    const startOffsetMs = stale
      ? (options.staleOffsetMs ?? -30 * 3_600_000) +
        r.intAt(0, 60, key, 'start') * tick
      : r.intAt(0, Math.floor(spread / tick), key, 'start') * tick;
    const preBuild =
      kind !== 'healthy' && r.chanceAt(0.1, key, 'pre-build')
        ? kind === 'broken'
          ? 'always'
          : 'first'
        : undefined;
    plans.push({
      key,
      label: stale ? 'failed before the lookback window' : kind,
      project: project as string,
      kind: stale ? 'broken' : kind,
      groups,
      startOffsetMs,
      fastFail: r.chanceAt(0.25, key, 'fast-fail'),
      ...(preBuild ? { preBuild } : {}),
    });
  }
  return plans;
}

/** Whether run `run` of `plan` fails before any child build. */
function runPreBuild(plan: BatchPlan, run: number): boolean {
  return (
    plan.runs?.[run]?.preBuild ??
    (plan.preBuild === 'always' || (plan.preBuild === 'first' && run === 0))
  );
}

/** Whether run `run` of `plan` fails. */
function runFails(plan: BatchPlan, run: number, random: Random): boolean {
  const explicit = plan.runs?.[run]?.fails;
  if (explicit !== undefined) return explicit;
  return (
    runPreBuild(plan, run) ||
    plan.kind === 'broken' ||
    (plan.kind === 'flaky' &&
      (run === 0 || random.chanceAt(FLAKY_REFAIL_RATE, plan.key, run)))
  );
}

/** The full plan of run `run` of `plan` (explicit parts win). */
export function runPlan(
  plan: BatchPlan,
  run: number,
  random: Random,
  tickMs: number,
  running: readonly string[] = plan.groups,
): RunPlan {
  const explicit = plan.runs?.[run] ?? {};
  const fails = runFails(plan, run, random);
  const preBuild = runPreBuild(plan, run);
  const durationMs = Object.fromEntries(
    plan.groups.map((group) => [
      group,
      explicit.durationMs?.[group] ??
        random.intAt(3, 20, plan.key, run, group, 'minutes') * 60_000,
    ]),
  );
  let failingGroups = (explicit.failingGroups ?? []).filter((g) =>
    running.includes(g),
  );
  if (fails && !preBuild && failingGroups.length === 0) {
    failingGroups = running.filter((g) =>
      random.chanceAt(0.4, plan.key, run, g, 'fails'),
    );
    if (failingGroups.length === 0) {
      failingGroups = [
        running[random.intAt(0, running.length - 1, plan.key, run)],
      ] as string[];
    }
  }
  if (!fails) failingGroups = [];
  return {
    preBuild,
    fails,
    failingGroups,
    durationMs,
    settleLagMs:
      explicit.settleLagMs ??
      random.intAt(0, Math.floor(120_000 / tickMs), plan.key, run, 'lag') *
        tickMs,
  };
}

/** How the batch goes if every failure with budget left is retried exactly once. */
export function expectedCourse(
  plan: BatchPlan,
  random: Random,
  maxRetries: number,
  retries: boolean,
): { readonly retries: number; readonly finalStatus: 'SUCCEEDED' | 'FAILED' } {
  // Run n follows the n-th retry.
  let count = 0;
  for (; runFails(plan, count, random); count++) {
    if (!retries || count >= maxRetries) {
      return { retries: count, finalStatus: 'FAILED' };
    }
  }
  return { retries: count, finalStatus: 'SUCCEEDED' };
}

/** What happened to one batch in the emulator. */
export interface BatchHistory {
  readonly plan: BatchPlan;
  arn?: string;
  /** Runs started (1 + retries the workload saw). */
  runs: number;
  /** Times the batch settled FAILED. */
  failures: number;
  /** Retries CodeBuild performed (from the emulator's count). */
  retries: number;
  /** Settled status of the latest run, or IN_PROGRESS / NOT_STARTED. */
  status: string;
  settledAt?: number;
  /** Failure-to-retry latencies, ms of simulated time. */
  readonly latenciesMs: number[];
}

/** Options of {@link WorkloadDriver}. */
export interface DriverOptions {
  readonly emulator: CodeBuildEmulator;
  readonly scheduler: Scheduler;
  readonly clock: SimClock;
  readonly random: Random;
  readonly tickMs: number;
  readonly plans: readonly BatchPlan[];
  /** Simulated time that offset 0 stands for. */
  readonly origin: number;
}

/**
 * Drives the emulator through the workload on the simulated clock: starts
 * batches, ends child builds, settles batches, and notices retries (after
 * every step) to start the next run.
 */
export class WorkloadDriver {
  readonly #o: DriverOptions;
  readonly histories: BatchHistory[];
  /** Batches settled FAILED, waiting to see whether they get retried. */
  readonly #awaitingRetry = new Set<BatchHistory>();
  #pendingTasks = 0;
  /** The last simulated instant a batch settled or was retried. */
  lastChangeAt = 0;

  constructor(options: DriverOptions) {
    this.#o = options;
    this.histories = options.plans.map((plan) => ({
      plan,
      runs: 0,
      failures: 0,
      retries: 0,
      status: 'NOT_STARTED',
      latenciesMs: [],
    }));
    this.#o.scheduler.onStep(() => this.#noticeRetries());
  }

  /** Schedules every batch start. */
  start(): void {
    for (const history of this.histories) {
      this.#task(this.#o.origin + history.plan.startOffsetMs, () =>
        this.#startRun(history),
      );
    }
  }

  /** True when no batch is running and nothing is scheduled. */
  get idle(): boolean {
    return (
      this.#pendingTasks === 0 &&
      this.histories.every((h) => h.status !== 'IN_PROGRESS')
    );
  }

  /** The history of the batch with this ARN. */
  byArn(arn: string): BatchHistory | undefined {
    return this.histories.find((h) => h.arn === arn);
  }

  /** Schedules work; with `history`, skipped if a retry started another run meanwhile. */
  #task(at: number, fn: () => void, history?: BatchHistory): void {
    const run = history?.runs;
    this.#pendingTasks++;
    this.#o.scheduler.at(at, () => {
      this.#pendingTasks--;
      if (history && history.runs !== run) return;
      fn();
    });
  }

  #startRun(history: BatchHistory) {
    const { emulator, clock, random, tickMs } = this.#o;
    const { plan } = history;
    const run = runPlan(plan, history.runs++, random, tickMs);
    if (!history.arn) {
      const batch = run.preBuild
        ? emulator.failBatchBeforeBuilds(plan.project)
        : emulator.startBatch(plan.project, { groups: plan.groups });
      history.arn = batch.arn;
      if (run.preBuild) return this.#settled(history, batch);
    } else if (run.preBuild) {
      // A retry of a batch failing before any build: it fails again.
      history.status = 'IN_PROGRESS';
      const settle = () => this.#settle(history, { status: 'FAILED' });
      return this.#task(clock.now() + tickMs, settle, history);
    } else if (!emulator.getBatch(history.arn).buildGroups?.length) {
      // CodeBuild put the retried batch back IN_PROGRESS and started builds
      // for the groups it retries, none if it had failed before any.
      emulator.startGroups(history.arn, plan.groups);
    }
    history.status = 'IN_PROGRESS';
    this.#scheduleChildren(history);
  }

  #scheduleChildren(history: BatchHistory): void {
    const arn = history.arn as string;
    const now = this.#o.clock.now();
    const groupOf = new Map(
      (this.#o.emulator.getBatch(arn).buildGroups ?? []).map((g) => [
        g.currentBuildSummary?.arn,
        g.identifier ?? '?',
      ]),
    );
    const running = this.#o.emulator
      .currentBuilds(arn)
      .filter((b) => b.buildStatus === 'IN_PROGRESS')
      .map((build) => ({ build, group: groupOf.get(build.arn) ?? '?' }));
    const groups = running.map((r) => r.group);
    const { random, tickMs } = this.#o;
    const run = runPlan(history.plan, history.runs - 1, random, tickMs, groups);
    for (const { build, group } of running) {
      const status: TerminalStatus = run.failingGroups.includes(group)
        ? 'FAILED'
        : 'SUCCEEDED';
      const duration = Math.max(
        this.#o.tickMs,
        run.durationMs[group] ?? this.#o.tickMs,
      );
      this.#task(
        now + duration,
        () => this.#complete(history, build.arn, status, run),
        history,
      );
    }
  }

  #complete(
    history: BatchHistory,
    buildArn: string,
    status: TerminalStatus,
    run: RunPlan,
  ): void {
    const arn = history.arn as string;
    if (this.#o.emulator.getBuild(buildArn).buildStatus !== 'IN_PROGRESS') {
      return; // stopped by fast-fail
    }
    this.#o.emulator.completeBuild(buildArn, status);
    const running = this.#o.emulator
      .currentBuilds(arn)
      .some((b) => b.buildStatus === 'IN_PROGRESS');
    const fastFail = history.plan.fastFail && status !== 'SUCCEEDED';
    if (running && !fastFail) return;
    this.#task(
      this.#o.clock.now() + run.settleLagMs,
      () => this.#settle(history, { force: true }),
      history,
    );
  }

  #settle(
    history: BatchHistory,
    options: { force?: boolean; status?: TerminalStatus },
  ): void {
    const arn = history.arn as string;
    const { emulator } = this.#o;
    if (emulator.getBatch(arn).buildBatchStatus !== 'IN_PROGRESS') return;
    this.#settled(history, emulator.settleBatch(arn, options));
  }

  #settled(history: BatchHistory, batch: BatchSnapshot): void {
    history.status = batch.buildBatchStatus;
    history.settledAt = this.#o.clock.now();
    this.lastChangeAt = this.#o.clock.now();
    if (batch.buildBatchStatus === 'FAILED') {
      history.failures++;
      this.#awaitingRetry.add(history);
    }
  }

  /** After each step: batches CodeBuild retried start their next run. */
  #noticeRetries(): void {
    for (const history of [...this.#awaitingRetry]) {
      const count = this.#o.emulator.retryCount(history.arn as string);
      if (count === history.retries) continue;
      history.retries = count;
      history.latenciesMs.push(
        this.#o.clock.now() - (history.settledAt ?? this.#o.clock.now()),
      );
      this.lastChangeAt = this.#o.clock.now();
      this.#awaitingRetry.delete(history);
      this.#startRun(history);
    }
  }
}
