import { beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../lambda/contract.js';
import type { BusEvent } from '../../sim/bus.js';
import { randomScenario } from '../../sim/scenarios.js';
import {
  invocationKind,
  runSimulation,
  type SimulationResult,
} from '../../sim/simulation.js';
import { type Assembly, synthesize } from '../../tools/local-aws/synth.js';

// CI-sized reliability runs: the synthesized stack and its bundled function
// on emulated AWS, 100 batches per seed, every fault knob on.

let assembly: Assembly;
beforeAll(async () => {
  assembly = await synthesize('test-simulation');
});

const SEEDS = [11, 12, 13];

describe.each(SEEDS)('100 batches, every fault on, seed %i', (seed) => {
  let result: SimulationResult;
  beforeAll(async () => {
    result = await runSimulation({
      ...randomScenario({ batches: 100, seed }),
      assembly,
    });
  }, 120_000);

  it('never retries more than once per failure, nor past the budget', () => {
    const { figures } = result;
    expect(figures.overRetries).toBe(0);
    expect(figures.budgetExceeded).toBe(0);
  });

  it('retries every retryable failure that had budget left', () => {
    const { figures } = result;
    expect(figures.missedRetries).toBe(0);
    expect(figures.expectedRetries).toBeGreaterThan(20);
    expect(figures.retriesIssued).toBe(figures.expectedRetries);
    expect(figures.unfinished).toBe(0);
    for (const batch of result.batches) {
      expect(
        { key: batch.key, retries: batch.retries, status: batch.status },
        batch.label,
      ).toEqual({
        key: batch.key,
        retries: batch.expectedRetries,
        status: batch.expectedStatus,
      });
    }
  });

  it('keeps the DynamoDB budget in step with what CodeBuild did', () => {
    expect(result.figures.budgetMismatches).toBe(0);
    for (const batch of result.batches.filter((b) => b.scope === 'retry')) {
      expect(batch.budgetRetries ?? 0).toBeLessThanOrEqual(batch.maxRetries);
    }
  });

  it('heals flaky batches and stops broken ones', () => {
    const { figures } = result;
    expect(figures.flakyTotal).toBeGreaterThan(10);
    expect(figures.flakyRecovered).toBeGreaterThan(figures.flakyTotal / 2);
    expect(figures.brokenExhausted).toBeGreaterThan(0);
  });

  it('retries by class: never a genuine failure, always a retryable one', () => {
    const { figures } = result;
    expect(figures.nonRetryableRetried).toBe(0);
    expect(figures.retryableMissed).toBe(0);
    // Every class of the mix was drawn; only the retryable ones retried.
    for (const [cls, n] of Object.entries(figures.byClass)) {
      expect(n.failures, cls).toBeGreaterThan(0);
      expect(n.retried + n.notRetried, cls).toBe(n.failures);
      const retryable = SETTINGS.retryOn.default.some((c) => c === cls);
      if (!retryable) expect(n.retried, cls).toBe(0);
      else expect(n.healed, cls).toBeGreaterThan(0);
    }
    // Genuine failures of broken batches in scope: failed once, not retried.
    const genuine = result.batches.filter(
      (b) => b.scope === 'retry' && b.kind === 'broken' && b.retries === 0,
    );
    expect(genuine.length).toBeGreaterThan(0);
  });

  it('follows project tags: a bigger budget, an opt-out', () => {
    const of = (project: string) =>
      result.batches.filter(
        (b) => b.project === project && b.scope !== 'stale',
      );
    expect(of('mobile').length).toBeGreaterThan(0);
    for (const b of of('mobile')) expect(b.maxRetries).toBe(3);
    for (const b of of('docs')) {
      expect(b).toMatchObject({ scope: 'opted-out', retries: 0 });
    }
  });

  it('reads build logs, secrets included, through the per-environment network', () => {
    const { figures } = result;
    expect(figures.logReads).toBeGreaterThan(0);
    expect(figures.apiCalls['logs:GetLogEvents']).toBeGreaterThanOrEqual(
      figures.logReads,
    );
    // networkInLog builds print the project's secret; the function read it...
    expect(figures.secretsInLogTails).toBeGreaterThan(0);
    // ...and wrote it nowhere (the next test checks every line).
    expect(figures.secretLeaks).toBe(0);
  });

  it('leaves out-of-scope and stale batches alone', () => {
    const untouched = result.batches.filter(
      (b) => b.scope === 'out-of-scope' || b.scope === 'stale',
    );
    for (const batch of untouched) expect(batch.retries).toBe(0);
  });

  it('actually exercised every fault', () => {
    const { figures } = result;
    expect(figures.deliveries.dropped).toBeGreaterThan(0);
    expect(figures.deliveries.duplicated).toBeGreaterThan(0);
    expect(figures.deliveries.reordered).toBeGreaterThan(0);
    expect(figures.faultsInjected.codebuildThrottles).toBeGreaterThan(0);
    expect(figures.faultsInjected.codebuildServerErrors).toBeGreaterThan(0);
    expect(figures.faultsInjected.dynamodbThrottles).toBeGreaterThan(0);
    expect(figures.faultsInjected.dynamodbOutageResets).toBeGreaterThan(0);
    expect(figures.invocationOutcomes.killed).toBeGreaterThan(0);
    expect(figures.invocationOutcomes.lambdaRetries).toBeGreaterThan(0);
    expect(figures.dlqMessages).toBeGreaterThan(0);
  });

  it('never logs an environment-variable value from an event', () => {
    expect(result.secrets.length).toBeGreaterThan(0);
    // The function did receive the secrets...
    const delivered = result.invocations.filter((r) =>
      result.secrets.some((s) => JSON.stringify(r.event.payload).includes(s)),
    );
    expect(delivered.length).toBeGreaterThan(100);
    // ...and no line it wrote (logs, metrics) holds one.
    expect(result.logs.length).toBeGreaterThan(500);
    const leaking = result.logs.filter((l) =>
      result.secrets.some((s) => l.line.includes(s)),
    );
    expect(leaking).toEqual([]);
    expect(result.figures.secretLeaks).toBe(0);
  });

  it('re-checks watched batches from the queue, well within a sweep interval', () => {
    const { figures } = result;
    expect(figures.invocationsByKind.queue).toBeGreaterThan(0);
    expect(figures.retriesByPath.recheck.retries).toBeGreaterThan(
      figures.retriesByPath.sweep.retries,
    );
    expect(figures.retriesByPath.unknown.retries).toBe(0);
    expect(figures.settleToRetrySeconds.p50).toBeLessThanOrEqual(30);
    expect(figures.apiCalls['sqs:SendMessage']).toBeGreaterThan(0);
    expect(figures.recheckDlqMessages).toBe(0);
  });

  it('tells which queue messages the queue invocations made CodeBuild calls for', () => {
    const { figures } = result;
    const byMessage = figures.queueCodebuildCalls;
    // Every call names a batch or project one of its messages is about.
    expect(byMessage.unattributed).toBe(0);
    const queue = new Set(
      result.invocations
        .filter((r) => invocationKind(r) === 'queue')
        .map((r) => r.requestId),
    );
    const queueCalls = result.calls.filter(
      (c) => c.service === 'codebuild' && queue.has(c.requestId ?? ''),
    ).length;
    const { backstop, settle, follow, retry, invalid } = byMessage;
    const attributed = backstop + settle + follow + retry + invalid;
    expect(Math.abs(attributed - queueCalls)).toBeLessThanOrEqual(3);
    expect(backstop + settle).toBeGreaterThan(0);
    expect(follow).toBeGreaterThan(0);
    expect(figures.recheckCallsPerWatchedBatch).toBeCloseTo(
      (backstop + settle) / figures.watchedBatches,
      1,
    );
    expect(figures.followCallsPerRetry).toBeCloseTo(
      follow / figures.retriesIssued,
      1,
    );
    expect(figures.followedMinutes).toBeGreaterThan(0);
    // Reads are part of the re-check calls, and not all of them: a round
    // that finds its batch settled goes on to decide and retry.
    expect(figures.recheckReadsPerWatchedMinute).toBeGreaterThan(0);
    expect(figures.recheckReadsPerWatchedMinute).toBeLessThan(
      figures.recheckCallsPerWatchedMinute,
    );
  });

  it('measures retries from the settle, and from when the failure could be known', () => {
    const { settleToRetrySeconds, knownToRetrySeconds, settleToEventSeconds } =
      result.figures;
    for (const q of ['p50', 'p95', 'max'] as const) {
      expect(knownToRetrySeconds[q]).toBeLessThanOrEqual(
        settleToRetrySeconds[q],
      );
    }
    // Reordered events arrive after some settles, none before a batch ran.
    expect(settleToEventSeconds.max).toBeGreaterThan(0);
    expect(settleToEventSeconds.p50).toBe(0);
  });

  it('costs no CodeBuild call for a healthy build outside a watched batch', () => {
    const { figures } = result;
    expect(figures.childBuilds.healthy).toBeGreaterThan(100);
    // Only the last sibling of a watched batch reads it (and may retry it).
    expect(figures.codebuildCallsPerHealthyBuild).toBeLessThan(0.5);
    const callsOf = new Map<string, number>();
    for (const { service, requestId = '' } of result.calls) {
      if (service === 'codebuild') {
        callsOf.set(requestId, (callsOf.get(requestId) ?? 0) + 1);
      }
    }
    let ignored = 0;
    for (const record of result.invocations) {
      const detail = (record.event.payload as { detail?: BusEvent }).detail;
      if (detail?.['build-status'] !== 'SUCCEEDED') continue;
      const outcome = record.result as { kind?: string; reason?: string };
      if (outcome?.kind !== 'ignored') continue;
      ignored++;
      expect(callsOf.get(record.requestId) ?? 0, outcome.reason).toBe(0);
    }
    expect(ignored).toBeGreaterThan(100);
  });

  it('reports a result that passes', () => {
    expect(result.ok).toBe(true);
  });
});
