import { describe, expect, it } from 'vitest';
import { median, percentile } from '../../tools/stats.js';

describe('percentile', () => {
  it('takes the nearest rank of unsorted values', () => {
    const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(100);
    expect(percentile(values, 10)).toBe(10);
    expect(percentile(values, 11)).toBe(20);
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 100)).toBe(100);
  });

  it('leaves its input alone', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('has no answer for an empty list', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(median([])).toBeNaN();
  });

  it('gives the lower middle as the median of an even count', () => {
    expect(median([7])).toBe(7);
    expect(median([4, 1, 3, 2])).toBe(2);
  });
});
