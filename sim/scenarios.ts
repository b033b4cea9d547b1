/**
 * The scenarios the CLIs and the tests run: the random workload of
 * `npm run simulate` and the scripted one of `npm run demo`.
 */
import type { DeliveryPlan } from './bus.js';
import { CRASH_POINTS } from './network.js';
import { Random } from './random.js';
import type {
  FaultKnobs,
  SimulationOptions,
  StackConfig,
} from './simulation.js';
import { type BatchPlan, generateWorkload } from './workload.js';

/** Workload times are multiples of this. */
export const TICK_MS = 10_000;

/** Projects the main stack looks after, and one it does not. */
export const IN_SCOPE_PROJECTS = ['web-app', 'api', 'mobile', 'infra'] as const;
export const OUT_OF_SCOPE_PROJECT = 'legacy';

/** The stack name `bin/app.ts` deploys. */
export const MAIN_STACK = 'CodeBuildBatchRetry';

/**
 * The fault profile of the reliability figures: every knob on, at the
 * values of the command line, plus CodeBuild 5xx, DynamoDB
 * throttling and a ten-minute DynamoDB outage an hour in.
 */
export const DEFAULT_FAULTS: FaultKnobs = {
  dup: 0.1,
  drop: 0.05,
  reorder: 0.2,
  maxDelayMs: 5 * 60_000,
  throttle: 0.1,
  serverErrors: 0.02,
  dynamoThrottle: 0.05,
  crash: 0.02,
  crashPoints: CRASH_POINTS,
  outage: { atMs: 60 * 60_000, durationMs: 10 * 60_000 },
};

/** Options of {@link randomScenario}. */
export interface RandomScenarioOptions {
  readonly batches: number;
  readonly seed: number;
  readonly faults?: Partial<FaultKnobs>;
  /** CloudFormation parameters of the main stack (ProjectNames defaults to the in-scope projects). */
  readonly parameters?: Readonly<Record<string, string>>;
  readonly accountConcurrency?: number;
}

/**
 * The random workload: healthy, flaky and broken batches over four projects
 * in scope, some in a fifth project out of scope, a few that failed before
 * the lookback window; starts spread over four simulated hours.
 */
export function randomScenario(
  options: RandomScenarioOptions,
): Omit<SimulationOptions, 'assembly'> {
  const parameters: Record<string, string> = {
    ProjectNames: IN_SCOPE_PROJECTS.join(','),
    ...options.parameters,
  };
  const lookbackHours = Number(parameters.LookbackHours ?? 24);
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
    stacks: [{ stackName: MAIN_STACK, parameters }],
    faults: { ...DEFAULT_FAULTS, ...options.faults },
    tickMs: TICK_MS,
    accountConcurrency: options.accountConcurrency,
  };
}

const min = 60_000;

/** A demo batch: a plan plus what the demo does to it. */
interface DemoBatch {
  readonly plan: BatchPlan;
  /** Delivery of the n-th event of the batch (0-based). */
  readonly delivery?: (n: number) => DeliveryPlan | undefined;
  readonly crash?: (typeof CRASH_POINTS)[number];
  /** Queue CodeBuild faults when the batch first fails. */
  readonly throttleRetry?: number;
}

function demoPlan(
  n: number,
  label: string,
  project: string,
  extra: Partial<BatchPlan> & Pick<BatchPlan, 'kind'>,
): BatchPlan {
  return {
    key: `d${String(n).padStart(2, '0')}`,
    label,
    project,
    groups: ['build', 'unit', 'e2e'],
    startOffsetMs: n * 2 * min,
    fastFail: false,
    ...extra,
  };
}

/** Build durations where e2e ends last, so its event ends the batch. */
const DURATIONS = { build: 4 * min, unit: 8 * min, e2e: 12 * min };

/** Runs for a batch whose e2e fails `failures` times, then passes. */
const failThenPass = (failures: number, durationMs = DURATIONS) => [
  ...Array.from({ length: failures }, () => ({
    fails: true,
    failingGroups: ['e2e'],
    durationMs,
    settleLagMs: 0,
  })),
  { fails: false, durationMs, settleLagMs: 0 },
];

const DEMO: readonly DemoBatch[] = [
  {
    plan: demoPlan(1, 'healthy', 'web-app', {
      kind: 'healthy',
      runs: [{ fails: false, settleLagMs: 0 }],
    }),
  },
  {
    plan: demoPlan(2, 'flaky: fails once', 'api', {
      kind: 'flaky',
      runs: failThenPass(1),
    }),
  },
  {
    plan: demoPlan(3, 'flaky: fails twice', 'web-app', {
      kind: 'flaky',
      runs: failThenPass(2),
    }),
  },
  {
    plan: demoPlan(4, 'broken: a build fails every run', 'mobile', {
      kind: 'broken',
      runs: [0, 1, 2, 3].map(() => ({
        fails: true,
        failingGroups: ['unit'],
        settleLagMs: 0,
      })),
    }),
  },
  {
    plan: demoPlan(5, 'broken batchspec: fails before any build', 'infra', {
      kind: 'broken',
      preBuild: 'always',
    }),
  },
  {
    plan: demoPlan(6, 'every event delivered 3 times', 'api', {
      kind: 'flaky',
      runs: failThenPass(1),
    }),
    delivery: () => [0, TICK_MS, 6 * TICK_MS],
  },
  {
    plan: demoPlan(7, 'failure events lost', 'web-app', {
      kind: 'flaky',
      runs: failThenPass(1),
    }),
    delivery: (n) => (n < 3 ? [] : undefined),
  },
  {
    plan: demoPlan(8, 'not settled when its build failed', 'mobile', {
      kind: 'flaky',
      runs: [
        {
          fails: true,
          failingGroups: ['build'],
          durationMs: { build: 3 * min, unit: 12 * min, e2e: 14 * min },
          settleLagMs: 90_000,
        },
        { fails: false, settleLagMs: 0 },
      ],
    }),
  },
  {
    plan: demoPlan(9, 'project not in ProjectNames', OUT_OF_SCOPE_PROJECT, {
      kind: 'broken',
      runs: [{ fails: true, failingGroups: ['e2e'], settleLagMs: 0 }],
    }),
  },
  {
    plan: demoPlan(10, 'DryRun=true stack', 'sandbox', {
      kind: 'broken',
      runs: [{ fails: true, failingGroups: ['e2e'], settleLagMs: 0 }],
    }),
  },
  {
    plan: demoPlan(
      11,
      'killed after reserving, before RetryBuildBatch',
      'api',
      {
        kind: 'flaky',
        runs: failThenPass(1),
      },
    ),
    crash: 'before-retry-call',
  },
  {
    plan: demoPlan(12, 'killed before RetryBuildBatch returned', 'infra', {
      kind: 'flaky',
      runs: failThenPass(1),
    }),
    crash: 'during-retry-call',
  },
  {
    plan: demoPlan(13, 'RetryBuildBatch throttled twice', 'web-app', {
      kind: 'flaky',
      runs: failThenPass(1),
    }),
    throttleRetry: 2,
  },
  {
    plan: demoPlan(14, 'fails during a DynamoDB outage', 'api', {
      kind: 'flaky',
      runs: failThenPass(1, { build: 5 * min, unit: 10 * min, e2e: 17 * min }),
      startOffsetMs: 40 * min,
    }),
  },
  {
    plan: demoPlan(15, 'failed 30 h ago (outside lookback)', 'web-app', {
      kind: 'broken',
      startOffsetMs: -30 * 3_600_000,
      runs: [{ fails: true, failingGroups: ['e2e'], settleLagMs: 0 }],
    }),
  },
];

/** The stacks of the demo: the service, and a DryRun copy for `sandbox`. */
export const DEMO_STACKS: readonly StackConfig[] = [
  {
    stackName: MAIN_STACK,
    parameters: { ProjectNames: IN_SCOPE_PROJECTS.join(','), MaxRetries: '2' },
  },
  {
    stackName: `${MAIN_STACK}-DryRun`,
    parameters: { ProjectNames: 'sandbox', DryRun: 'true' },
  },
];

/**
 * The demo: fifteen scripted batches, one per behaviour worth seeing, and no
 * random faults; the DynamoDB outage hits batch d14's failure.
 */
export function demoScenario(): Omit<SimulationOptions, 'assembly'> {
  const byKey = new Map(DEMO.map((d) => [d.plan.key, d]));
  const throttled = new Set<string>();
  return {
    seed: 7,
    plans: DEMO.map((d) => d.plan),
    stacks: DEMO_STACKS,
    tickMs: TICK_MS,
    faults: {
      // The e2e build of d14 fails 57 min in; DynamoDB is down from 55 to 70.
      outage: { atMs: 55 * min, durationMs: 15 * min },
    },
    script: {
      delivery: (plan, _event, n) => byKey.get(plan.key)?.delivery?.(n),
      crash: (plan, event, attempt) => {
        const demo = byKey.get(plan.key);
        const detail = event.detail as Record<string, unknown>;
        if (!demo?.crash || attempt !== 1) return undefined;
        return detail['build-status'] === 'FAILED' ? demo.crash : undefined;
      },
      onEvent: (plan, event, emulator) => {
        const demo = byKey.get(plan.key);
        const detail = event.detail as Record<string, unknown>;
        if (
          demo?.throttleRetry &&
          detail['build-status'] === 'FAILED' &&
          !throttled.has(plan.key)
        ) {
          throttled.add(plan.key);
          emulator.failNext('RetryBuildBatch', demo.throttleRetry, 'throttle');
        }
      },
    },
  };
}
