import { describe, expect, it } from 'vitest';
import {
  createIdempotencyConfig,
  RETRY_CALL_LEASE_MS,
  registerRetryLease,
} from '../../lambda/retry-step.js';

describe('registerRetryLease', () => {
  it('caps how long a call in progress holds its token, never beyond the deadline', () => {
    const config = createIdempotencyConfig();
    registerRetryLease(config, { getRemainingTimeInMillis: () => 120_000 });
    expect(config.lambdaContext?.getRemainingTimeInMillis()).toBe(
      RETRY_CALL_LEASE_MS,
    );
    registerRetryLease(config, { getRemainingTimeInMillis: () => 4_000 });
    expect(config.lambdaContext?.getRemainingTimeInMillis()).toBe(4_000);
  });
});
