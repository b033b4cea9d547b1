import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../lambda/errors.js';
import { parseInvocation } from '../../lambda/event.js';
import {
  malformedEvents,
  runMalformed,
  validEvent,
} from '../../sim/malformed.js';
import { synthesize } from '../../tools/local-aws/synth.js';

const SECRET = 'sk-test-do-not-log-0123456789';

describe('the malformed-event generator', () => {
  it('starts from an event the function accepts', () => {
    expect(parseInvocation(validEvent(SECRET))).toMatchObject({
      kind: 'build-state-change',
      projectName: 'web-app',
    });
  });

  it('only produces events the function must reject', () => {
    fc.assert(
      fc.property(malformedEvents(SECRET), ({ event }) => {
        expect(() => parseInvocation(event)).toThrow(InvalidEventError);
      }),
      { numRuns: 1000, seed: 42 },
    );
  });

  it('never puts the secret into the rejection reason', () => {
    fc.assert(
      fc.property(malformedEvents(SECRET), ({ event }) => {
        try {
          parseInvocation(event);
        } catch (error) {
          expect((error as InvalidEventError).reason).not.toContain(SECRET);
        }
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('malformed events through the bus and the bundled function', () => {
  it('rejects each with a logged reason and never calls CodeBuild', async () => {
    const assembly = await synthesize('test-malformed');
    const report = await runMalformed({ assembly, count: 120, seed: 1 });
    expect(report.generated).toBe(120);
    expect(report.invocations).toBe(120);
    expect(report.rejectedWithReason).toBe(120);
    expect(report.notRejected).toBe(0);
    expect(report.codebuildCalls).toBe(0);
    expect(report.secretLeaks).toBe(0);
    // Some went through the rule's pattern, some were invoked directly.
    expect(report.matchedByRule).toBeGreaterThan(0);
    expect(report.matchedByRule).toBeLessThan(120);
    expect(Object.keys(report.kinds).length).toBeGreaterThan(10);
    expect(report.ok).toBe(true);
  }, 120_000);
});
