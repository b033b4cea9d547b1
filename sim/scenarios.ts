/**
 * The scenarios the CLIs and the tests run: the random workload of
 * `npm run simulate` and the scripted one of `npm run demo`.
 */
import { PROJECT_TAGS, SETTINGS, STACK_ID } from '../lambda/contract.js';
import type { DeploymentOptions } from '../tools/local-aws/deployment.js';
import { Random } from './random.js';
import {
  type FaultKnobs,
  NO_FAULTS,
  type SimulationOptions,
  TICK_MS,
} from './simulation.js';
import {
  type BatchKind,
  type BatchPlan,
  type CauseName,
  generateWorkload,
  type RunPlan,
} from './workload.js';

const MIN = 60_000;

/** Projects the main stack looks after, and one it does not. */
const IN_SCOPE_PROJECTS = ['web-app', 'api', 'mobile', 'infra'];
const OUT_OF_SCOPE_PROJECT = 'legacy';
/** In ProjectNames, but opted out by its `enabled` tag. */
const OPTED_OUT_PROJECT = 'docs';

/** Project tags of the random workload: a bigger budget, an opt-out. */
const PROJECT_TAGS_OF_RANDOM = {
  mobile: { [PROJECT_TAGS.maxRetries]: '3' },
  [OPTED_OUT_PROJECT]: { [PROJECT_TAGS.enabled]: 'false' },
};

/**
 * The fault profile of the reliability figures: duplicated, lost and
 * reordered events, CodeBuild throttling and 5xx, DynamoDB throttling, kills
 * at every crash point, and a ten-minute DynamoDB outage an hour in.
 */
export const DEFAULT_FAULTS: FaultKnobs = {
  ...NO_FAULTS,
  dup: 0.1,
  drop: 0.05,
  reorder: 0.2,
  throttle: 0.1,
  serverErrors: 0.02,
  dynamoThrottle: 0.05,
  crash: 0.02,
  outage: { atMs: 60 * MIN, durationMs: 10 * MIN },
};

/** Options of {@link randomScenario}; ProjectNames defaults to the in-scope projects. */
export type RandomScenarioOptions = Pick<
  SimulationOptions,
  'seed' | 'faults' | 'accountConcurrency' | 'projectOutage'
> & {
  readonly batches: number;
  readonly parameters?: Record<string, string>;
  /** Settle delay range, seconds (see DEFAULT_SETTLE_DELAY_SECONDS). */
  readonly settleDelaySeconds?: readonly [number, number];
};

/**
 * The random workload: healthy, flaky and broken batches over four projects
 * in scope (`mobile` tagged with MaxRetries 3), 5% in a project out of scope
 * or in one opted out by tag, 2% that failed before the lookback window;
 * starts spread over four simulated hours.
 *
 * @example
 * await runSimulation({ ...randomScenario({ batches: 100, seed: 1 }), assembly });
 */
export function randomScenario(
  options: RandomScenarioOptions,
): Omit<SimulationOptions, 'assembly'> {
  const parameters: Record<string, string> = {
    [SETTINGS.projectNames.parameter]: [
      ...IN_SCOPE_PROJECTS,
      OPTED_OUT_PROJECT,
    ].join(','),
    // The workload's expectation is that every retryable failure with
    // budget is retried; an open circuit withholds exactly those on
    // purpose, so this workload runs without the breaker — unless a
    // project outage is what it is about.
    [SETTINGS.circuitBreakerThreshold.parameter]: options.projectOutage
      ? String(SETTINGS.circuitBreakerThreshold.default)
      : '0',
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
    rareProjects: [OUT_OF_SCOPE_PROJECT, OPTED_OUT_PROJECT],
    rareShare: 0.05,
    staleShare: 0.02,
    staleOffsetMs: -(lookbackHours + 6) * 3_600_000,
    tickMs: TICK_MS,
    settleDelaySeconds: options.settleDelaySeconds,
  });
  return {
    seed: options.seed,
    plans,
    stacks: [{ stackName: STACK_ID, parameters }],
    faults: { ...DEFAULT_FAULTS, ...options.faults },
    accountConcurrency: options.accountConcurrency,
    projectTags: PROJECT_TAGS_OF_RANDOM,
    projectOutage: options.projectOutage,
  };
}

/** Build durations where e2e ends last, so its event ends the batch. */
const DURATIONS = { build: 4 * MIN, unit: 8 * MIN, e2e: 12 * MIN };

/** A run in which `group` fails of `cause` (build durations drawn from the seed). */
const failing = (
  group: string,
  cause: CauseName = 'containerDead',
): Partial<RunPlan> => ({
  fails: true,
  failingGroups: [group],
  causes: { [group]: cause },
  settleLagMs: 0,
});

/** Runs of a batch whose e2e build fails of each cause in turn, then passes. */
const failThenPass = (
  causes: readonly CauseName[] = ['containerDead'],
  durationMs = DURATIONS,
) => [
  ...causes.map((cause) => ({ ...failing('e2e', cause), durationMs })),
  { fails: false, durationMs, settleLagMs: 0 },
];

/** Runs of a batch whose e2e build fails of `cause` every time. */
const failAlways = (cause: CauseName) =>
  Array.from({ length: 8 }, () => failing('e2e', cause));

/** The runs of a demo batch unless it says otherwise. */
const RUNS: Record<BatchKind, readonly Partial<RunPlan>[]> = {
  healthy: [{ fails: false, settleLagMs: 0 }],
  flaky: failThenPass(),
  broken: failAlways('outOfMemory'),
};

/** Demo batch number `n`: three groups, starting every two minutes. */
const demo = (
  n: number,
  label: string,
  project: string,
  kind: BatchKind,
  plan: Partial<BatchPlan> = {},
): BatchPlan => ({
  key: `d${String(n).padStart(2, '0')}`,
  label,
  project,
  kind,
  groups: ['build', 'unit', 'e2e'],
  startOffsetMs: n * 2 * MIN,
  runs: RUNS[kind],
  fastFail: false,
  ...plan,
});

const DEMO: readonly BatchPlan[] = [
  demo(1, 'healthy', 'web-app', 'healthy'),
  demo(2, 'out of memory (exit 137) once', 'api', 'flaky', {
    runs: failThenPass(['outOfMemory']),
  }),
  demo(3, 'image pull rate limit, then source 503', 'web-app', 'flaky', {
    runs: failThenPass(['pullRateLimit', 'sourceUnavailable']),
  }),
  demo(4, 'a test fails every run', 'mobile', 'broken', {
    runs: [0, 1, 2].map(() => failing('unit', 'testFailure')),
  }),
  demo(5, 'batchspec download failed, no event', 'infra', 'flaky', {
    preBuild: 'first',
    runs: undefined,
  }),
  demo(6, 'every event delivered 3 times', 'api', 'flaky', {
    script: { delivery: () => [0, TICK_MS, 6 * TICK_MS] },
  }),
  demo(7, 'failure events lost', 'web-app', 'flaky', {
    script: { delivery: (n) => (n < 3 ? [] : undefined) },
  }),
  demo(8, 'not settled when its build failed', 'mobile', 'flaky', {
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
  demo(9, 'project not in ProjectNames', OUT_OF_SCOPE_PROJECT, 'broken'),
  demo(10, 'DryRun=true stack', 'sandbox', 'broken'),
  demo(11, 'killed after reserving, before RetryBuildBatch', 'api', 'flaky', {
    script: { crash: 'before-retry-call' },
  }),
  demo(12, 'killed before RetryBuildBatch returned', 'infra', 'flaky', {
    script: { crash: 'during-retry-call' },
  }),
  demo(13, 'RetryBuildBatch throttled twice', 'web-app', 'flaky', {
    script: { throttleRetry: 2 },
  }),
  demo(14, 'fails during a DynamoDB outage', 'api', 'flaky', {
    runs: failThenPass(undefined, {
      build: 5 * MIN,
      unit: 10 * MIN,
      e2e: 17 * MIN,
    }),
    startOffsetMs: 40 * MIN,
  }),
  demo(15, 'failed 30 h ago (outside lookback)', 'web-app', 'broken', {
    startOffsetMs: -30 * 3_600_000,
  }),
  demo(16, 'network error only in the build log', 'web-app', 'flaky', {
    runs: failThenPass(['networkInLog']),
  }),
  demo(17, 'broken buildspec', 'api', 'broken', {
    runs: failAlways('brokenBuildspec'),
  }),
  demo(18, 'project opted out by tag', 'docs', 'broken'),
  demo(19, 'out of memory every run, max-retries 5 by tag', 'ml', 'broken'),
  demo(20, 'settles a minute after its failed last build', 'api', 'flaky', {
    runs: [
      { ...failing('e2e'), durationMs: DURATIONS, settleLagMs: MIN },
      { fails: false, settleLagMs: 0 },
    ],
  }),
];

/** The demo's project tags: `docs` opts out, `ml` gets five retries. */
const DEMO_TAGS = {
  docs: { [PROJECT_TAGS.enabled]: 'false' },
  ml: { [PROJECT_TAGS.maxRetries]: '5' },
};

/** The stacks of the demo: the service, and a DryRun copy for `sandbox`. */
const DEMO_STACKS: readonly DeploymentOptions[] = [
  {
    stackName: STACK_ID,
    parameters: {
      [SETTINGS.projectNames.parameter]: [
        ...IN_SCOPE_PROJECTS,
        ...Object.keys(DEMO_TAGS),
      ].join(','),
      [SETTINGS.maxRetries.parameter]: '2',
      [SETTINGS.circuitBreakerThreshold.parameter]: '0',
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
 * The demo: twenty scripted batches, one per behaviour worth seeing, and
 * no random faults; the DynamoDB outage hits batch d14's failure.
 *
 * @example
 * await runSimulation({ ...demoScenario(), assembly });
 */
export function demoScenario(): Omit<SimulationOptions, 'assembly'> {
  return {
    seed: 7,
    plans: DEMO,
    stacks: DEMO_STACKS,
    projectTags: DEMO_TAGS,
    // The e2e build of d14 fails 57 min in; DynamoDB is down from 55 to 70.
    faults: { outage: { atMs: 55 * MIN, durationMs: 15 * MIN } },
  };
}
