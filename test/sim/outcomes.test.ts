import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_EVENTS } from '../../lambda/contract.js';
import { randomScenario } from '../../sim/scenarios.js';
import {
  NO_FAULTS,
  runSimulation,
  type SimulationResult,
} from '../../sim/simulation.js';
import { synthesize } from '../../tools/local-aws/synth.js';

// Outcomes and batch-level events of a run without faults: every retry
// CodeBuild made has its `Batch Retry Issued` and an outcome, each
// published once.

let result: SimulationResult;
beforeAll(async () => {
  const assembly = await synthesize('test-outcomes');
  result = await runSimulation({
    ...randomScenario({ batches: 60, seed: 21, faults: NO_FAULTS }),
    assembly,
  });
}, 180_000);

describe('60 batches, no faults', () => {
  it('records an outcome for every retry and publishes each event once', () => {
    const { figures } = result;
    expect(result.ok).toBe(true);
    expect(figures.retriesIssued).toBeGreaterThan(10);
    expect(figures.duplicateEvents).toBe(0);
    expect(figures.missingEvents).toBe(0);
    expect(figures.retriesWithoutOutcome).toBe(0);
    const { healed, 'failed-again': failedAgain } = figures.outcomes;
    expect(healed + failedAgain).toBe(figures.retriesIssued);
    expect(figures.eventsPublished).toMatchObject({
      [BATCH_EVENTS.retryIssued]: figures.retriesIssued,
      [BATCH_EVENTS.healed]: healed,
      [BATCH_EVENTS.failedAgain]: failedAgain,
    });
  });

  it('gives each retried class a heal rate between 0 and 1', () => {
    const rates = Object.values(result.figures.healRateByClass);
    expect(rates.length).toBeGreaterThan(0);
    for (const { retried, healed, rate } of rates) {
      expect(healed).toBeLessThanOrEqual(retried);
      expect(rate).toBeCloseTo(healed / retried, 2);
    }
  });
});
