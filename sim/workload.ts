/**
 * The CodeBuild activity of a simulated account: batches with several build
 * groups across a few projects, each healthy, flaky or broken, some failing
 * before any child build exists.
 *
 * Every outcome is a keyed draw on the seed (batch, run, group), so the
 * workload alone determines how each batch would go if every failure whose
 * groups all failed in a retryable class, with budget left, were retried
 * exactly once; that is the expectation the simulation checks the function
 * against.
 */
import type { FailureClass } from '../lambda/contract.js';
import type {
  BatchSnapshot,
  CodeBuildEmulator,
  TerminalStatus,
} from '../tools/local-aws/codebuild/emulator.js';
import {
  type BuildFailure,
  FAILURES,
} from '../tools/local-aws/codebuild/failures.js';
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
  /** How each failing group fails (explicit ones may name only some). */
  readonly causes: Readonly<Record<string, CauseName>>;
  readonly durationMs: Readonly<Record<string, number>>;
  /** How long after its last child (or its first failure, fast-fail) the batch settles. */
  readonly settleLagMs: number;
}

/**
 * The settle delay, in seconds: how long after its last child ends (or its
 * first child fails, with fast-fail) CodeBuild marks a batch FAILED or
 * SUCCEEDED. Drawn uniformly in whole seconds from `[min, max]`, keyed on
 * batch and run; `npm run simulate -- --settle-delay MIN-MAX` sets it.
 */
export const DEFAULT_SETTLE_DELAY_SECONDS = [5, 120] as const;

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
  /** Settle delay range, seconds (default {@link DEFAULT_SETTLE_DELAY_SECONDS}). */
  readonly settleDelaySeconds?: readonly [number, number];
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
  /** Projects of a few batches (out of scope, opted out), and their share. */
  readonly rareProjects?: readonly string[];
  readonly rareShare?: number;
  /** Share of batches failed before the lookback window, starting here (negative). */
  readonly staleShare?: number;
  readonly staleOffsetMs?: number;
  /** Batches start within this window. Default four hours. */
  readonly spreadMs?: number;
  /** Start times are whole multiples of this. */
  readonly tickMs: number;
  /** Settle delay range, seconds (default {@link DEFAULT_SETTLE_DELAY_SECONDS}). */
  readonly settleDelaySeconds?: readonly [number, number];
}

/** How a failing group ends, and the class the function must find in it. */
interface Cause {
  readonly status: TerminalStatus;
  /** The emulator's preset (none: CodeBuild's default context for `status`). */
  readonly failure?: BuildFailure;
  readonly class: FailureClass;
}

/** A FAILED build failing as the emulator's preset `name` says. */
function failed(name: keyof typeof FAILURES, cls: FailureClass): Cause {
  return { status: 'FAILED', failure: FAILURES[name], class: cls };
}

/**
 * The causes a failing group can have. Each class was checked by running
 * the function's classifier on the emulator's build (test/sim/workload.test.ts),
 * with the default RetryExitCodes (137) and no RetryPatterns.
 */
export const CAUSES = {
  outOfMemory: failed('outOfMemory', 'transient'),
  /** Transient only by its log tail, which also prints the project's secret. */
  networkInLog: failed('networkInLog', 'transient'),
  pullRateLimit: failed('pullRateLimit', 'infrastructure'),
  containerDead: failed('containerDead', 'infrastructure'),
  fault: { status: 'FAULT', class: 'infrastructure' },
  sourceUnavailable: failed('sourceUnavailable', 'source'),
  timedOut: { status: 'TIMED_OUT', class: 'timeout' },
  testFailure: failed('testFailure', 'script'),
  brokenBuildspec: failed('brokenBuildspec', 'configuration'),
  missingImage: failed('missingImage', 'configuration'),
  noArtifacts: failed('noArtifacts', 'configuration'),
} as const satisfies Record<string, Cause>;

/** The name of one of {@link CAUSES}. */
export type CauseName = keyof typeof CAUSES;

/**
 * The failure mix: weights of the causes each kind of failing run draws
 * from, per failing group (keyed on batch, run and group).
 *
 * | mix        | cause (weight)                       | class          |
 * |------------|--------------------------------------|----------------|
 * | flaky      | outOfMemory (2), networkInLog (2)    | transient      |
 * |            | pullRateLimit (1.5), containerDead (1), FAULT (1) | infrastructure |
 * |            | sourceUnavailable (1.5)              | source         |
 * |            | TIMED_OUT (1)                        | timeout        |
 * | genuine    | testFailure (5)                      | script         |
 * |            | brokenBuildspec (2), missingImage (1.5), noArtifacts (1.5) | configuration |
 * | persistent | outOfMemory, containerDead, TIMED_OUT (1 each) | transient, infrastructure, timeout |
 *
 * Flaky batches draw every failing group from `flaky`. A broken batch is
 * `persistent` with probability {@link PERSISTENT_SHARE}: one cause, drawn
 * once, fails it every run (retried until the budget is spent); otherwise its
 * first failing group draws from `genuine` and the others from both mixes
 * (so a retryable group next to a test failure must not be retried). With
 * fast-fail, siblings may be stopped before they fail, so every failing group
 * of a run shares one cause, drawn per run. Runs failing before any build fail
 * in DOWNLOAD_BATCHSPEC: the first run of a flaky batch with the context of
 * a source download failure (class unknown), every run of a broken one with
 * YAML_FILE_ERROR (configuration).
 */
export const FAILURE_MIX = {
  flaky: {
    outOfMemory: 2,
    networkInLog: 2,
    pullRateLimit: 1.5,
    containerDead: 1,
    fault: 1,
    sourceUnavailable: 1.5,
    timedOut: 1,
  },
  genuine: {
    testFailure: 5,
    brokenBuildspec: 2,
    missingImage: 1.5,
    noArtifacts: 1.5,
  },
  persistent: { outOfMemory: 1, timedOut: 1, containerDead: 1 },
} as const satisfies Record<string, Partial<Record<CauseName, number>>>;

/** Share of broken batches failing the same retryable way every run. */
const PERSISTENT_SHARE = 1 / 3;

/** The batch's DOWNLOAD_BATCHSPEC context when it fails before any build. */
export const PRE_BUILD = {
  first: { context: FAILURES.sourceUnavailable, class: 'unknown' },
  always: { context: undefined, class: 'configuration' },
} as const;

/** A keyed weighted draw of a cause. */
function pickAt(
  weights: Partial<Record<CauseName, number>>,
  random: Random,
  ...key: (string | number)[]
): CauseName {
  const entries = Object.entries(weights) as [CauseName, number][];
  let left = random.at(...key) * entries.reduce((n, [, w]) => n + w, 0);
  for (const [name, weight] of entries) {
    left -= weight;
    if (left < 0) return name;
  }
  return (entries.at(-1) as [CauseName, number])[0];
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
    const rare =
      !stale &&
      (options.rareProjects?.length ?? 0) > 0 &&
      r.chanceAt(options.rareShare ?? 0, key, 'scope');
    const projects = rare
      ? (options.rareProjects as readonly string[])
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
      ...(options.settleDelaySeconds && {
        settleDelaySeconds: options.settleDelaySeconds,
      }),
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
  running: readonly string[] = plan.groups,
): RunPlan {
  const explicit = plan.runs?.[run] ?? {};
  const settleDelay = plan.settleDelaySeconds ?? DEFAULT_SETTLE_DELAY_SECONDS;
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
    causes: causesOf(plan, run, random, failingGroups),
    durationMs,
    settleLagMs:
      explicit.settleLagMs ??
      random.intAt(...settleDelay, plan.key, run, 'lag') * 1000,
  };
}

/** How each failing group of a run fails (see {@link FAILURE_MIX}). */
function causesOf(
  plan: BatchPlan,
  run: number,
  random: Random,
  failingGroups: readonly string[],
): Record<string, CauseName> {
  const explicit = plan.runs?.[run]?.causes ?? {};
  const persistent =
    plan.kind === 'broken' &&
    random.chanceAt(PERSISTENT_SHARE, plan.key, 'persistent');
  const draw = (group: string, i: number): CauseName => {
    if (plan.kind !== 'broken') {
      return pickAt(FAILURE_MIX.flaky, random, plan.key, run, group, 'cause');
    }
    if (persistent)
      return pickAt(FAILURE_MIX.persistent, random, plan.key, 'cause');
    const mix =
      i === 0
        ? FAILURE_MIX.genuine
        : { ...FAILURE_MIX.flaky, ...FAILURE_MIX.genuine };
    return pickAt(mix, random, plan.key, run, group, 'cause');
  };
  // With fast-fail the run's one cause must not depend on which groups run.
  const shared = plan.fastFail ? draw('*', 0) : undefined;
  return Object.fromEntries(
    failingGroups.map((group, i) => [
      group,
      explicit[group] ?? shared ?? draw(group, i),
    ]),
  );
}

/** The failure classes of a failed run: one per failing group, or the batch's own. */
export function runClasses(run: RunPlan, plan: BatchPlan): FailureClass[] {
  if (run.preBuild) return [PRE_BUILD[plan.preBuild ?? 'always'].class];
  return run.failingGroups.map(
    (g) => CAUSES[run.causes[g] ?? 'testFailure'].class,
  );
}

/** A project's effective retry policy: the stack's, overridden by its tags. */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly retryOn: readonly FailureClass[];
  readonly retryType: string;
}

/**
 * How the batch goes if every failure whose classes are all in RetryOn is
 * retried exactly once while budget is left (`policy` undefined: never).
 * Later runs fail among the groups the retry reran: the failed ones with
 * RETRY_FAILED_BUILDS (with fast-fail, one cause per run makes this moot).
 */
export function expectedCourse(
  plan: BatchPlan,
  random: Random,
  policy: RetryPolicy | undefined,
): { readonly retries: number; readonly finalStatus: 'SUCCEEDED' | 'FAILED' } {
  // Run n follows the n-th retry.
  let running = plan.groups;
  for (let count = 0; ; count++) {
    const run = runPlan(plan, count, random, running);
    if (!run.fails) return { retries: count, finalStatus: 'SUCCEEDED' };
    const retryable = runClasses(run, plan).every((c) =>
      policy?.retryOn.includes(c),
    );
    if (!policy || !retryable || count >= policy.maxRetries) {
      return { retries: count, finalStatus: 'FAILED' };
    }
    if (policy.retryType !== 'RETRY_ALL_BUILDS' && !run.preBuild) {
      running = run.failingGroups;
    }
  }
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
  /** Every FAILED run: its groups' classes, whether a retry and a success followed. */
  readonly failedRuns: {
    classes: FailureClass[];
    retried: boolean;
    healed: boolean;
    /** The run's number (1: the first). */
    run: number;
    settledAt: number;
    retriedAt?: number;
  }[];
  /** Classes of the groups that failed so far in the current run. */
  classes: FailureClass[];
  /** The current run started during its project's outage. */
  inOutage?: boolean;
}

/**
 * A project's infrastructure outage, in ms after the origin: every run of
 * its batches that starts inside the window fails in every group with an
 * image pull rate limit, a minute in, however often it is retried
 * (batches planned to fail before any build keep failing that way).
 */
export interface ProjectOutage {
  readonly project: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/** A run that starts during its project's outage (see {@link ProjectOutage}). */
function outageRun(run: RunPlan, running: readonly string[]): RunPlan {
  return {
    ...run,
    preBuild: false,
    fails: true,
    failingGroups: running,
    causes: Object.fromEntries(running.map((g) => [g, 'pullRateLimit'])),
    durationMs: Object.fromEntries(running.map((g) => [g, 60_000])),
  };
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
  /** The project's secret, which networkInLog builds print into their log. */
  readonly secretOf?: (project: string) => string | undefined;
  readonly outage?: ProjectOutage;
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
      failedRuns: [],
      classes: [],
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
    const { outage, origin } = this.#o;
    const at = clock.now() - origin;
    // Batches planned to fail before any build keep doing so.
    history.inOutage =
      outage?.project === plan.project &&
      !plan.preBuild &&
      at >= outage.fromMs &&
      at < outage.toMs;
    const planned = runPlan(plan, history.runs++, random);
    const run = history.inOutage ? outageRun(planned, plan.groups) : planned;
    const preBuild = PRE_BUILD[plan.preBuild ?? 'always'];
    history.classes = run.preBuild ? [preBuild.class] : [];
    if (!history.arn) {
      const batch = run.preBuild
        ? emulator.failBatchBeforeBuilds(plan.project, preBuild.context)
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
    const { random } = this.#o;
    const planned = runPlan(history.plan, history.runs - 1, random, groups);
    const run = history.inOutage ? outageRun(planned, groups) : planned;
    for (const { build, group } of running) {
      const name = run.failingGroups.includes(group)
        ? (run.causes[group] ?? 'testFailure')
        : undefined;
      const duration = Math.max(
        this.#o.tickMs,
        run.durationMs[group] ?? this.#o.tickMs,
      );
      this.#task(
        now + duration,
        () => this.#complete(history, build.arn, name && CAUSES[name], run),
        history,
      );
    }
  }

  #complete(
    history: BatchHistory,
    buildArn: string,
    cause: Cause | undefined,
    run: RunPlan,
  ): void {
    const arn = history.arn as string;
    const { emulator, secretOf } = this.#o;
    if (emulator.getBuild(buildArn).buildStatus !== 'IN_PROGRESS') {
      return; // stopped by fast-fail
    }
    const secret = secretOf?.(history.plan.project);
    const failure =
      cause?.failure && secret && cause === CAUSES.networkInLog
        ? {
            ...cause.failure,
            log: [...(cause.failure.log ?? []), `NPM_TOKEN=${secret}`],
          }
        : cause?.failure;
    emulator.completeBuild(buildArn, cause?.status ?? 'SUCCEEDED', failure);
    if (cause) history.classes.push(cause.class);
    const running = emulator
      .currentBuilds(arn)
      .some((b) => b.buildStatus === 'IN_PROGRESS');
    const fastFail = history.plan.fastFail && cause !== undefined;
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
    const last = history.failedRuns.at(-1);
    if (batch.buildBatchStatus === 'FAILED') {
      history.failures++;
      history.failedRuns.push({
        classes: history.classes,
        retried: false,
        healed: false,
        run: history.runs,
        settledAt: this.#o.clock.now(),
      });
      this.#awaitingRetry.add(history);
    } else if (last?.retried && batch.buildBatchStatus === 'SUCCEEDED') {
      last.healed = true;
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
      const last = history.failedRuns.at(-1);
      const retriedAt = this.#o.clock.now();
      if (last) Object.assign(last, { retried: true, retriedAt });
      this.#startRun(history);
    }
  }
}
