import { beforeAll, describe, expect, it } from 'vitest';
import {
  asExpected,
  classText,
  demoFlakinessReport,
  demoSummary,
  demoTable,
  retryPaths,
  wouldRetryCounts,
} from '../../sim/demo.js';
import { demoScenario } from '../../sim/scenarios.js';
import {
  type BatchResult,
  runSimulation,
  type SimulationResult,
} from '../../sim/simulation.js';
import { synthesize } from '../../tools/local-aws/synth.js';

// `npm run demo` as a smoke test: the scripted scenario, end to end.

let result: SimulationResult;
let wallMs: number;
let report: string;

beforeAll(async () => {
  const started = performance.now();
  const assembly = await synthesize('test-demo');
  result = await runSimulation({
    ...demoScenario(),
    assembly,
    beforeStop: async ({ dynamodbEndpoint, tables, now }) => {
      const table = Object.values(tables)[0] ?? '';
      report = await demoFlakinessReport(dynamodbEndpoint, table, now);
    },
  });
  wallMs = performance.now() - started;
}, 120_000);

const batch = (key: string): BatchResult => {
  const found = result.batches.find((b) => b.key === key);
  if (!found) throw new Error(`no batch ${key}`);
  return found;
};

describe('the demo scenario', () => {
  it('goes as expected for every batch, with every invariant holding', () => {
    expect(result.batches).toHaveLength(20);
    expect(result.batches.filter((b) => !asExpected(b))).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.figures.retriesIssued).toBe(18);
    expect(result.figures.nonRetryableRetried).toBe(0);
    expect(result.figures.retryableMissed).toBe(0);
  });

  it('retries retryable classes until the batch passes', () => {
    expect(batch('d02')).toMatchObject({ retries: 1, status: 'SUCCEEDED' });
    expect(classText(batch('d02'))).toBe('transient');
    expect(batch('d03')).toMatchObject({ retries: 2, status: 'SUCCEEDED' });
    expect(classText(batch('d03'))).toBe('infrastructure, source');
    expect(batch('d16')).toMatchObject({ retries: 1, status: 'SUCCEEDED' });
    expect(classText(batch('d16'))).toBe('transient');
  });

  it('reads the build log only where it can make a command failure transient', () => {
    // d04's test failure and d16's network error: script by their messages.
    // The sweep at 25 min decides d04 in the same step as its event, and
    // may read its log too.
    expect(result.figures.logReads).toBeGreaterThanOrEqual(2);
    expect(result.figures.logReads).toBeLessThanOrEqual(3);
    expect(result.figures.apiCalls['logs:GetLogEvents']).toBe(
      result.figures.logReads,
    );
    // d16's log tail holds web-app's secret, which no line may show.
    expect(result.figures.secretsInLogTails).toBe(1);
    expect(result.figures.secretLeaks).toBe(0);
  });

  it('does not retry genuine failures: a failing test, a broken buildspec', () => {
    for (const [key, cls] of [
      ['d04', 'script'],
      ['d17', 'configuration'],
    ]) {
      expect(batch(key as string)).toMatchObject({
        retries: 0,
        failures: 1,
        status: 'FAILED',
      });
      expect(batch(key as string).budgetRetries).toBeUndefined();
      expect(classText(batch(key as string))).toBe(cls);
    }
  });

  it('follows project tags: an opt-out, a bigger budget', () => {
    expect(batch('d18')).toMatchObject({
      scope: 'opted-out',
      retries: 0,
      status: 'FAILED',
    });
    expect(batch('d19')).toMatchObject({
      retries: 5,
      failures: 6,
      status: 'FAILED',
      maxRetries: 5,
      budgetRetries: 5,
    });
  });

  it('finds failures without events through the sweep', () => {
    const paths = retryPaths(result);
    expect(paths.get(batch('d05').arn as string)).toEqual(['sweep']);
    expect(classText(batch('d05'))).toBe('unknown');
    expect(paths.get(batch('d07').arn as string)).toEqual(['sweep']);
  });

  it('re-checks a batch still running when its build failed, from the queue', () => {
    const paths = retryPaths(result);
    for (const key of ['d08', 'd20']) {
      expect(paths.get(batch(key).arn as string), key).toEqual(['re-check']);
    }
    // d20 settles 60 s after its failed last build; the settle chain's
    // re-checks (5, 15, 30, 50, 80 s after it) retry it 20 s after.
    const [run] = batch('d20').failedRuns;
    const seconds = ((run?.retriedAt ?? 0) - (run?.settledAt ?? 0)) / 1000;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(20);
    expect(result.figures.retriesByPath.recheck.retries).toBeGreaterThanOrEqual(
      2,
    );
    expect(result.figures.recheckDlqMessages).toBe(0);
  });

  it('retries once for an event delivered three times', () => {
    expect(batch('d06')).toMatchObject({ retries: 1, budgetRetries: 1 });
  });

  it('finishes an attempt whose process died, with the same token', () => {
    const paths = retryPaths(result);
    expect(paths.get(batch('d11').arn as string)).toEqual(['event (resumed)']);
    expect(batch('d11').budgetRetries).toBe(1);
    expect(batch('d12')).toMatchObject({ retries: 1, budgetRetries: 1 });
    expect(result.figures.crashes).toEqual({
      'before-retry-call': 1,
      'during-retry-call': 1,
    });
  });

  it('rides out throttling and a DynamoDB outage', () => {
    expect(batch('d13').retries).toBe(1);
    expect(result.figures.faultsInjected.codebuildThrottles).toBe(2);
    expect(batch('d14').retries).toBe(1);
    expect(result.figures.dlqMessages).toBeGreaterThan(0);
  });

  it('leaves alone what is out of scope, dry run, or outside the window', () => {
    expect(batch('d09')).toMatchObject({ scope: 'out-of-scope', retries: 0 });
    expect(batch('d10')).toMatchObject({ scope: 'dry-run', retries: 0 });
    expect(
      wouldRetryCounts(result).get(batch('d10').arn as string),
    ).toBeGreaterThan(0);
    expect(batch('d15')).toMatchObject({ scope: 'stale', retries: 0 });
  });

  it('prints a table row per batch and a summary', () => {
    const text = demoTable(result);
    expect(text.split('\n')).toHaveLength(2 + 20);
    expect(text).toContain('event (resumed)');
    expect(text.split('\n')[0]).toContain('class');
    expect(text).toMatch(/d17 .* configuration .* FAILED, not retryable/);
    expect(text).toMatch(/d19 .* FAILED, budget exhausted \(5\/5\)/);
    expect(text).not.toContain('✗');
    expect(demoSummary(result)).toContain('over-retries 0, missed 0');
  });

  it('runs well within a minute', () => {
    expect(wallMs).toBeLessThan(60_000);
  });
});

it('ends with the flakiness report of its own history', () => {
  expect(report).toContain('Flakiness of ');
  for (const project of ['api', 'web-app', 'ml']) {
    expect(report).toMatch(new RegExp(`^${project}$`, 'm'));
  }
  expect(report).toContain('Flakiest build groups');
});
