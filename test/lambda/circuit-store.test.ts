import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_EVENTS,
  EVENT_SOURCE,
  PROJECT_TAGS,
  RECHECK,
} from '../../lambda/contract.js';
import type { Handler } from '../../lambda/create-handler.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';
import {
  endRerun as endRetriedRun,
  settledFailure,
} from '../support/batches.js';

// Integration: a project's circuit breaker end to end, through the real
// clients: outcomes come from follow-up re-checks on the SQS emulator, the
// circuit lives in dynalite, its moves are published to the EventBridge
// emulator. Threshold 2, cooldown 5 minutes, one retry per batch.

const PROJECT = 'circuit-web';

let h: Harness;
let handler: Handler;
let follow: ReturnType<Harness['recheckSource']>;

beforeAll(async () => {
  h = await startHarness();
  h.codebuild.createProject(PROJECT);
  handler = h.handler(
    {
      maxRetries: 1,
      circuitBreakerThreshold: 2,
      circuitBreakerCooldownMinutes: 5,
    },
    { now: h.clock.now },
  );
  follow = h.recheckSource(handler);
  for (const type of [BATCH_EVENTS.circuitOpened, BATCH_EVENTS.circuitClosed]) {
    h.events.addRule(type, {
      pattern: { source: [EVENT_SOURCE], 'detail-type': [type] },
    });
  }
});
afterAll(() => h.stop());

/** A one-group batch settled FAILED (retryable); its event. */
const failed = (project = PROJECT) => settledFailure(h.codebuild, project);

/** Ends the retried run of `batchArn`; its event. */
const endRerun = (batchArn: string, status: 'SUCCEEDED' | 'FAILED') =>
  endRetriedRun(h.codebuild, batchArn, status);

async function followUp() {
  h.clock.shift(RECHECK.followSeconds * 1000);
  await follow.drain();
}

const invoke = (event: unknown) => handler(event, lambdaContext());

describe('the circuit breaker', () => {
  it('opens after two retries in a row fail again, then holds retries back', async () => {
    for (let i = 0; i < 2; i++) {
      const { batch, event } = failed();
      expect(await invoke(event)).toMatchObject({ result: 'retried' });
      endRerun(batch.arn, 'FAILED');
      await followUp();
    }
    expect(h.events.delivered(BATCH_EVENTS.circuitOpened)).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({
          projectName: PROJECT,
          circuit: expect.objectContaining({ streak: 2, threshold: 2 }),
        }),
      }),
    ]);

    const held = failed();
    const { value: result, logs } = await whileCapturing(() =>
      invoke(held.event),
    );
    expect(result).toMatchObject({ result: 'skipped', reason: 'circuit-open' });
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ level: 'INFO', reason: 'circuit-open' }),
    );
    expect(h.codebuild.retryCount(held.batch.arn)).toBe(0);
    // The held batch keeps its budget.
    const items = await h.dynamo.scan();
    expect(
      items.find((i) => i.id === `batch#${held.batch.arn}`),
    ).toBeUndefined();
  });

  it('lets exactly one retry through after the cooldown, and closes when it heals', async () => {
    h.clock.shift(5 * 60_000);
    const [first, second] = [failed(), failed()];
    const results = await Promise.all([
      invoke(first.event),
      invoke(second.event),
    ]);
    const retried = results.filter(
      (r) => 'result' in r && r.result === 'retried',
    );
    expect(retried).toHaveLength(1);
    expect(
      results.filter((r) => 'reason' in r && r.reason === 'circuit-open'),
    ).toHaveLength(1);

    const probe = (retried[0] as { batchArn: string }).batchArn;
    endRerun(probe, 'SUCCEEDED');
    await followUp();
    expect(h.events.delivered(BATCH_EVENTS.circuitClosed)).toHaveLength(1);

    // The batches held back are retried by the sweep, inside the lookback.
    await invoke({ kind: 'sweep' });
    const heldBack = [first, second].find((b) => b.batch.arn !== probe);
    expect(h.codebuild.retryCount(heldBack?.batch.arn as string)).toBe(1);
  });

  it('re-opens when the probe fails again', async () => {
    // Two more failed-again outcomes open it again…
    for (let i = 0; i < 2; i++) {
      const { batch, event } = failed();
      await invoke(event);
      endRerun(batch.arn, 'FAILED');
      await followUp();
    }
    expect(h.events.delivered(BATCH_EVENTS.circuitOpened)).toHaveLength(2);
    // …and after the cooldown, a probe that fails again re-opens it.
    h.clock.shift(5 * 60_000);
    const { batch, event } = failed();
    expect(await invoke(event)).toMatchObject({ result: 'retried' });
    endRerun(batch.arn, 'FAILED');
    await followUp();
    expect(h.events.delivered(BATCH_EVENTS.circuitOpened)).toHaveLength(3);
    expect(await invoke(failed().event)).toMatchObject({
      reason: 'circuit-open',
    });
  });

  it("holds the probe's batch back when it fails again before the probe's outcome is known", async () => {
    const project = 'circuit-api'; // three retries per batch
    h.codebuild.createProject(project, {
      tags: { [PROJECT_TAGS.maxRetries]: '3' },
    });
    for (let i = 0; i < 2; i++) {
      const { batch, event } = failed(project);
      await invoke(event);
      endRerun(batch.arn, 'FAILED');
      await followUp();
    }
    h.clock.shift(5 * 60_000);
    const { batch, event } = failed(project);
    expect(await invoke(event)).toMatchObject({ result: 'retried' });

    // The probe's run fails; its event comes before the follow-up.
    const again = endRerun(batch.arn, 'FAILED');
    expect(await invoke(again)).toMatchObject({ reason: 'circuit-open' });
    await followUp();
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    const opened = h.events
      .delivered(BATCH_EVENTS.circuitOpened)
      .filter(
        (e) => (e.detail as { projectName?: string }).projectName === project,
      );
    expect(opened).toHaveLength(2);
  });
});
