/**
 * The scenarios the CLIs and the tests run: the random workload of
 * `npm run simulate` and the scripted one of `npm run demo`.
 */
import { SETTINGS, STACK_ID } from '../lambda/contract.js';
import type { DeliveryPlan } from './bus.js';
import { CRASH_POINTS, type CrashPoint } from './network.js';
import { Random } from './random.js';
import type {
  FaultKnobs,
  SimulationOptions,
  StackConfig,
} from './simulation.js';
import { type BatchPlan, generateWorkload, type RunPlan } from './workload.js';

/** Workload times are multiples of this. */
const TICK_MS = 10_000;
const MIN = 60_000;

/** Projects the main stack looks after, and one it does not. */
const IN_SCOPE_PROJECTS = ['web-app', 'api', 'mobile', 'infra'];
const OUT_OF_SCOPE_PROJECT = 'legacy';

/**
 * The fault profile of the reliability figures: duplicated, lost and
 * reordered events, CodeBuild throttling and 5xx, DynamoDB throttling, kills
 * at every crash point, and a ten-minute DynamoDB outage an hour in.
 */
export const DEFAULT_FAULTS: FaultKnobs = {
  dup: 0.1,
  drop: 0.05,
  reorder: 0.2,
  maxDelayMs: 5 * MIN,
  throttle: 0.1,
  serverErrors: 0.02,
  dynamoThrottle: 0.05,
  crash: 0.02,
  crashPoints: CRASH_POINTS,
  outage: { atMs: 60 * MIN, durationMs: 10 * MIN },
};

/** Options of {@link randomScenario}. */
export interface RandomScenarioOptions {
  readonly batches: number;
  readonly seed: number;
  readonly faults?: Partial<FaultKnobs>;
  /** CloudFormation parameters of the stack (ProjectNames defaults to the in-scope projects). */
  readonly parameters?: Readonly<Record<string, string>>;
  readonly accountConcurrency?: number;
}

/**
 * The random workload: healthy, flaky and broken batches over four projects
 * in scope, 5% in a fifth project out of scope, 2% that failed before the
 * lookback window; starts spread over four simulated hours.
 *
 * @example
 * await runSimulation({ ...randomScenario({ batches: 100, seed: 1 }), assembly });
 */
export function randomScenario(
  options: RandomScenarioOptions,
): Omit<SimulationOptions, 'assembly'> {
  const parameters: Record<string, string> = {
    [SETTINGS.projectNames.parameter]: IN_SCOPE_PROJECTS.join(','),
    ...options.parameters,
  };
  const lookbackHours = Number(
    parameters[SETTINGS.lookbackHours.parameter] ??
      SETTINGS.lookbackHours.default,
  );
  const plans = generateWorkload({
    batches: options.batches,
    random: new Random(options.seed).fork('plans'),
    projects: IN_SCOPE_PROJECTS,
    outOfScopeProjects: [OUT_OF_SCOPE_PROJECT],
    outOfScopeShare: 0.05,
    staleShare: 0.02,
    staleOffsetMs: -(lookbackHours + 6) * 3_600_000,
    tickMs: TICK_MS,
  });
  return {
    seed: options.seed,
    plans,
    stacks: [{ stackName: STACK_ID, parameters }],
    faults: { ...DEFAULT_FAULTS, ...options.faults },
    tickMs: TICK_MS,
    accountConcurrency: options.accountConcurrency,
  };
}

/** A demo batch: a plan plus what the demo does to it. */
interface DemoBatch {
  readonly plan: BatchPlan;
  /** Delivery of the n-th event of the batch (0-based). */
  readonly delivery?: (n: number) => DeliveryPlan | undefined;
  /** Where the first invocation for its failure is killed. */
  readonly crash?: CrashPoint;
  /** RetryBuildBatch calls throttled when the batch first fails. */
  readonly throttleRetry?: number;
}

/** Build durations where e2e ends last, so its event ends the batch. */
const DURATIONS = { build: 4 * MIN, unit: 8 * MIN, e2e: 12 * MIN };

/** Runs of a batch whose e2e build fails `failures` times, then passes. */
const failThenPass = (failures: number, durationMs = DURATIONS) => [
  ...Array.from({ length: failures }, () => ({
    fails: true,
    failingGroups: ['e2e'],
    durationMs,
    settleLagMs: 0,
  })),
  { fails: false, durationMs, settleLagMs: 0 },
];

/** A run in which `group` fails (build durations drawn from the seed). */
const failing = (group: string): Partial<RunPlan> => ({
  fails: true,
  failingGroups: [group],
  settleLagMs: 0,
});

/** Demo batch number `n`: three groups, starting every two minutes. */
function demo(
  n: number,
  label: string,
  project: string,
  plan: Partial<BatchPlan> & Pick<BatchPlan, 'kind'>,
  extra: Omit<DemoBatch, 'plan'> = {},
): DemoBatch {
  const key = `d${String(n).padStart(2, '0')}`;
  const groups = ['build', 'unit', 'e2e'];
  return {
    plan: {
      key,
      label,
      project,
      groups,
      startOffsetMs: n * 2 * MIN,
      fastFail: false,
      ...plan,
    },
    ...extra,
  };
}

const DEMO: readonly DemoBatch[] = [
  demo(1, 'healthy', 'web-app', {
    kind: 'healthy',
    runs: [{ fails: false, settleLagMs: 0 }],
  }),
  demo(2, 'flaky: fails once', 'api', { kind: 'flaky', runs: failThenPass(1) }),
  demo(3, 'flaky: fails twice', 'web-app', {
    kind: 'flaky',
    runs: failThenPass(2),
  }),
  demo(4, 'broken: a build fails every run', 'mobile', {
    kind: 'broken',
    runs: [0, 1, 2, 3].map(() => failing('unit')),
  }),
  demo(5, 'broken batchspec: fails before any build', 'infra', {
    kind: 'broken',
    preBuild: 'always',
  }),
  demo(
    6,
    'every event delivered 3 times',
    'api',
    { kind: 'flaky', runs: failThenPass(1) },
    {
      delivery: () => [0, TICK_MS, 6 * TICK_MS],
    },
  ),
  demo(
    7,
    'failure events lost',
    'web-app',
    { kind: 'flaky', runs: failThenPass(1) },
    {
      delivery: (n) => (n < 3 ? [] : undefined),
    },
  ),
  demo(8, 'not settled when its build failed', 'mobile', {
    kind: 'flaky',
    runs: [
      {
        fails: true,
        failingGroups: ['build'],
        durationMs: { build: 3 * MIN, unit: 12 * MIN, e2e: 14 * MIN },
        settleLagMs: 90_000,
      },
      { fails: false, settleLagMs: 0 },
    ],
  }),
  demo(9, 'project not in ProjectNames', OUT_OF_SCOPE_PROJECT, {
    kind: 'broken',
    runs: [failing('e2e')],
  }),
  demo(10, 'DryRun=true stack', 'sandbox', {
    kind: 'broken',
    runs: [failing('e2e')],
  }),
  demo(
    11,
    'killed after reserving, before RetryBuildBatch',
    'api',
    {
      kind: 'flaky',
      runs: failThenPass(1),
    },
    { crash: 'before-retry-call' },
  ),
  demo(
    12,
    'killed before RetryBuildBatch returned',
    'infra',
    {
      kind: 'flaky',
      runs: failThenPass(1),
    },
    { crash: 'during-retry-call' },
  ),
  demo(
    13,
    'RetryBuildBatch throttled twice',
    'web-app',
    {
      kind: 'flaky',
      runs: failThenPass(1),
    },
    { throttleRetry: 2 },
  ),
  demo(14, 'fails during a DynamoDB outage', 'api', {
    kind: 'flaky',
    runs: failThenPass(1, { build: 5 * MIN, unit: 10 * MIN, e2e: 17 * MIN }),
    startOffsetMs: 40 * MIN,
  }),
  demo(15, 'failed 30 h ago (outside lookback)', 'web-app', {
    kind: 'broken',
    startOffsetMs: -30 * 3_600_000,
    runs: [failing('e2e')],
  }),
];

/** The stacks of the demo: the service, and a DryRun copy for `sandbox`. */
const DEMO_STACKS: readonly StackConfig[] = [
  {
    stackName: STACK_ID,
    parameters: {
      [SETTINGS.projectNames.parameter]: IN_SCOPE_PROJECTS.join(','),
      [SETTINGS.maxRetries.parameter]: '2',
    },
  },
  {
    stackName: `${STACK_ID}-DryRun`,
    parameters: {
      [SETTINGS.projectNames.parameter]: 'sandbox',
      [SETTINGS.dryRun.parameter]: 'true',
    },
  },
];

/**
 * The demo: fifteen scripted batches, one per behaviour worth seeing, and no
 * random faults; the DynamoDB outage hits batch d14's failure.
 *
 * @example
 * await runSimulation({ ...demoScenario(), assembly });
 */
export function demoScenario(): Omit<SimulationOptions, 'assembly'> {
  const byKey = new Map(DEMO.map((d) => [d.plan.key, d]));
  const throttled = new Set<string>();
  const failed = (event: { detail?: unknown }) =>
    (event.detail as Record<string, unknown>)['build-status'] === 'FAILED';
  return {
    seed: 7,
    plans: DEMO.map((d) => d.plan),
    stacks: DEMO_STACKS,
    tickMs: TICK_MS,
    // The e2e build of d14 fails 57 min in; DynamoDB is down from 55 to 70.
    faults: { outage: { atMs: 55 * MIN, durationMs: 15 * MIN } },
    script: {
      delivery: (plan, _event, n) => byKey.get(plan.key)?.delivery?.(n),
      crash: (plan, event, attempt) => {
        const crash = byKey.get(plan.key)?.crash;
        return attempt === 1 && failed(event) ? crash : undefined;
      },
      onEvent: (plan, event, emulator) => {
        const times = byKey.get(plan.key)?.throttleRetry;
        if (!times || !failed(event) || throttled.has(plan.key)) return;
        throttled.add(plan.key);
        emulator.failNext('RetryBuildBatch', times, 'throttle');
      },
    },
  };
}
