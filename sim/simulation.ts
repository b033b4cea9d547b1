/**
 * One simulated account, end to end: the synthesized stack(s) deployed onto
 * emulated AWS, a CodeBuild workload, faults, and the figures and invariants
 * that come out.
 *
 *   workload ─▶ CodeBuild emulator ─▶ delivery faults ─▶ bus (rule pattern)
 *                     ▲                                       │
 *                     │ JSON 1.1 over 127.0.0.1                ▼
 *               per-environment endpoint ◀── bundled function (worker threads,
 *                     │                      Lambda async semantics)
 *                     ▼                                       ▲
 *                  dynalite (template's table)     schedule (simulated clock)
 */

import type { CodeBuildEmulator } from '../tools/local-aws/codebuild/emulator.js';
import {
  type Deployment,
  resolveDeployment,
} from '../tools/local-aws/deployment.js';
import { createTable } from '../tools/local-aws/dynamo.js';
import { functionEnvironment } from '../tools/local-aws/environment.js';
import { type LocalAws, startLocalAws } from '../tools/local-aws/local-aws.js';
import type { Assembly } from '../tools/local-aws/synth.js';
import {
  type BusEvent,
  type DeliveryPlan,
  EventBus,
  EventDelivery,
} from './bus.js';
import { SIM_EPOCH, SimClock } from './clock.js';
import {
  type DeadLetter,
  type InvocationRecord,
  LambdaRuntime,
} from './lambda-runtime.js';
import {
  type CallRecord,
  CRASH_POINTS,
  type CrashPoint,
  Network,
} from './network.js';
import { Random } from './random.js';
import { Scheduler } from './scheduler.js';
import {
  type BatchHistory,
  type BatchPlan,
  type BatchScope,
  expectedCourse,
  WorkloadDriver,
} from './workload.js';

/** Fault knobs of a run. */
export interface FaultKnobs {
  /** Share of events delivered twice. */
  readonly dup: number;
  /** Share of events lost. */
  readonly drop: number;
  /** Share of events held back behind later ones. */
  readonly reorder: number;
  /** Longest hold-back of a reordered event or a duplicate. */
  readonly maxDelayMs: number;
  /** Share of CodeBuild calls answered with ThrottlingException. */
  readonly throttle: number;
  /** Share of CodeBuild calls answered with HTTP 500. */
  readonly serverErrors: number;
  /** Share of DynamoDB calls answered with a throttling error. */
  readonly dynamoThrottle: number;
  /**
   * Probability that an invocation is killed at each of `crashPoints` it
   * reaches.
   */
  readonly crash: number;
  readonly crashPoints: readonly CrashPoint[];
  /** DynamoDB unreachable from `atMs` (after the workload's origin) for `durationMs`. */
  readonly outage?: { readonly atMs: number; readonly durationMs: number };
}

/** No faults at all. */
export const NO_FAULTS: FaultKnobs = {
  dup: 0,
  drop: 0,
  reorder: 0,
  maxDelayMs: 5 * 60_000,
  throttle: 0,
  serverErrors: 0,
  dynamoThrottle: 0,
  crash: 0,
  crashPoints: CRASH_POINTS,
};

/** One stack deployed into the simulated account. */
export interface StackConfig {
  readonly stackName: string;
  /** CloudFormation parameter values (`--parameters`). */
  readonly parameters?: Readonly<Record<string, string>>;
}

/** What the demo scripts for chosen batches. */
export interface Script {
  /** Delivery of the n-th event (0-based) a batch's builds emit. */
  readonly delivery?: (
    plan: BatchPlan,
    event: BusEvent,
    n: number,
  ) => DeliveryPlan | undefined;
  /** Called when a build of the batch emits an event, before delivery. */
  readonly onEvent?: (
    plan: BatchPlan,
    event: BusEvent,
    emulator: CodeBuildEmulator,
  ) => void;
  /** Kill an invocation handling an event of this batch. */
  readonly crash?: (
    plan: BatchPlan,
    event: BusEvent,
    attempt: number,
  ) => CrashPoint | undefined;
}

/** Progress, reported while running. */
export interface Progress {
  readonly simulatedMs: number;
  readonly events: number;
  readonly invocations: number;
  readonly retries: number;
  readonly settled: number;
  readonly batches: number;
}

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  readonly seed: number;
  readonly assembly: Assembly;
  readonly plans: readonly BatchPlan[];
  readonly stacks?: readonly StackConfig[];
  readonly faults?: Partial<FaultKnobs>;
  /** Workload times are multiples of this. Default 10 s. */
  readonly tickMs?: number;
  /** Concurrency of an unreserved function. Default 6. */
  readonly accountConcurrency?: number;
  /** Real-time factor of timers inside the function. Default 0.05. */
  readonly timerScale?: number;
  /** Longest simulated run after the origin. Default 20 h. */
  readonly maxDurationMs?: number;
  readonly script?: Script;
  readonly onProgress?: (progress: Progress) => void;
}

/** One batch's outcome against the expectation. */
export interface BatchResult {
  readonly key: string;
  readonly label: string;
  readonly project: string;
  readonly kind: BatchPlan['kind'];
  readonly scope: BatchScope;
  readonly stack?: string;
  readonly arn?: string;
  readonly failures: number;
  readonly retries: number;
  readonly expectedRetries: number;
  readonly expectedStatus: string;
  readonly status: string;
  readonly maxRetries: number;
  /** Attempts the budget item holds (absent: no item). */
  readonly budgetRetries?: number;
  readonly latenciesMs: readonly number[];
}

/** Figures of a run; the invariants are `overRetries`, `missedRetries`, `budgetExceeded`. */
export interface Figures {
  readonly seed: number;
  readonly batches: number;
  /** Build State Change events CodeBuild emitted (while deployed). */
  readonly events: number;
  readonly deliveries: {
    readonly copies: number;
    readonly dropped: number;
    readonly duplicated: number;
    readonly reordered: number;
    readonly matchedByRule: number;
  };
  readonly invocations: number;
  readonly invocationOutcomes: {
    readonly ok: number;
    readonly error: number;
    readonly killed: number;
    readonly coldStarts: number;
    readonly lambdaRetries: number;
    readonly throttledByConcurrency: number;
    readonly sweeps: number;
    /** Environments Lambda reclaimed after staying idle. */
    readonly reclaimed: number;
  };
  readonly crashes: Readonly<Record<string, number>>;
  readonly apiCalls: Readonly<Record<string, number>>;
  readonly faultsInjected: {
    readonly codebuildThrottles: number;
    readonly codebuildServerErrors: number;
    readonly dynamodbThrottles: number;
    readonly dynamodbOutageResets: number;
  };
  readonly retriesIssued: number;
  readonly expectedRetries: number;
  readonly overRetries: number;
  readonly missedRetries: number;
  readonly budgetExceeded: number;
  /** Batches whose budget item disagrees with CodeBuild's retry count. */
  readonly budgetMismatches: number;
  readonly flakyRecovered: number;
  readonly flakyTotal: number;
  readonly brokenExhausted: number;
  readonly wouldRetry: number;
  readonly dlqMessages: number;
  readonly failureToRetrySeconds: {
    readonly p50: number;
    readonly p95: number;
    readonly max: number;
  };
  /** Log lines holding an environment-variable value from an event. */
  readonly secretLeaks: number;
  readonly logLines: number;
  /** Batches still running when the simulation stopped (should be 0). */
  readonly unfinished: number;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
  readonly steps: number;
}

/** Everything a run produced. */
export interface SimulationResult {
  readonly figures: Figures;
  readonly batches: readonly BatchResult[];
  readonly invocations: readonly InvocationRecord[];
  readonly deadLetters: readonly DeadLetter[];
  /** Every line the function wrote, with its stack. */
  readonly logs: readonly { readonly stack: string; readonly line: string }[];
  readonly secrets: readonly string[];
  readonly deployments: readonly Deployment[];
  /** Any invariant broken: over-retries, missed retries, budget excess, leaks. */
  readonly ok: boolean;
}

interface Stack {
  readonly config: StackConfig;
  readonly deployment: Deployment;
  readonly runtime: LambdaRuntime;
  readonly network: Network;
  readonly maxRetries: number;
  readonly dryRun: boolean;
  readonly projectNames: readonly string[];
}

/**
 * Runs one simulation to quiescence and returns its figures.
 *
 * @example
 * const result = await runSimulation({ seed: 1, assembly, plans });
 * if (!result.ok) process.exitCode = 1;
 */
export async function runSimulation(
  options: SimulationOptions,
): Promise<SimulationResult> {
  const wallStart = performance.now();
  const tickMs = options.tickMs ?? 10_000;
  const faults: FaultKnobs = { ...NO_FAULTS, ...options.faults };
  const random = new Random(options.seed);
  const origin = SIM_EPOCH;
  const earliest = Math.min(0, ...options.plans.map((p) => p.startOffsetMs));
  const clock = new SimClock(origin + earliest - tickMs);
  const scheduler = new Scheduler(clock);

  const services = await startLocalAws({ now: clock.now, tables: [] });
  const { codebuild: emulator, dynamo } = services;
  const stacks: Stack[] = [];
  const invocations: InvocationRecord[] = [];
  const deadLetters: DeadLetter[] = [];
  const logs: { stack: string; line: string }[] = [];
  const calls: CallRecord[] = [];
  const apiCalls: Record<string, number> = {};
  let deliveryStats: EventDelivery['stats'] | undefined;
  try {
    for (const [i, config] of (
      options.stacks ?? [{ stackName: options.assembly.stackName }]
    ).entries()) {
      const deployment = resolveDeployment(options.assembly, {
        stackName: config.stackName,
        parameters: config.parameters,
      });
      await createTable(dynamo.client, deployment.table);
      const network = new Network({
        codebuildEndpoint: emulator.endpoint,
        dynamodbEndpoint: dynamo.endpoint,
        random: random.fork(`network-${i}`),
        faults: { dynamodbThrottleRate: faults.dynamoThrottle },
        onCall: (call) => {
          calls.push(call);
          const key = `${call.service}:${call.operation}`;
          apiCalls[key] = (apiCalls[key] ?? 0) + 1;
        },
      });
      const crashRandom = random.fork(`crash-${i}`);
      const runtime = new LambdaRuntime({
        deployment,
        clock,
        scheduler,
        network,
        random: random.fork(`lambda-${i}`),
        accountConcurrency: options.accountConcurrency ?? 6,
        timerScale: options.timerScale,
        baseEnvironment: functionEnvironment(),
        crashPlan: ({ event, attempt }) => {
          const scripted = scriptedCrash(event.payload, attempt);
          return (point) =>
            point === scripted ||
            (faults.crashPoints.includes(point) &&
              crashRandom.chanceAt(
                faults.crash,
                'crash',
                event.seq,
                attempt,
                point,
              ));
        },
        onInvocation: (record) => invocations.push(record),
        onDeadLetter: (message) => deadLetters.push(message),
        onLog: (line) => logs.push({ stack: config.stackName, line }),
      });
      const parameters = deployment.parameters;
      stacks.push({
        config,
        deployment,
        runtime,
        network,
        maxRetries: Number(parameters.MaxRetries ?? 2),
        dryRun: parameters.DryRun === 'true',
        projectNames: (
          (parameters.ProjectNames as string[] | undefined) ?? []
        ).filter((n) => n.length > 0),
      });
    }

    const bus = new EventBus(clock, scheduler, random.fork('bus'));
    for (const stack of stacks) {
      bus.subscribe(
        stack.deployment.rules,
        stack.runtime,
        stack.deployment.environment,
      );
    }

    // Projects, each with a secret in its environment variables: CodeBuild
    // puts them, in plaintext, into every event.
    const secrets: string[] = [];
    for (const project of new Set(options.plans.map((p) => p.project))) {
      const secret = `sk-sim-${project}-${random.fork(project).int(1e8, 9e8)}`;
      secrets.push(secret);
      emulator.createProject(project, {
        environmentVariables: [
          { name: 'STAGE', value: 'ci' },
          { name: 'NPM_TOKEN', value: secret },
        ],
      });
    }

    const workload = new WorkloadDriver({
      emulator,
      scheduler,
      clock,
      random: random.fork('workload'),
      tickMs,
      plans: options.plans,
      origin,
    });
    const eventsPerBatch = new Map<BatchPlan, number>();
    const planOfEvent = (event: BusEvent): BatchPlan | undefined => {
      const detail = event.detail as Record<string, unknown> | undefined;
      const buildArn = detail?.['build-id'];
      if (typeof buildArn !== 'string') return undefined;
      try {
        const batchArn = emulator.getBuild(buildArn).buildBatchArn;
        return batchArn ? workload.byArn(batchArn)?.plan : undefined;
      } catch {
        return undefined;
      }
    };
    function scriptedCrash(payload: unknown, attempt: number) {
      if (!options.script?.crash || typeof payload !== 'object')
        return undefined;
      const plan = planOfEvent(payload as BusEvent);
      return plan
        ? options.script.crash(plan, payload as BusEvent, attempt)
        : undefined;
    }
    const delivery = new EventDelivery({
      bus,
      scheduler,
      random: random.fork('delivery'),
      tickMs,
      faults,
      override: options.script?.delivery
        ? (event) => {
            const plan = planOfEvent(event);
            if (!plan) return undefined;
            const n = eventsPerBatch.get(plan) ?? 0;
            eventsPerBatch.set(plan, n + 1);
            return options.script?.delivery?.(plan, event, n);
          }
        : undefined,
    });
    deliveryStats = delivery.stats;
    // Events before the deployment existed go nowhere.
    emulator.onEvent((raw) => {
      if (clock.now() < origin) return;
      const event = raw as unknown as BusEvent;
      const onEvent = options.script?.onEvent;
      if (onEvent) {
        const plan = planOfEvent(event);
        if (plan) onEvent(plan, event, emulator);
      }
      delivery.emit(event);
    });
    emulator.setFaults({
      throttleRate: faults.throttle,
      serverErrorRate: faults.serverErrors,
      random: (() => {
        const r = random.fork('codebuild-faults');
        return () => r.next();
      })(),
    });

    workload.start();
    // History: batches that ran (and failed) before the deployment.
    await scheduler.runUntil(origin - 1);
    clock.set(Math.max(clock.now(), origin));

    let outageOver = faults.outage === undefined;
    if (faults.outage) {
      const { atMs, durationMs } = faults.outage;
      scheduler.at(origin + atMs, 'outage-start', () => dynamo.interrupt());
      scheduler.at(origin + atMs + durationMs, 'outage-end', async () => {
        await dynamo.resume();
        outageOver = true;
      });
    }

    const sweepPeriod = Math.max(
      ...stacks.flatMap((s) =>
        s.deployment.rules.map((r) => r.scheduleRateMs ?? 0),
      ),
      60_000,
    );
    // Quiet long enough for three sweeps and Lambda's two retries.
    const quietMs = 3 * sweepPeriod + 4 * 60_000;
    let finished = false;
    const done = () =>
      finished ||
      (outageOver &&
        workload.idle &&
        stacks.every((s) => s.runtime.outstanding === 0) &&
        clock.now() - Math.max(workload.lastChangeAt, origin) >= quietMs);
    bus.startSchedules(origin, done);

    let lastProgress = 0;
    scheduler.onStep(() => {
      if (!options.onProgress) return;
      const real = performance.now();
      if (real - lastProgress < 200) return;
      lastProgress = real;
      options.onProgress(progress());
    });
    const progress = (): Progress => ({
      simulatedMs: clock.now() - origin,
      events: delivery.stats.emitted,
      invocations: invocations.length,
      retries: workload.histories.reduce((n, h) => n + h.retries, 0),
      settled: workload.histories.filter(
        (h) => h.status !== 'IN_PROGRESS' && h.status !== 'NOT_STARTED',
      ).length,
      batches: workload.histories.length,
    });

    await scheduler.runUntil(
      origin + (options.maxDurationMs ?? 20 * 3_600_000),
      done,
    );
    finished = true;
    options.onProgress?.(progress());
    for (const stack of stacks) await stack.runtime.close();

    // ---- results -------------------------------------------------------
    const budgets = new Map<string, number>();
    for (const stack of stacks) {
      for (const item of await dynamo.scan(stack.deployment.table.name)) {
        const id = String(item.id);
        if (id.startsWith('batch#') && item.retries !== undefined) {
          budgets.set(id.slice('batch#'.length), Number(item.retries));
        }
      }
    }
    const batches = workload.histories.map((h) =>
      batchResult(h, stacks, budgets, random.fork('workload'), origin),
    );
    const figures = summarize({
      seed: options.seed,
      batches,
      stacks,
      invocations,
      deadLetters,
      logs,
      secrets,
      calls,
      apiCalls,
      delivery: deliveryStats,
      matched: bus.stats.matched,
      emulator: services,
      simulatedMs: clock.now() - origin,
      wallMs: performance.now() - wallStart,
      steps: scheduler.steps,
    });
    return {
      figures,
      batches,
      invocations,
      deadLetters,
      logs,
      secrets,
      deployments: stacks.map((s) => s.deployment),
      ok:
        figures.overRetries === 0 &&
        figures.missedRetries === 0 &&
        figures.budgetExceeded === 0 &&
        figures.secretLeaks === 0 &&
        figures.unfinished === 0,
    };
  } finally {
    for (const stack of stacks) {
      await stack.runtime.close().catch(() => undefined);
      await stack.network.close().catch(() => undefined);
    }
    await services.stop();
  }
}

function scopeOf(
  plan: BatchPlan,
  stacks: readonly Stack[],
  origin: number,
): { scope: BatchScope; stack?: Stack } {
  const covering = stacks.filter(
    (s) => s.projectNames.length === 0 || s.projectNames.includes(plan.project),
  );
  const retrying = covering.filter((s) => !s.dryRun);
  if (retrying.length > 1) {
    throw new Error(
      `project ${plan.project} is in scope of ${retrying.length} retrying stacks`,
    );
  }
  const stack = retrying[0] ?? covering[0];
  if (!stack) return { scope: 'out-of-scope' };
  const lookbackMs =
    Number(stack.deployment.parameters.LookbackHours ?? 24) * 3_600_000;
  // History batches end within an hour of their start; the window is
  // measured from the deployment, the earliest moment anything looks.
  if (
    plan.startOffsetMs < 0 &&
    origin + plan.startOffsetMs + 3_600_000 < origin - lookbackMs
  ) {
    return { scope: 'stale', stack };
  }
  return { scope: stack.dryRun ? 'dry-run' : 'retry', stack };
}

function batchResult(
  history: BatchHistory,
  stacks: readonly Stack[],
  budgets: ReadonlyMap<string, number>,
  random: Random,
  origin: number,
): BatchResult {
  const { plan } = history;
  const { scope, stack } = scopeOf(plan, stacks, origin);
  const maxRetries = stack?.maxRetries ?? 0;
  const course = expectedCourse(plan, random, maxRetries, scope === 'retry');
  return {
    key: plan.key,
    label: plan.label,
    project: plan.project,
    kind: plan.kind,
    scope,
    stack: stack?.config.stackName,
    arn: history.arn,
    failures: history.failures,
    retries: history.retries,
    expectedRetries: course.retries,
    expectedStatus: course.finalStatus,
    status: history.status,
    maxRetries,
    budgetRetries: history.arn ? budgets.get(history.arn) : undefined,
    latenciesMs: history.latenciesMs,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil((p / 100) * sorted.length) - 1),
  );
  return sorted[index] as number;
}

function summarize(input: {
  seed: number;
  batches: readonly BatchResult[];
  stacks: readonly Stack[];
  invocations: readonly InvocationRecord[];
  deadLetters: readonly DeadLetter[];
  logs: readonly { stack: string; line: string }[];
  secrets: readonly string[];
  calls: readonly CallRecord[];
  apiCalls: Readonly<Record<string, number>>;
  delivery: EventDelivery['stats'] | undefined;
  matched: number;
  emulator: LocalAws;
  simulatedMs: number;
  wallMs: number;
  steps: number;
}): Figures {
  const { batches, invocations, calls } = input;
  let over = 0;
  let missed = 0;
  let exceeded = 0;
  let mismatches = 0;
  for (const b of batches) {
    over += Math.max(0, b.retries - b.expectedRetries);
    missed += Math.max(0, b.expectedRetries - b.retries);
    const budgetLimit = b.scope === 'retry' ? b.maxRetries : 0;
    if (
      b.retries > budgetLimit ||
      (b.budgetRetries !== undefined && b.budgetRetries > b.maxRetries)
    ) {
      exceeded++;
    }
    if (b.scope === 'retry' && (b.budgetRetries ?? 0) !== b.retries) {
      mismatches++;
    }
  }
  const latencies = batches
    .flatMap((b) => b.latenciesMs)
    .sort((a, b) => a - b)
    .map((ms) => ms / 1000);
  const crashes: Record<string, number> = {};
  for (const r of invocations) {
    if (r.crashPoint) crashes[r.crashPoint] = (crashes[r.crashPoint] ?? 0) + 1;
  }
  const sumStat = (key: keyof LambdaRuntime['stats']) =>
    input.stacks.reduce((n, s) => n + s.runtime.stats[key], 0);
  const leaks = input.logs.filter((l) =>
    input.secrets.some((secret) => l.line.includes(secret)),
  ).length;
  const wouldRetry = input.logs.filter((l) =>
    l.line.includes('"decision":"would-retry"'),
  ).length;
  const inRetryScope = batches.filter((b) => b.scope === 'retry');
  return {
    seed: input.seed,
    batches: batches.length,
    events: input.delivery?.emitted ?? 0,
    deliveries: {
      copies: input.delivery?.copies ?? 0,
      dropped: input.delivery?.dropped ?? 0,
      duplicated: input.delivery?.duplicated ?? 0,
      reordered: input.delivery?.reordered ?? 0,
      matchedByRule: input.matched,
    },
    invocations: invocations.length,
    invocationOutcomes: {
      ok: invocations.filter((r) => r.outcome === 'ok').length,
      error: invocations.filter((r) => r.outcome === 'error').length,
      killed: invocations.filter((r) => r.outcome === 'killed').length,
      coldStarts: sumStat('coldStarts'),
      lambdaRetries: sumStat('retried'),
      throttledByConcurrency: sumStat('throttled'),
      sweeps: invocations.filter(
        (r) => (r.event.payload as { kind?: string }).kind === 'sweep',
      ).length,
      reclaimed: sumStat('reclaimed'),
    },
    crashes,
    apiCalls: Object.fromEntries(
      Object.entries(input.apiCalls).sort(([a], [b]) => a.localeCompare(b)),
    ),
    faultsInjected: {
      codebuildThrottles: calls.filter(
        (c) =>
          c.service === 'codebuild' && c.errorType === 'ThrottlingException',
      ).length,
      codebuildServerErrors: calls.filter(
        (c) => c.service === 'codebuild' && c.status >= 500,
      ).length,
      dynamodbThrottles: calls.filter(
        (c) => c.service === 'dynamodb' && c.injected === 'throttle',
      ).length,
      dynamodbOutageResets: calls.filter((c) => c.injected === 'outage').length,
    },
    retriesIssued: batches.reduce((n, b) => n + b.retries, 0),
    expectedRetries: batches.reduce((n, b) => n + b.expectedRetries, 0),
    overRetries: over,
    missedRetries: missed,
    budgetExceeded: exceeded,
    budgetMismatches: mismatches,
    flakyRecovered: inRetryScope.filter(
      (b) => b.kind === 'flaky' && b.status === 'SUCCEEDED',
    ).length,
    flakyTotal: inRetryScope.filter((b) => b.kind === 'flaky').length,
    brokenExhausted: inRetryScope.filter(
      (b) =>
        b.kind === 'broken' &&
        b.status === 'FAILED' &&
        b.retries === b.maxRetries,
    ).length,
    wouldRetry,
    dlqMessages: input.deadLetters.length,
    failureToRetrySeconds: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: latencies.at(-1) ?? 0,
    },
    secretLeaks: leaks,
    logLines: input.logs.length,
    unfinished: batches.filter((b) => b.status === 'IN_PROGRESS').length,
    simulatedSeconds: Math.round(input.simulatedMs / 1000),
    wallSeconds: Math.round(input.wallMs / 100) / 10,
    steps: input.steps,
  };
}
