/**
 * `npm run simulate -- [options]`: the reliability measurement. Runs a
 * random workload of CodeBuild batches through the synthesized stack on
 * emulated AWS with faults, prints the figures (or `--json`), and exits
 * non-zero when an invariant breaks (over-retries, missed retries, budget
 * exceeded, non-retryable failures retried, retryable ones missed, secrets
 * in logs, batches left running).
 */
import './quiet.js';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { synthesize } from '../tools/local-aws/synth.js';
import { CRASH_POINTS, type CrashPoint } from './network.js';
import { figuresTable } from './report.js';
import { DEFAULT_FAULTS, randomScenario } from './scenarios.js';
import { type FaultKnobs, NO_FAULTS, runSimulation } from './simulation.js';
import {
  DEFAULT_SETTLE_DELAY_SECONDS,
  type ProjectOutage,
} from './workload.js';

const USAGE = `Usage: npm run simulate -- [options]

  --batches N        batches in the workload (default 1000)
  --seed N           seed of the workload and the faults (default 1)
  --dup P            share of events delivered twice (default ${DEFAULT_FAULTS.dup})
  --drop P           share of events lost (default ${DEFAULT_FAULTS.drop})
  --reorder P        share of events held back behind later ones (default ${DEFAULT_FAULTS.reorder})
  --throttle P       share of CodeBuild calls throttled (default ${DEFAULT_FAULTS.throttle})
  --server-errors P  share of CodeBuild calls answered with HTTP 500 (default ${DEFAULT_FAULTS.serverErrors})
  --ddb-throttle P   share of DynamoDB calls throttled (default ${DEFAULT_FAULTS.dynamoThrottle})
  --crash P          chance of a kill at each crash point an invocation reaches (default ${DEFAULT_FAULTS.crash})
  --crash-at LIST    crash points to use (default all: ${CRASH_POINTS.join(',')})
  --outage MIN       DynamoDB outage of MIN minutes, an hour in (default 10; 0: none)
  --outage-project PROJECT:START-END  every build of PROJECT fails as
                     infrastructure (image pull rate limit), retries included,
                     from START to END simulated minutes; turns the circuit
                     breaker on (CircuitBreakerThreshold default 5) unless --param sets it
  --no-faults        every fault knob at 0 (flags after it still apply)
  --settle-delay MIN-MAX  seconds from a batch's last child (or first failure,
                     fast-fail) to its settling, uniform (default ${DEFAULT_SETTLE_DELAY_SECONDS.join('-')})
  --param K=V        a CloudFormation parameter of the stack (repeatable), e.g. MaxRetries=3
  --concurrency N    account concurrency for the unreserved function (default 6)
  --json             print one JSON object instead of tables
  --help`;

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  throw new Error(`--${name} must be a whole number`);
}

/** The flags that set a probability, and the knob each one sets. */
const FRACTIONS = {
  dup: 'dup',
  drop: 'drop',
  reorder: 'reorder',
  throttle: 'throttle',
  'server-errors': 'serverErrors',
  'ddb-throttle': 'dynamoThrottle',
  crash: 'crash',
} as const satisfies Record<string, keyof FaultKnobs>;

/** Parsed command line. */
export type SimulateArgs = ReturnType<typeof parseSimulateArgs>;

/** Reads the command line (exported for tests). */
export function parseSimulateArgs(argv: readonly string[]) {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(Object.keys(FRACTIONS).map((f) => [f, text])),
      batches: text,
      seed: text,
      'crash-at': text,
      outage: text,
      'outage-project': text,
      'settle-delay': text,
      'no-faults': { type: 'boolean' },
      param: { type: 'string', multiple: true },
      concurrency: text,
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const faults: { -readonly [K in keyof FaultKnobs]: FaultKnobs[K] } = {
    ...(values['no-faults'] ? NO_FAULTS : DEFAULT_FAULTS),
  };
  for (const [flag, knob] of Object.entries(FRACTIONS)) {
    const value = (values as Record<string, unknown>)[flag] as
      | string
      | undefined;
    if (value === undefined) continue;
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) {
      throw new Error(`--${flag} must be between 0 and 1`);
    }
    faults[knob] = n;
  }
  if (values['crash-at']) {
    faults.crashPoints = values['crash-at'].split(',').map((p) => {
      if (!CRASH_POINTS.includes(p as CrashPoint)) {
        throw new Error(
          `--crash-at: unknown point ${p} (one of ${CRASH_POINTS.join(', ')})`,
        );
      }
      return p as CrashPoint;
    });
  }
  const outageMinutes = whole('outage', values.outage);
  if (outageMinutes !== undefined) {
    faults.outage =
      outageMinutes === 0
        ? undefined
        : { atMs: 60 * 60_000, durationMs: outageMinutes * 60_000 };
  }
  let settleDelaySeconds: [number, number] | undefined;
  if (values['settle-delay'] !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(values['settle-delay']);
    const [min, max] = [Number(match?.[1]), Number(match?.[2])];
    if (!match || min > max) {
      throw new Error(
        '--settle-delay takes MIN-MAX in whole seconds, MIN <= MAX',
      );
    }
    settleDelaySeconds = [min, max];
  }
  let projectOutage: ProjectOutage | undefined;
  if (values['outage-project'] !== undefined) {
    const match = /^([\w.-]+):(\d+)-(\d+)$/.exec(values['outage-project']);
    const [from, to] = [Number(match?.[2]), Number(match?.[3])];
    if (!match?.[1] || from >= to) {
      throw new Error(
        '--outage-project takes PROJECT:START-END in whole minutes, START < END',
      );
    }
    projectOutage = {
      project: match[1],
      fromMs: from * 60_000,
      toMs: to * 60_000,
    };
  }
  const parameters: Record<string, string> = {};
  for (const pair of values.param ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--param takes Key=Value, got ${pair}`);
    parameters[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    batches: whole('batches', values.batches) ?? 1000,
    seed: whole('seed', values.seed) ?? 1,
    faults: faults as FaultKnobs,
    parameters,
    settleDelaySeconds,
    projectOutage,
    accountConcurrency: whole('concurrency', values.concurrency),
    json: values.json ?? false,
    help: values.help ?? false,
  };
}

async function main(): Promise<void> {
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) return console.log(USAGE);
  // A folder per process: a second simulation started meanwhile would
  // otherwise empty this one's cloud assembly under it.
  const assembly = await synthesize(`simulate-${process.pid}`);
  const result = await runSimulation({ ...randomScenario(args), assembly });
  const { figures, ok } = result;
  const parameters = result.deployments[0]?.parameters ?? {};
  if (args.json) {
    console.log(
      JSON.stringify({ ...figures, ok, faults: args.faults, parameters }),
    );
  } else {
    const stack = Object.entries(parameters)
      .filter(([k]) => k !== 'BootstrapVersion')
      .map(([k, v]) => `${k}=${v}`);
    console.log(`Faults: ${JSON.stringify(args.faults)}`);
    console.log(`Stack parameters: ${stack.join(' ')}\n`);
    console.log(figuresTable(figures, result.invariants));
    console.log(
      ok
        ? '\nAll invariants hold.'
        : '\nINVARIANT BROKEN: see the marked rows above.',
    );
  }
  if (!ok) process.exitCode = 1;
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  await main();
}
