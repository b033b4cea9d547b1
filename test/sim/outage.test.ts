import { beforeAll, describe, expect, it } from 'vitest';
import { randomScenario } from '../../sim/scenarios.js';
import {
  NO_FAULTS,
  runSimulation,
  type SimulationResult,
} from '../../sim/simulation.js';
import { synthesize } from '../../tools/local-aws/synth.js';

// A project's infrastructure outage with the circuit breaker on (default
// threshold, a 15-minute cooldown): every build of web-app fails from
// minute 30 to 90, retries included.

const MIN = 60_000;

let result: SimulationResult;
beforeAll(async () => {
  const assembly = await synthesize('test-outage');
  result = await runSimulation({
    ...randomScenario({
      batches: 60,
      seed: 5,
      faults: NO_FAULTS,
      projectOutage: { project: 'web-app', fromMs: 30 * MIN, toMs: 90 * MIN },
      parameters: { CircuitBreakerCooldownMinutes: '15' },
    }),
    assembly,
  });
}, 180_000);

describe('60 batches, web-app down from minute 30 to 90, breaker on', () => {
  it('opens the circuit and retries nothing while it is open', () => {
    const { figures } = result;
    const broken = result.invariants.filter(
      (name) => figures[name as keyof typeof figures] !== 0,
    );
    expect(broken).toEqual([]);
    expect(figures.circuitOpenings).toBeGreaterThanOrEqual(1);
    expect(figures.retriesDuringOpenCircuit).toBe(0);
    expect(figures.heldByCircuit).toBeGreaterThan(0);
    expect(figures.duplicateEvents).toBe(0);
  });

  it('resumes retrying the project after the outage', () => {
    const outage = result.figures.projectOutage;
    expect(outage?.retriesAfterWindow).toBeGreaterThan(0);
    expect(outage?.firstRetryAfterWindowMinutes).not.toBeNull();
    const after = result.batches.filter(
      (b) => b.project === 'web-app' && b.status === 'SUCCEEDED',
    );
    expect(after.length).toBeGreaterThan(0);
  });
});
