import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract.js';
import { count, countSkip, metrics } from '../../lambda/metrics.js';
import { captureLogs } from '../../tools/local-aws/capture-logs.js';

describe('countSkip', () => {
  it('writes one blob per skip, each with only its own Reason', () => {
    const logs = captureLogs();
    try {
      countSkip('standalone-build');
      countSkip('out-of-scope');
      count(METRIC.RetryIssued);
      metrics.publishStoredMetrics();
    } finally {
      logs.restore();
    }
    const blobs = logs.records().filter((r) => r._aws !== undefined);
    const dimensions = (blob: Record<string, unknown>) =>
      (blob._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
        .CloudWatchMetrics[0].Dimensions;

    expect(blobs).toHaveLength(3);
    expect(blobs[0]).toMatchObject({ Reason: 'standalone-build', Skipped: 1 });
    expect(blobs[1]).toMatchObject({ Reason: 'out-of-scope', Skipped: 1 });
    expect(dimensions(blobs[0])).toEqual([['service', 'Reason']]);
    expect(dimensions(blobs[1])).toEqual([['service', 'Reason']]);
    // The invocation's own metrics never carry a skip's dimension.
    expect(blobs[2]).toMatchObject({ RetryIssued: 1 });
    expect(blobs[2]).not.toHaveProperty('Reason');
    expect(dimensions(blobs[2])).toEqual([['service']]);
  });
});
