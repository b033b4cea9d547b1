/**
 * One simulated account, end to end: the synthesized stack(s) deployed onto
 * emulated AWS, a CodeBuild workload run under faults, and the invariants
 * and figures that come out.
 *
 *   workload ─▶ CodeBuild emulator ─▶ delivery faults ─▶ bus (rule pattern)
 *                     ▲                                       │
 *                     │ JSON 1.1 over 127.0.0.1                ▼
 *               per-environment endpoint ◀── bundled function (worker threads,
 *                     │                      Lambda async semantics)
 *                     ▼                                       ▲
 *          dynalite (template's table),            schedule (simulated clock),
 *          CloudWatch Logs (builds' logs),         SQS event source mapping
 *          SQS (template's queues) ─▶ polled every simulated second ─┘
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  BATCH_EVENTS,
  EVENT_SOURCE,
  FAILURE_CLASSES,
  type FailureClass,
  OUTCOMES,
  PROJECT_TAGS,
  SETTINGS,
  SWEEP_INPUT,
} from '../lambda/contract.js';
import {
  type Deployment,
  type DeploymentOptions,
  resolveDeployment,
} from '../tools/local-aws/deployment.js';
import { createTable } from '../tools/local-aws/dynamo.js';
import {
  ACCOUNT,
  CREDENTIALS,
  functionEnvironment,
  REGION,
} from '../tools/local-aws/environment.js';
import {
  type LocalAws as LocalServices,
  startLocalAws as startServices,
} from '../tools/local-aws/local-aws.js';
import { SqsEventSource } from '../tools/local-aws/sqs/event-source.js';
import type { Assembly } from '../tools/local-aws/synth.js';
import { percentile } from '../tools/stats.js';
import {
  type BusEvent,
  type DeliveryFaults,
  type DeliveryPlan,
  EventBus,
} from './bus.js';
import { SIM_EPOCH, SimClock } from './clock.js';
import { type InvocationRecord, LambdaRuntime } from './lambda-runtime.js';
import {
  type CallRecord,
  CRASH_POINTS,
  type CrashPoint,
  Network,
} from './network.js';
import { Random } from './random.js';
import { Scheduler } from './scheduler.js';
import {
  type BatchPlan,
  expectedCourse,
  type ProjectOutage,
  type RetryPolicy,
  WorkloadDriver,
} from './workload.js';

/** Fault knobs of a run: shares are probabilities per event or per call. */
export interface FaultKnobs extends DeliveryFaults {
  /** CodeBuild calls answered with ThrottlingException, with HTTP 500. */
  readonly throttle: number;
  readonly serverErrors: number;
  /** DynamoDB calls answered with a throttling error. */
  readonly dynamoThrottle: number;
  /** Chance that an invocation is killed at each of `crashPoints` it reaches. */
  readonly crash: number;
  readonly crashPoints: readonly CrashPoint[];
  /** DynamoDB unreachable from `atMs` (after the deployment) for `durationMs`. */
  readonly outage?: { readonly atMs: number; readonly durationMs: number };
}

/** The figures that must be 0: `ok` and the exit code rest on them. */
export const INVARIANTS = [
  'overRetries',
  'missedRetries',
  'budgetExceeded',
  'nonRetryableRetried',
  'retryableMissed',
  'secretLeaks',
  'unfinished',
  'duplicateEvents',
  'retriesDuringOpenCircuit',
] as const;

/**
 * The invariants that compare CodeBuild's retries with the workload's
 * expected course: they do not apply when a circuit breaker may hold
 * retries back on purpose, or when a project outage changes the course
 * (`retriesDuringOpenCircuit` and the others still do).
 */
export const COURSE_INVARIANTS: readonly string[] = [
  'overRetries',
  'missedRetries',
  'retryableMissed',
];

/** Whether an invocation was the schedule's sweep. */
export const isSweep = ({ event }: InvocationRecord) =>
  (event.payload as { kind?: string }).kind === SWEEP_INPUT.kind;

/** What invoked the function: a rule's build event, the sweep, or the queue. */
export const invocationKind = (record: InvocationRecord) =>
  isSweep(record)
    ? 'sweep'
    : Array.isArray((record.event.payload as { Records?: unknown }).Records)
      ? 'queue'
      : 'buildEvent';

/** Build statuses of a failed child build. */
const FAILED_STATUSES: readonly unknown[] = ['FAILED', 'FAULT', 'TIMED_OUT'];

/** Lambda starts five pollers per SQS event source mapping. */
const POLLERS = 5;

/** Workload times and delivery delays are multiples of this. */
export const TICK_MS = 10_000;

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
  // Present, so that spreading these over the defaults ends their outage.
  outage: undefined,
};

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  readonly seed: number;
  readonly assembly: Assembly;
  readonly plans: readonly BatchPlan[];
  /** The stacks deployed. Default: the assembly's, default parameters. */
  readonly stacks?: readonly DeploymentOptions[];
  readonly faults?: Partial<FaultKnobs>;
  /** Concurrency of an unreserved function. Default 6. */
  readonly accountConcurrency?: number;
  /** CodeBuild project tags by project (the function's per-project policy). */
  readonly projectTags?: Readonly<Record<string, Record<string, string>>>;
  /** Every run of one project fails as infrastructure during a window. */
  readonly projectOutage?: ProjectOutage;
  /**
   * Called once the run went quiet, before local AWS stops: DynamoDB's
   * endpoint and each stack's table, to read them as a client would.
   */
  readonly beforeStop?: (aws: {
    readonly dynamodbEndpoint: string;
    readonly tables: Readonly<Record<string, string>>;
    /** The simulated clock when the run went quiet, epoch ms. */
    readonly now: number;
  }) => Promise<void>;
}

/**
 * How a batch relates to the deployments: `stale` failed before the lookback
 * window, `opted-out` is in a project tagged `enabled` = false.
 */
export type BatchScope =
  | 'retry'
  | 'dry-run'
  | 'out-of-scope'
  | 'opted-out'
  | 'stale';

/** One batch's outcome against the expectation. */
export type BatchResult = Awaited<ReturnType<typeof checkBatches>>[number];

/** Figures of a run, the JSON of `npm run simulate`; see {@link INVARIANTS}. */
export type Figures = ReturnType<typeof figuresOf>;

/** Everything a run produced; `ok`: every invariant held and every batch finished. */
export type SimulationResult = Awaited<ReturnType<typeof runSimulation>>;

/**
 * Runs one simulation until it goes quiet and returns its figures: deploy,
 * start local AWS, run the workload under faults, go quiet, check the
 * invariants.
 *
 * @example
 * const result = await runSimulation({ seed: 1, assembly, plans });
 * if (!result.ok) process.exitCode = 1;
 */
export async function runSimulation(options: SimulationOptions) {
  const sim = newSimulation(options);
  const configs = options.stacks ?? [{ stackName: options.assembly.stackName }];
  // Each stack's template resolved with its parameters, as CloudFormation would.
  const deployments = configs.map((c) =>
    resolveDeployment(options.assembly, c),
  );
  const aws = await startLocalAws(sim, deployments);
  try {
    faultCodeBuild(sim, aws);
    await runWorkloadUntilQuiet(sim, aws);
    for (const stack of aws.stacks) await stack.runtime.close();
    const batches = await checkBatches(sim, aws);
    const history = await historyItems(aws);
    const figures = figuresOf(sim, aws, batches, history);
    const threshold = SETTINGS.circuitBreakerThreshold;
    const breaker = deployments.some(
      (d) =>
        d.parameters[SETTINGS.dryRun.parameter] !== 'true' &&
        Number(d.parameters[threshold.parameter] ?? threshold.default) > 0,
    );
    await options.beforeStop?.({
      now: sim.clock.now(),
      dynamodbEndpoint: aws.services.dynamo.endpoint,
      tables: Object.fromEntries(
        deployments.map((d) => [d.stackName, d.table.name]),
      ),
    });
    const invariants = INVARIANTS.filter(
      (name) =>
        !(breaker || options.projectOutage) ||
        !COURSE_INVARIANTS.includes(name),
    );
    return {
      figures,
      batches: batches as readonly BatchResult[],
      invocations: sim.invocations as readonly InvocationRecord[],
      /** Every call the function made, with its invocation and time. */
      calls: sim.calls as readonly (CallRecord & { readonly at: number })[],
      /** Every line the function wrote, with its stack. */
      logs: sim.logs as readonly { stack: string; line: string }[],
      secrets: aws.secrets,
      deployments,
      /** The invariants that apply to this run (see COURSE_INVARIANTS). */
      invariants: invariants as readonly string[],
      ok: invariants.every((name) => figures[name] === 0),
    };
  } finally {
    await stopLocalAws(aws);
  }
}

/** The simulation's clock, randomness and records. */
type Simulation = ReturnType<typeof newSimulation>;

function newSimulation(options: SimulationOptions) {
  const earliest = Math.min(0, ...options.plans.map((p) => p.startOffsetMs));
  const clock = new SimClock(SIM_EPOCH + earliest - TICK_MS);
  return {
    options,
    faults: { ...NO_FAULTS, ...options.faults },
    origin: SIM_EPOCH,
    random: new Random(options.seed),
    clock,
    scheduler: new Scheduler(clock),
    startedAt: performance.now(),
    invocations: [] as InvocationRecord[],
    deadLetters: 0,
    logs: [] as { stack: string; line: string }[],
    calls: [] as (CallRecord & { readonly at: number })[],
    /** Per failed run (`<batch ARN>#<run>`): its first failure event, and its first delivered copy. */
    runEvents: new Map<string, { firstAt: number; deliveredAt?: number }>(),
    /** Child builds whose end CodeBuild reported while deployed. */
    childBuilds: { healthy: new Set<string>(), failed: new Set<string>() },
  };
}

/** A deployed stack: its function running behind its own network. */
type Stack = Awaited<ReturnType<typeof startStack>>;

/** The emulated account: services, stacks, bus and CodeBuild activity. */
interface LocalAws {
  readonly services: LocalServices;
  readonly stacks: Stack[];
  readonly bus: EventBus;
  readonly workload: WorkloadDriver;
  /** One per project, in its environment variables (so in every event). */
  readonly secrets: string[];
  readonly secretOf: Map<string, string>;
}

/**
 * Starts CodeBuild, CloudWatch Logs (which receives the builds' logs) and
 * DynamoDB on the simulated clock, creates each stack's
 * table and function, subscribes the rules to the bus, and creates the
 * projects the workload builds.
 */
async function startLocalAws(
  sim: Simulation,
  deployments: readonly Deployment[],
): Promise<LocalAws> {
  const services = await startServices({ now: sim.clock.now, tables: [] });
  const { random, scheduler, clock, options } = sim;
  const eventsOf = new Map<BatchPlan, number>();
  const aws: LocalAws = {
    services,
    stacks: [],
    bus: new EventBus({
      scheduler,
      random: random.fork('delivery'),
      tickMs: TICK_MS,
      faults: sim.faults,
      // The demo scripts the delivery of some batches' events.
      override: (event) => {
        const plan = planOf(aws, event);
        if (!plan?.script?.delivery) return undefined;
        const n = eventsOf.get(plan) ?? 0;
        eventsOf.set(plan, n + 1);
        return plan.script.delivery(n);
      },
    }),
    workload: new WorkloadDriver({
      emulator: services.codebuild,
      scheduler,
      clock,
      random: random.fork('workload'),
      tickMs: TICK_MS,
      plans: options.plans,
      origin: sim.origin,
      secretOf: (project) => aws.secretOf.get(project),
      outage: options.projectOutage,
    }),
    secrets: [],
    secretOf: new Map(),
  };
  try {
    for (const [i, deployment] of deployments.entries()) {
      const stack = await startStack(sim, aws, deployment, i);
      aws.stacks.push(stack);
      aws.bus.subscribe(deployment.rules, stack.runtime);
    }
  } catch (error) {
    await stopLocalAws(aws);
    throw error;
  }
  // CodeBuild puts a project's environment variables, in plaintext, into
  // every event: each project carries a secret the logs must never show.
  for (const project of new Set(options.plans.map((p) => p.project))) {
    const secret = `sk-sim-${project}-${random.fork(project).int(1e8, 9e8)}`;
    aws.secrets.push(secret);
    aws.secretOf.set(project, secret);
    services.codebuild.createProject(project, {
      environmentVariables: [
        { name: 'STAGE', value: 'ci' },
        { name: 'NPM_TOKEN', value: secret },
      ],
      tags: options.projectTags?.[project] ?? {},
    });
  }
  return aws;
}

async function startStack(
  sim: Simulation,
  aws: LocalAws,
  deployment: Deployment,
  i: number,
) {
  const { codebuild: emulator, logs, dynamo, sqs, events } = aws.services;
  const { faults, random } = sim;
  await createTable(dynamo.client, deployment.table);
  for (const queue of deployment.queues) {
    sqs.createQueue(queue.name, queue.attributes);
  }
  const network = new Network({
    codebuildEndpoint: emulator.endpoint,
    logsEndpoint: logs.endpoint,
    dynamodbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    eventsEndpoint: events.endpoint,
    random: random.fork(`network-${i}`),
    dynamodbThrottleRate: faults.dynamoThrottle,
    onCall: (call) => sim.calls.push({ ...call, at: sim.clock.now() }),
  });
  const crashRandom = random.fork(`crash-${i}`);
  const runtime = new LambdaRuntime({
    deployment,
    clock: sim.clock,
    scheduler: sim.scheduler,
    network,
    random: random.fork(`lambda-${i}`),
    accountConcurrency: sim.options.accountConcurrency ?? 6,
    baseEnvironment: functionEnvironment(),
    // A queue URL in the template (RECHECK_QUEUE_URL) names the local queue
    // behind the environment's own endpoint, so its calls cross the network.
    endpointEnvironment: (url) => {
      const local = Object.entries(deployment.fn.environment).flatMap(
        ([name, value]) => {
          const queue = deployment.queues.find((q) => value.endsWith(q.name));
          return queue ? [[name, `${url}/${ACCOUNT}/${queue.name}`]] : [];
        },
      );
      return Object.fromEntries(local);
    },
    crashPlan: ({ event, attempt }) => {
      const payload = event.payload as BusEvent;
      const scripted =
        attempt === 1 && failed(payload)
          ? planOf(aws, payload)?.script?.crash
          : undefined;
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
    onInvocation: (record) => sim.invocations.push(record),
    onDeadLetter: () => sim.deadLetters++,
    onLog: (line) => sim.logs.push({ stack: deployment.stackName, line }),
  });
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  const sources = deployment.eventSources.filter((source) => source.enabled);
  /** One poll of a source, holding an environment for its invocation. */
  const poll = async (
    source: (typeof sources)[number],
    slot: NonNullable<ReturnType<LambdaRuntime['reserve']>>,
  ) => {
    const made = await new SqsEventSource({
      client,
      queueUrl: `${sqs.endpoint}/${ACCOUNT}/${source.queue.name}`,
      batchSize: source.batchSize,
      reportBatchItemFailures: source.reportBatchItemFailures,
      handler: async (event) => {
        const record = await slot.invoke(event);
        if (record.outcome === 'ok') return record.result;
        throw new Error(record.error?.errorMessage ?? record.outcome);
      },
    })
      .poll()
      .catch(() => undefined);
    if (!made) slot.release();
  };
  /**
   * Lambda's pollers (long polling, so a message is received once visible):
   * up to five receives of `batchSize` while messages are visible, each
   * holding an environment first (no free capacity: no receive).
   */
  const pollQueues = async () => {
    const polls: Promise<void>[] = [];
    for (const source of sources) {
      const { visible } = sqs.counts(source.queue.name);
      const wanted = Math.min(POLLERS, Math.ceil(visible / source.batchSize));
      for (let n = 0; n < wanted; n++) {
        const slot = runtime.reserve();
        if (!slot) break;
        polls.push(poll(source, slot));
      }
    }
    await Promise.all(polls);
  };
  /** Messages of the event sources' queues, and of their dead-letter queues. */
  const queued = () => {
    const total = (name: string) =>
      Object.values(sqs.counts(name)).reduce((a, b) => a + b, 0);
    const dlqs = sources.flatMap(({ queue }) =>
      deployment.queues.filter(
        (q) => q.arn === queue.redrive?.deadLetterTargetArn,
      ),
    );
    return {
      pending: sum(sources, (s) => total(s.queue.name)),
      deadLetters: sum(dlqs, (q) => total(q.name)),
    };
  };
  return { deployment, runtime, network, pollQueues, queued };
}

async function stopLocalAws(aws: LocalAws): Promise<void> {
  for (const stack of aws.stacks) {
    await stack.runtime.close().catch(() => undefined);
    await stack.network.close().catch(() => undefined);
  }
  await aws.services.stop();
}

/** The workload's batch an event is about (through its build's batch ARN). */
function planOf(aws: LocalAws, event: BusEvent): BatchPlan | undefined {
  const buildArn = (event?.detail as Record<string, unknown>)?.['build-id'];
  if (typeof buildArn !== 'string') return undefined;
  try {
    const batchArn = aws.services.codebuild.getBuild(buildArn).buildBatchArn;
    return batchArn ? aws.workload.byArn(batchArn)?.plan : undefined;
  } catch {
    return undefined;
  }
}

/** Whether an event says a build failed. */
const failed = (event: BusEvent) =>
  (event?.detail as Record<string, unknown>)?.['build-status'] === 'FAILED';

/**
 * CodeBuild's events go to the bus (events before the deployment go
 * nowhere); CodeBuild throttles and fails calls, and the demo's scripted
 * batches get their own throttles.
 */
function faultCodeBuild(sim: Simulation, aws: LocalAws): void {
  const { codebuild: emulator } = aws.services;
  /** Notes child builds' ends, and each failed run's first failure event. */
  const note = (event: BusEvent, delivery: DeliveryPlan) => {
    const detail = event.detail as Record<string, unknown>;
    const status = detail?.['build-status'];
    const buildArn = String(detail?.['build-id']);
    const failedBuild = FAILED_STATUSES.includes(status);
    if (!failedBuild && status !== 'SUCCEEDED' && status !== 'STOPPED') return;
    sim.childBuilds[failedBuild ? 'failed' : 'healthy'].add(buildArn);
    const batchArn = failedBuild && emulator.getBuild(buildArn).buildBatchArn;
    const history = batchArn ? aws.workload.byArn(batchArn) : undefined;
    if (!history) return;
    const key = `${batchArn}#${history.runs}`;
    const now = sim.clock.now();
    const run = sim.runEvents.get(key) ?? { firstAt: now };
    if (delivery.length > 0) {
      const at = now + Math.min(...delivery);
      run.deliveredAt = Math.min(run.deliveredAt ?? at, at);
    }
    sim.runEvents.set(key, run);
  };
  const throttled = new Set<BatchPlan>();
  emulator.onEvent((raw) => {
    if (sim.clock.now() < sim.origin) return;
    const event = raw as unknown as BusEvent;
    const plan = failed(event) ? planOf(aws, event) : undefined;
    const times = plan?.script?.throttleRetry;
    if (plan && times && !throttled.has(plan)) {
      throttled.add(plan);
      emulator.failNext('RetryBuildBatch', times, 'throttle');
    }
    note(event, aws.bus.emit(event));
  });
  const codebuildRandom = sim.random.fork('codebuild-faults');
  emulator.setFaults({
    throttleRate: sim.faults.throttle,
    serverErrorRate: sim.faults.serverErrors,
    random: () => codebuildRandom.next(),
  });
}

/**
 * Runs the history (batches before the deployment), then the workload with
 * the sweep schedules and the DynamoDB outage, until the account goes quiet:
 * no batch running, no event outstanding, the outage over, and nothing
 * changed for three sweep intervals plus Lambda's two retry delays.
 */
async function runWorkloadUntilQuiet(
  sim: Simulation,
  aws: LocalAws,
): Promise<void> {
  const { scheduler, clock, origin } = sim;
  const { workload } = aws;
  workload.start();
  await scheduler.runUntil(origin - 1);
  clock.set(Math.max(clock.now(), origin));

  let outageOver = sim.faults.outage === undefined;
  if (sim.faults.outage) {
    const { atMs, durationMs } = sim.faults.outage;
    const { dynamo } = aws.services;
    scheduler.at(origin + atMs, () => dynamo.interrupt());
    scheduler.at(origin + atMs + durationMs, async () => {
      await dynamo.resume();
      outageOver = true;
    });
  }

  const sweepPeriod = Math.max(
    ...aws.stacks.flatMap((s) =>
      s.deployment.rules.map((r) => r.scheduleRateMs ?? 0),
    ),
    60_000,
  );
  const quietMs = 3 * sweepPeriod + 4 * 60_000;
  let finished = false;
  const quiet = () =>
    finished ||
    (outageOver &&
      workload.idle &&
      aws.stacks.every(
        (s) => s.runtime.outstanding === 0 && s.queued().pending === 0,
      ) &&
      clock.now() - Math.max(workload.lastChangeAt, origin) >= quietMs);
  aws.bus.startSchedules(origin, quiet);
  // The event source mappings poll every simulated second: the messages
  // that became visible within it arrive together, as the mapping's 1-s
  // batching window (MaximumBatchingWindowInSeconds) gathers them on AWS.
  const poll = async () => {
    if (quiet()) return;
    scheduler.after(1_000, poll);
    await Promise.all(aws.stacks.map((s) => s.pollQueues()));
  };
  scheduler.at(origin, poll);

  // A safety stop, far beyond any workload's end.
  await scheduler.runUntil(origin + 20 * 3_600_000, quiet);
  finished = true;
}

/** Which stack, if any, is responsible for a batch, and its project's policy. */
function scopeOf(
  plan: BatchPlan,
  stacks: readonly Stack[],
  tags: Record<string, string> = {},
) {
  const covering = stacks
    .map(({ deployment: { parameters, stackName } }) => {
      const value = (setting: { parameter: string; default?: unknown }) =>
        parameters[setting.parameter] ?? setting.default;
      const list = (v: unknown) => (Array.isArray(v) ? v : [v]).map(String);
      const names = value(SETTINGS.projectNames);
      const policy: RetryPolicy & { enabled: boolean } = {
        enabled: tags[PROJECT_TAGS.enabled] !== 'false',
        maxRetries: Number(
          tags[PROJECT_TAGS.maxRetries] ?? value(SETTINGS.maxRetries),
        ),
        retryOn: (tags[PROJECT_TAGS.retryOn]?.split(/\s+/) ??
          list(value(SETTINGS.retryOn))) as FailureClass[],
        retryType:
          tags[PROJECT_TAGS.retryType] ?? String(value(SETTINGS.retryType)),
      };
      return {
        stackName,
        policy,
        dryRun: value(SETTINGS.dryRun) === 'true',
        projectNames: (Array.isArray(names) ? names : []).filter(Boolean),
        lookbackMs: Number(value(SETTINGS.lookbackHours)) * 3_600_000,
      };
    })
    .filter(
      ({ projectNames }) =>
        projectNames.length === 0 || projectNames.includes(plan.project),
    );
  const retrying = covering.filter((s) => !s.dryRun);
  if (retrying.length > 1) {
    throw new Error(`project ${plan.project} is in scope of several stacks`);
  }
  const stack = retrying[0] ?? covering[0];
  const scope: BatchScope = !stack
    ? 'out-of-scope'
    : // History batches end within an hour of their start; the window is
      // measured from the deployment, the earliest moment anything looks.
      plan.startOffsetMs < 0 &&
        plan.startOffsetMs + 3_600_000 < -stack.lookbackMs
      ? 'stale'
      : stack.dryRun
        ? 'dry-run'
        : stack.policy.enabled
          ? 'retry'
          : 'opted-out';
  const none = { maxRetries: 0, retryOn: [], retryType: '' };
  return { scope, policy: (stack?.policy ?? none) as RetryPolicy };
}

/**
 * Each batch as CodeBuild and the budget table saw it, against the course
 * the workload says a correct service produces.
 */
async function checkBatches(sim: Simulation, aws: LocalAws) {
  const budgets = new Map<string, number>();
  for (const stack of aws.stacks) {
    const table = stack.deployment.table.name;
    for (const item of await aws.services.dynamo.scan(table)) {
      const id = String(item.id);
      if (id.startsWith('batch#') && item.retries !== undefined) {
        budgets.set(id.slice('batch#'.length), Number(item.retries));
      }
    }
  }
  const random = sim.random.fork('workload');
  return aws.workload.histories.map(({ plan, ...history }) => {
    const tags = sim.options.projectTags?.[plan.project];
    const { scope, policy } = scopeOf(plan, aws.stacks, tags);
    const course = expectedCourse(
      plan,
      random,
      scope === 'retry' ? policy : undefined,
    );
    return {
      key: plan.key,
      label: plan.label,
      project: plan.project,
      kind: plan.kind,
      scope,
      arn: history.arn,
      failures: history.failures,
      retries: history.retries,
      expectedRetries: course.retries,
      expectedStatus: course.finalStatus as string,
      status: history.status,
      /** When the latest run settled (absent: never settled). */
      settledAt: history.settledAt,
      maxRetries: policy.maxRetries,
      retryOn: policy.retryOn,
      /** Each FAILED run: its groups' classes, and what followed. */
      failedRuns: history.failedRuns as readonly {
        readonly classes: readonly FailureClass[];
        readonly retried: boolean;
        readonly healed: boolean;
        readonly run: number;
        readonly settledAt: number;
        readonly retriedAt?: number;
      }[],
      /** Attempts the budget item holds (absent: no item). */
      budgetRetries: history.arn ? budgets.get(history.arn) : undefined,
      latenciesMs: history.latenciesMs as readonly number[],
    };
  });
}

const sum = <T>(items: readonly T[], of: (item: T) => number) =>
  items.reduce((n, item) => n + of(item), 0);

const count = <T>(items: readonly T[], where: (item: T) => boolean) =>
  items.filter(where).length;

const countBy = (keys: readonly string[]) =>
  Object.fromEntries(
    [...new Set(keys)]
      .sort((a, b) => a.localeCompare(b))
      .map((key) => [key, keys.filter((k) => k === key).length]),
  ) as Record<string, number>;

/** A history item of the function's table (see lambda/history-store.ts). */
interface HistoryItem {
  readonly batchArn: string;
  readonly projectName: string;
  readonly decision: string;
  readonly attempt?: number;
  readonly outcome?: string;
  readonly failedGroups?: readonly { identifier: string; class: string }[];
}

/** Every stack's history items at the end of the run. */
async function historyItems(aws: LocalAws): Promise<HistoryItem[]> {
  const items: HistoryItem[] = [];
  for (const stack of aws.stacks) {
    for (const item of await aws.services.dynamo.scan(
      stack.deployment.table.name,
    )) {
      if (String(item.id).startsWith('history#')) {
        items.push(item as unknown as HistoryItem);
      }
    }
  }
  return items;
}

/** The detail of a batch-level event, as far as the figures read it. */
interface EventDetail {
  readonly batchArn?: string;
  readonly projectName?: string;
  readonly attempt?: number;
  readonly token?: string;
  readonly failedAt?: string;
  readonly reason?: string;
  readonly circuit?: {
    readonly until?: string;
    readonly cooldownMinutes?: number;
  };
}

/**
 * The circuit breaker seen from outside: openings (`Project Circuit Opened`
 * events), and retries CodeBuild made for a project while its circuit was
 * open — inside the cooldown, or in half-open beyond the first retry (the
 * probe) until the circuit closed or opened again. With a project outage:
 * that project's retries inside the window, before the first opening, and
 * after the window.
 */
function circuitFigures(
  sim: Simulation,
  aws: LocalAws,
  batches: readonly BatchResult[],
) {
  const published = aws.services.events.events.filter(
    (e) => e.source === EVENT_SOURCE,
  );
  const moves = published.flatMap((e) => {
    const d = e.detail as EventDetail;
    if (e['detail-type'] === BATCH_EVENTS.circuitOpened) {
      const until = Date.parse(d.circuit?.until ?? '');
      const at = until - (d.circuit?.cooldownMinutes ?? 0) * 60_000;
      return [{ project: d.projectName, open: true, at, until }];
    }
    if (e['detail-type'] === BATCH_EVENTS.circuitClosed) {
      const at = Date.parse(e.time);
      return [{ project: d.projectName, open: false, at, until: at }];
    }
    return [];
  });
  const retries = batches
    .flatMap((b) =>
      b.failedRuns.flatMap((r) =>
        r.retriedAt === undefined
          ? []
          : [{ project: b.project, at: r.retriedAt }],
      ),
    )
    .sort((a, b) => a.at - b.at);
  /** The circuit's last move before `at`, and whether a retry followed it. */
  const whileOpen = retries.filter(({ project, at }, i) => {
    const last = moves
      .filter((m) => m.project === project && m.at <= at)
      .sort((a, b) => a.at - b.at)
      .at(-1);
    if (!last?.open) return false;
    if (at < last.until) return true;
    // Half-open: the first retry after the cooldown is the probe.
    return retries
      .slice(0, i)
      .some((r) => r.project === project && r.at >= last.until);
  });
  const outage = sim.options.projectOutage;
  const ofProject = retries.filter((r) => r.project === outage?.project);
  const from = sim.origin + (outage?.fromMs ?? 0);
  const to = sim.origin + (outage?.toMs ?? 0);
  const firstOpening = Math.min(
    ...moves
      .filter((m) => m.open && m.project === outage?.project)
      .map((m) => m.at),
  );
  const firstAfter = ofProject.find((r) => r.at >= to);
  return {
    circuitOpenings: count(moves, (m) => m.open),
    /** Decisions the function logged as held back by an open circuit. */
    heldByCircuit: count(sim.logs, (l) =>
      l.line.includes('"reason":"circuit-open"'),
    ),
    retriesDuringOpenCircuit: whileOpen.length,
    ...(outage && {
      projectOutage: {
        project: outage.project,
        retriesInWindow: count(ofProject, (r) => r.at >= from && r.at < to),
        retriesInWindowBeforeOpening: count(
          ofProject,
          (r) => r.at >= from && r.at < Math.min(to, firstOpening),
        ),
        retriesAfterWindow: count(ofProject, (r) => r.at >= to),
        firstRetryAfterWindowMinutes: firstAfter
          ? Math.round((firstAfter.at - to) / 6_000) / 10
          : null,
      },
    }),
  };
}

/**
 * Outcomes recorded in the history, heal rate per failure class, and the
 * batch-level events published: per detail-type, duplicates (same type,
 * batch, attempt and failure more than once) and missing ones (a retry
 * CodeBuild made without `Batch Retry Issued`, a healed or failed-again
 * outcome without its event).
 */
function outcomeFigures(
  aws: LocalAws,
  batches: readonly BatchResult[],
  history: readonly HistoryItem[],
) {
  const published = aws.services.events.events.filter(
    (e) => e.source === EVENT_SOURCE,
  );
  const detailOf = (e: (typeof published)[number]) => e.detail as EventDetail;
  const keys = published.map((e) => {
    const d = detailOf(e);
    const parts = [d.token, d.attempt, d.failedAt, d.reason, d.circuit?.until];
    return [e['detail-type'], d.batchArn, ...parts].join('|');
  });
  const followed = history.filter((h) => h.outcome !== undefined);
  const classes = [
    ...new Set(
      followed.flatMap((h) => (h.failedGroups ?? []).map((g) => g.class)),
    ),
  ].sort();
  const healRateByClass = Object.fromEntries(
    classes.map((cls) => {
      const of = followed.filter((h) =>
        (h.failedGroups ?? []).some((g) => g.class === cls),
      );
      const healed = count(of, (h) => h.outcome === 'healed');
      return [
        cls,
        { retried: of.length, healed, rate: ratio(healed, of.length) },
      ];
    }),
  );
  const issued = published.filter(
    (e) => e['detail-type'] === BATCH_EVENTS.retryIssued,
  );
  const issuedFor = (arn?: string) =>
    new Set(
      issued
        .filter((e) => detailOf(e).batchArn === arn)
        .map((e) => detailOf(e).token),
    ).size;
  const hasEvent = (type: string, h: HistoryItem) =>
    published.some(
      (e) =>
        e['detail-type'] === type &&
        detailOf(e).batchArn === h.batchArn &&
        detailOf(e).attempt === h.attempt,
    );
  const missingEventsByType = {
    [BATCH_EVENTS.retryIssued]: sum(batches, (b) =>
      Math.max(0, b.retries - issuedFor(b.arn)),
    ),
    [BATCH_EVENTS.healed]: count(
      followed,
      (h) => h.outcome === 'healed' && !hasEvent(BATCH_EVENTS.healed, h),
    ),
    [BATCH_EVENTS.failedAgain]: count(
      followed,
      (h) =>
        h.outcome === 'failed-again' && !hasEvent(BATCH_EVENTS.failedAgain, h),
    ),
  };
  return {
    /** Outcomes of retries, from the history items at the end of the run. */
    outcomes: Object.fromEntries(
      OUTCOMES.map((o) => [o, count(followed, (h) => h.outcome === o)]),
    ) as Record<(typeof OUTCOMES)[number], number>,
    /** Per class of a failed group: retries with an outcome, healed, share. */
    healRateByClass,
    eventsPublished: countBy(published.map((e) => e['detail-type'])),
    duplicateEvents: keys.length - new Set(keys).size,
    /** Lost by design when a kill falls between a conditional write and PutEvents. */
    missingEvents: sum(Object.values(missingEventsByType), (n) => n),
    missingEventsByType,
    /** Retries CodeBuild made whose outcome no history item holds. */
    retriesWithoutOutcome: Math.max(
      0,
      sum(batches, (b) => b.retries) - followed.length,
    ),
  };
}

function figuresOf(
  sim: Simulation,
  aws: LocalAws,
  batches: readonly BatchResult[],
  history: readonly HistoryItem[],
) {
  const { invocations, calls, logs } = sim;
  const delivery = aws.bus.stats;
  const runtimes = aws.stacks.map((s) => s.runtime.stats);
  const outcomes = (outcome: InvocationRecord['outcome']) =>
    count(invocations, (r) => r.outcome === outcome);
  const inRetryScope = batches.filter((b) => b.scope === 'retry');
  const flaky = inRetryScope.filter((b) => b.kind === 'flaky');
  // Failed runs of batches in scope, and whether their classes allow a retry.
  const runs = inRetryScope.flatMap((b) =>
    b.failedRuns.map((run, i) => ({
      ...run,
      retryable: run.classes.every((c) => b.retryOn.includes(c)),
      budgetLeft: i < b.maxRetries,
    })),
  );
  const codebuild = calls.filter((c) => c.service === 'codebuild');
  return {
    seed: sim.options.seed,
    batches: batches.length,
    /** Build State Change events CodeBuild emitted while deployed. */
    events: delivery.emitted,
    deliveries: {
      copies: delivery.copies,
      dropped: delivery.dropped,
      duplicated: delivery.duplicated,
      reordered: delivery.reordered,
      matchedByRule: delivery.matched,
    },
    invocations: invocations.length,
    invocationsByKind: {
      buildEvent: count(invocations, (r) => invocationKind(r) === 'buildEvent'),
      sweep: count(invocations, (r) => invocationKind(r) === 'sweep'),
      queue: count(invocations, (r) => invocationKind(r) === 'queue'),
    },
    invocationOutcomes: {
      ok: outcomes('ok'),
      error: outcomes('error'),
      killed: outcomes('killed'),
      coldStarts: sum(runtimes, (s) => s.coldStarts),
      lambdaRetries: sum(runtimes, (s) => s.retried),
      throttledByConcurrency: sum(runtimes, (s) => s.throttled),
      sweeps: count(invocations, isSweep),
      reclaimed: sum(runtimes, (s) => s.reclaimed),
    },
    crashes: countBy(invocations.flatMap((r) => r.crashPoint ?? [])),
    apiCalls: countBy(calls.map((c) => `${c.service}:${c.operation}`)),
    faultsInjected: {
      codebuildThrottles: count(
        codebuild,
        (c) => c.errorType === 'ThrottlingException',
      ),
      codebuildServerErrors: count(codebuild, (c) => c.status >= 500),
      dynamodbThrottles: count(
        calls,
        (c) => c.injected === 'throttle' && c.service === 'dynamodb',
      ),
      dynamodbOutageResets: count(calls, (c) => c.injected === 'outage'),
    },
    retriesIssued: sum(batches, (b) => b.retries),
    expectedRetries: sum(batches, (b) => b.expectedRetries),
    overRetries: sum(batches, (b) =>
      Math.max(0, b.retries - b.expectedRetries),
    ),
    missedRetries: sum(batches, (b) =>
      Math.max(0, b.expectedRetries - b.retries),
    ),
    /** Batches retried past MaxRetries, by CodeBuild or in the budget table. */
    budgetExceeded: count(
      batches,
      (b) =>
        b.retries > (b.scope === 'retry' ? b.maxRetries : 0) ||
        (b.budgetRetries ?? 0) > b.maxRetries,
    ),
    /** Retries of a run with a group whose class is not in RetryOn. */
    nonRetryableRetried: count(runs, (r) => r.retried && !r.retryable),
    /** Runs whose classes all allow a retry, with budget left, not retried. */
    retryableMissed: count(
      runs,
      (r) => r.retryable && r.budgetLeft && !r.retried,
    ),
    /** Per failed group of each failed run in scope (pre-build runs: the batch's). */
    byClass: Object.fromEntries(
      FAILURE_CLASSES.map((cls) => {
        const of = runs.flatMap((r) =>
          r.classes.filter((c) => c === cls).map(() => r),
        );
        return [
          cls,
          {
            failures: of.length,
            retried: count(of, (r) => r.retried),
            healed: count(of, (r) => r.healed),
            notRetried: count(of, (r) => !r.retried),
          },
        ];
      }),
    ) as Record<
      FailureClass,
      Record<'failures' | 'retried' | 'healed' | 'notRetried', number>
    >,
    /** GetLogEvents requests the CloudWatch Logs emulator answered. */
    logReads: count(
      aws.services.logs.requests,
      (r) => r.operation === 'GetLogEvents',
    ),
    /** Batches whose budget item disagrees with CodeBuild's retry count. */
    budgetMismatches: count(
      inRetryScope,
      (b) => (b.budgetRetries ?? 0) !== b.retries,
    ),
    flakyRecovered: count(flaky, (b) => b.status === 'SUCCEEDED'),
    flakyTotal: flaky.length,
    brokenExhausted: count(
      inRetryScope,
      (b) =>
        b.kind === 'broken' &&
        b.status === 'FAILED' &&
        b.retries === b.maxRetries,
    ),
    wouldRetry: count(logs, (l) => l.line.includes('"decision":"would-retry"')),
    dlqMessages: sim.deadLetters,
    /** Re-check messages moved to the queue's dead-letter queue. */
    recheckDlqMessages: sum(aws.stacks, (s) => s.queued().deadLetters),
    ...queueFigures(sim, aws, batches),
    ...outcomeFigures(aws, batches, history),
    ...circuitFigures(sim, aws, batches),
    /** GetLogEvents answers that brought a project's secret to the function. */
    secretsInLogTails: count(calls, (c) =>
      aws.secrets.some((s) => c.answer?.includes(s)),
    ),
    /** Log lines holding an environment-variable value from an event or a build log. */
    secretLeaks: count(logs, (l) =>
      aws.secrets.some((s) => l.line.includes(s)),
    ),
    logLines: logs.length,
    /** Batches still running when the simulation stopped (should be 0). */
    unfinished: count(batches, (b) => b.status === 'IN_PROGRESS'),
    simulatedSeconds: Math.round((sim.clock.now() - sim.origin) / 1000),
    wallSeconds: Math.round((performance.now() - sim.startedAt) / 100) / 10,
    steps: sim.scheduler.steps,
  };
}

/** p50, p95 and max of seconds, to the tenth (0 when there are none). */
function spread(seconds: readonly number[]) {
  const at = (p: number) =>
    seconds.length === 0 ? 0 : Math.round(percentile(seconds, p) * 10) / 10;
  return { p50: at(50), p95: at(95), max: at(100) };
}

const ratio = (n: number, d: number) =>
  d === 0 ? 0 : Math.round((n / d) * 1000) / 1000;

/** The retry path: which kind of invocation made RetryBuildBatch. */
const PATHS = { buildEvent: 'event', queue: 'recheck', sweep: 'sweep' };

/**
 * What a queue message asks: a re-check of one of the three chains
 * (`backstop`, `settle`, `follow`, see RecheckChain in lambda/decision.ts),
 * a delayed `retry`, or `invalid` (a body the function rejects).
 */
export type QueueMessageKind =
  | 'backstop'
  | 'settle'
  | 'follow'
  | 'retry'
  | 'invalid';

/** A queue message as an invocation received it. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly kind: QueueMessageKind;
  readonly batchArn?: string;
  readonly round?: number;
  readonly receiveCount: number;
}

/** The messages of a queue invocation (none for other invocations). */
export function messagesOf(record: InvocationRecord): ReceivedMessage[] {
  const records = (record.event.payload as { Records?: unknown }).Records;
  if (!Array.isArray(records)) return [];
  return records.map((r: Record<string, unknown>) => {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(String(r.body)) ?? {};
    } catch {}
    const chain = body.kind === 'recheck' ? body.chain : body.kind;
    const kinds: readonly unknown[] = ['backstop', 'settle', 'follow', 'retry'];
    const attributes = r.attributes as Record<string, unknown> | undefined;
    return {
      messageId: String(r.messageId),
      kind: kinds.includes(chain) ? (chain as QueueMessageKind) : 'invalid',
      ...(typeof body.batchArn === 'string' && { batchArn: body.batchArn }),
      ...(typeof body.round === 'number' && { round: body.round }),
      receiveCount: Number(attributes?.ApproximateReceiveCount ?? 1),
    };
  });
}

/** A batch's id (`project:uuid`) from its ARN or its id. */
const batchIdOf = (arnOrId: string) => arnOrId.split('/').pop() ?? arnOrId;

/**
 * Shares of each CodeBuild call a queue invocation made, by the message it
 * was made for. An invocation carries up to ten messages, which the
 * function handles in parallel (Powertools' BatchProcessor), so neither the
 * order nor the time of a call tells its message; what the call names does.
 * The rule: a call naming batches (BatchGetBuildBatches, RetryBuildBatch:
 * the batch; BatchGetBuilds: each build's batch, from CodeBuild) or
 * projects (BatchGetProjects) belongs to the invocation's messages about
 * those batches or projects, split equally when several are (two messages
 * about one batch, one project's policy read for two of its batches); a
 * call naming none of its messages' batches is split equally over all of
 * them and counted as `unattributed` as well.
 */
function queueCallShares(
  sim: Simulation,
  aws: LocalAws,
  calls: readonly (CallRecord & { readonly at: number })[],
) {
  const invocationOf = new Map(sim.invocations.map((r) => [r.requestId, r]));
  const batchOfBuild = (buildArn: string) => {
    try {
      return aws.services.codebuild.getBuild(buildArn).buildBatchArn;
    } catch {
      return undefined;
    }
  };
  const shares: {
    call: CallRecord & { readonly at: number };
    record: InvocationRecord;
    message: ReceivedMessage;
    share: number;
  }[] = [];
  let unattributed = 0;
  for (const call of calls) {
    const record = invocationOf.get(call.requestId ?? '');
    if (!record || invocationKind(record) !== 'queue') continue;
    const messages = messagesOf(record);
    if (messages.length === 0) continue;
    const subjects = call.subjects ?? [];
    const named =
      call.operation === 'BatchGetProjects'
        ? messages.filter((m) =>
            subjects.includes(batchIdOf(m.batchArn ?? '').split(':')[0] ?? ''),
          )
        : messages.filter((m) => {
            const ids = subjects.map((id) =>
              batchIdOf(
                call.operation === 'BatchGetBuilds'
                  ? (batchOfBuild(id) ?? id)
                  : id,
              ),
            );
            return (
              m.batchArn !== undefined && ids.includes(batchIdOf(m.batchArn))
            );
          });
    const owners = named.length > 0 ? named : messages;
    if (named.length === 0) unattributed++;
    for (const message of owners) {
      shares.push({ call, record, message, share: 1 / owners.length });
    }
  }
  return { shares, unattributed };
}

/**
 * Latencies (per failed run retried, by whether any of its failure events
 * was delivered, and by the path that retried it) and the CodeBuild calls of
 * each kind of invocation, and of each kind of queue message.
 */
function queueFigures(
  sim: Simulation,
  aws: LocalAws,
  batches: readonly BatchResult[],
) {
  const invocationOf = new Map(sim.invocations.map((r) => [r.requestId, r]));
  const codebuild = sim.calls.filter((c) => c.service === 'codebuild');
  const triggerOf = (call: CallRecord) => {
    const record = invocationOf.get(call.requestId ?? '');
    if (!record || invocationKind(record) !== 'buildEvent') {
      return record && invocationKind(record);
    }
    const detail = (record.event.payload as BusEvent).detail as BusEvent;
    return FAILED_STATUSES.includes(detail?.['build-status'])
      ? 'failedEvent'
      : 'healthyEvent';
  };
  const callsBy = countBy(codebuild.map((c) => triggerOf(c) ?? 'unknown'));
  const { healthy, failed } = sim.childBuilds;
  const children = healthy.size + failed.size;
  const runs = batches.flatMap((b) =>
    b.failedRuns.map((run) => ({
      arn: b.arn,
      scope: b.scope,
      run,
      events: sim.runEvents.get(`${b.arn}#${run.run}`),
      path: '',
    })),
  );
  const retried = runs.filter((r) => r.scope === 'retry' && r.run.retriedAt);
  for (const r of retried) {
    const call = codebuild.find(
      (c) =>
        c.operation === 'RetryBuildBatch' &&
        c.status === 200 &&
        [r.arn, r.arn?.split('/').pop()].includes(c.batchId) &&
        c.at >= r.run.settledAt,
    );
    const record = call && invocationOf.get(call.requestId ?? '');
    r.path = record ? PATHS[invocationKind(record)] : 'unknown';
  }
  const settleToRetry = (list: typeof runs) =>
    spread(list.map((r) => ((r.run.retriedAt ?? 0) - r.run.settledAt) / 1e3));
  const delivered = retried.filter((r) => r.events?.deliveredAt !== undefined);
  const lost = retried.filter((r) => r.events?.deliveredAt === undefined);
  // Watched: a failure event arrived while the batch ran (first event → settle).
  const watched = runs.filter(
    (r) =>
      (r.scope === 'retry' || r.scope === 'dry-run') &&
      r.events?.deliveredAt !== undefined &&
      r.events.deliveredAt < r.run.settledAt,
  );
  const watchedMinutes = sum(
    watched,
    (r) => (r.run.settledAt - (r.events?.firstAt ?? 0)) / 60_000,
  );
  // Queue invocations' CodeBuild calls by the kind of message they were
  // made for (see queueCallShares for the rule).
  const { shares, unattributed } = queueCallShares(sim, aws, codebuild);
  const byMessage = (kind: QueueMessageKind) =>
    sum(
      shares.filter((s) => s.message.kind === kind),
      (s) => s.share,
    );
  const recheckCalls = byMessage('backstop') + byMessage('settle');
  // The reads of those rounds, apart from the calls a round makes once it
  // found the batch settled (the decision's reads and the retry itself,
  // the same calls an event that arrived after the settle makes).
  const recheckReads = sum(
    shares.filter(
      (s) =>
        (s.message.kind === 'backstop' || s.message.kind === 'settle') &&
        s.call.operation === 'BatchGetBuildBatches',
    ),
    (s) => s.share,
  );
  const followCalls = byMessage('follow');
  // Followed: a retry's run, from the retry to that run's settle (the next
  // failed run's, or the batch's last), or to the end of the simulation.
  const end = sim.clock.now();
  const followedMinutes = sum(retried, (r) => {
    const b = batches.find((x) => x.arn === r.arn);
    const next = b?.failedRuns.find((f) => f.run === r.run.run + 1);
    const settled =
      next?.settledAt ??
      (b?.settledAt !== undefined && b.settledAt > (r.run.retriedAt ?? 0)
        ? b.settledAt
        : end);
    return (settled - (r.run.retriedAt ?? 0)) / 60_000;
  });
  const per1000 = (n = 0) => ratio(n * 1000, children);
  return {
    /** Failed runs with a delivered failure event: settle (or first failure event) → retry. */
    settleToRetrySeconds: settleToRetry(delivered),
    failureToRetrySeconds: spread(
      delivered.map(
        (r) => ((r.run.retriedAt ?? 0) - (r.events?.firstAt ?? 0)) / 1e3,
      ),
    ),
    /**
     * The same runs, from the later of the settle and the first failure
     * event's delivery: the time the service took once it could know.
     */
    knownToRetrySeconds: spread(
      delivered.map(
        (r) =>
          // 0 when the sweep retried before the event arrived.
          Math.max(
            0,
            (r.run.retriedAt ?? 0) -
              Math.max(r.run.settledAt, r.events?.deliveredAt ?? 0),
          ) / 1e3,
      ),
    ),
    /**
     * The same runs: how long after the settle the first failure event
     * arrived (0 when before). Before its event, only the sweep or (after
     * an earlier retry) that retry's follow-up can retry a run.
     */
    settleToEventSeconds: spread(
      delivered.map(
        (r) =>
          Math.max(0, (r.events?.deliveredAt ?? 0) - r.run.settledAt) / 1e3,
      ),
    ),
    /** Failed runs none of whose failure events arrived (none emitted: failed before any build). */
    lostEventSettleToRetrySeconds: settleToRetry(lost),
    retriesByPath: Object.fromEntries(
      ['event', 'recheck', 'sweep', 'unknown'].map((path) => {
        const of = retried.filter((r) => r.path === path);
        return [
          path,
          { retries: of.length, settleToRetrySeconds: settleToRetry(of) },
        ];
      }),
    ),
    childBuilds: { healthy: healthy.size, failed: failed.size },
    codebuildCallsPerHealthyBuild: ratio(
      callsBy.healthyEvent ?? 0,
      healthy.size,
    ),
    codebuildCallsPerFailedBuild: ratio(callsBy.failedEvent ?? 0, failed.size),
    /** CodeBuild calls per 1,000 child builds, by what invoked the function. */
    codebuildCallsPer1000ChildBuilds: {
      healthyEvents: per1000(callsBy.healthyEvent),
      failedEvents: per1000(callsBy.failedEvent),
      queue: per1000(callsBy.queue),
      sweep: per1000(callsBy.sweep),
      all: per1000(codebuild.length),
    },
    watchedBatches: watched.length,
    watchedMinutes: Math.round(watchedMinutes),
    /**
     * CodeBuild calls of the queue's invocations by the kind of message
     * they were made for (shares of a call split over several messages
     * make fractions); `unattributed`: calls naming none of their
     * invocation's messages' batches, split over all of them.
     */
    queueCodebuildCalls: {
      backstop: Math.round(byMessage('backstop')),
      settle: Math.round(byMessage('settle')),
      follow: Math.round(followCalls),
      retry: Math.round(byMessage('retry')),
      invalid: Math.round(byMessage('invalid')),
      unattributed,
    },
    /** Calls for backstop and settle re-checks, per watched run and watched minute. */
    recheckCallsPerWatchedBatch: ratio(recheckCalls, watched.length),
    recheckCallsPerWatchedMinute: ratio(recheckCalls, watchedMinutes),
    /** Of those, the batch reads (BatchGetBuildBatches) per watched minute. */
    recheckReadsPerWatchedMinute: ratio(recheckReads, watchedMinutes),
    /** Retried runs, and minutes from each retry to its run's settle (or the end). */
    followedMinutes: Math.round(followedMinutes),
    /** Calls for follow-up re-checks, per retry and per followed minute. */
    followCallsPerRetry: ratio(followCalls, retried.length),
    followCallsPerFollowedMinute: ratio(followCalls, followedMinutes),
  };
}
