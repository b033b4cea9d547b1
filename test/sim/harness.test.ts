import { describe, expect, it } from 'vitest';
import { SIM_EPOCH, SimClock } from '../../sim/clock.js';
import { Random } from '../../sim/random.js';
import { randomScenario } from '../../sim/scenarios.js';
import { Scheduler } from '../../sim/scheduler.js';
import { parseSimulateArgs } from '../../sim/simulate.js';

describe('SimClock', () => {
  it('is shared memory that only moves forward', () => {
    const clock = new SimClock(SIM_EPOCH);
    const view = new BigInt64Array(clock.buffer);
    clock.set(SIM_EPOCH + 1_500);
    expect(Number(view[0])).toBe(SIM_EPOCH + 1_500);
    expect(() => clock.set(SIM_EPOCH)).toThrow(/cannot go back/);
  });
});

describe('Scheduler', () => {
  it('runs tasks in time order, ties in scheduling order, to quiescence', async () => {
    const clock = new SimClock(SIM_EPOCH);
    const scheduler = new Scheduler(clock);
    const seen: string[] = [];
    scheduler.at(SIM_EPOCH + 20, () => seen.push(`b@${clock.now()}`));
    scheduler.at(SIM_EPOCH + 10, () => seen.push('a1'));
    scheduler.at(SIM_EPOCH + 10, async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push('a2');
      // Scheduled for the same instant: still part of this step.
      scheduler.after(0, () => seen.push('a3'));
    });
    scheduler.onStep(() => seen.push(`step@${clock.now() - SIM_EPOCH}`));
    await scheduler.runUntil(SIM_EPOCH + 100);
    expect(seen).toEqual([
      'a1',
      'a2',
      'step@10',
      'a3',
      'step@10',
      `b@${SIM_EPOCH + 20}`,
      'step@20',
    ]);
    expect(scheduler.steps).toBe(2);
  });

  it('stops when asked, between steps', async () => {
    const clock = new SimClock(SIM_EPOCH);
    const scheduler = new Scheduler(clock);
    let n = 0;
    const tick = () => {
      n++;
      scheduler.after(1_000, tick);
    };
    scheduler.after(1_000, tick);
    await scheduler.runUntil(SIM_EPOCH + 3_600_000, () => n >= 5);
    expect(n).toBe(5);
  });
});

describe('Random', () => {
  it('repeats for a seed; keyed draws ignore how much was drawn before', () => {
    const a = new Random(9);
    const b = new Random(9);
    expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
    const c = new Random(9);
    c.next();
    expect(c.at('batch', 3)).toBe(new Random(9).at('batch', 3));
    expect(c.at('batch', 3)).not.toBe(c.at('batch', 4));
  });

  it('draws with the asked probability', () => {
    const r = new Random(1);
    const hits = Array.from({ length: 10_000 }, (_, i) =>
      r.chanceAt(0.2, 'x', i),
    ).filter(Boolean).length;
    expect(hits / 10_000).toBeCloseTo(0.2, 1);
  });
});

describe('simulate command line', () => {
  it('defaults to every fault knob at the documented values', () => {
    const args = parseSimulateArgs([]);
    expect(args).toMatchObject({ batches: 1000, seed: 1, json: false });
    expect(args.faults).toMatchObject({
      dup: 0.1,
      drop: 0.05,
      reorder: 0.2,
      throttle: 0.1,
      crash: 0.02,
      outage: { durationMs: 600_000 },
    });
  });

  it('reads the issue command line and parameters', () => {
    const args = parseSimulateArgs([
      '--batches',
      '1000',
      '--dup',
      '0.1',
      '--drop',
      '0.05',
      '--reorder',
      '0.2',
      '--throttle',
      '0.3',
      '--crash',
      '0.02',
      '--seed',
      '42',
      '--json',
      '--param',
      'MaxRetries=3',
      '--crash-at',
      'before-retry-call,during-retry-call',
    ]);
    expect(args.seed).toBe(42);
    expect(args.json).toBe(true);
    expect(args.faults.throttle).toBe(0.3);
    expect(args.faults.crashPoints).toEqual([
      'before-retry-call',
      'during-retry-call',
    ]);
    expect(args.parameters).toEqual({ MaxRetries: '3' });
  });

  it('turns faults off, and rejects nonsense', () => {
    const off = parseSimulateArgs(['--no-faults', '--drop', '0.5']);
    expect(off.faults).toMatchObject({ dup: 0, drop: 0.5, crash: 0 });
    expect(off.faults.outage).toBeUndefined();
    // The scenario lays the knobs over the defaults: none may come back.
    const scenario = randomScenario({
      batches: 1,
      seed: 1,
      faults: off.faults,
    });
    expect(scenario.faults).toMatchObject({ dup: 0, drop: 0.5, crash: 0 });
    expect(scenario.faults?.outage).toBeUndefined();
    expect(() => parseSimulateArgs(['--dup', '2'])).toThrow(/between 0 and 1/);
    expect(() => parseSimulateArgs(['--crash-at', 'nowhere'])).toThrow(
      /unknown point/,
    );
    expect(() => parseSimulateArgs(['--bogus'])).toThrow();
  });
});
