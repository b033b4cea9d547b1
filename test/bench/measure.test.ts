// The bench's own arithmetic and bookkeeping: if these are wrong, every
// figure in bench/RESULTS.md is.
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bytesOverByPackage, esbuildOptions } from '../../bench/bundles.js';
import { percentile, ratio } from '../../bench/stats.js';
import { FUNCTION_BUNDLING } from '../../lib/private/bundling.js';

describe('stats', () => {
  it('takes nearest-rank percentiles and rounds ratios to three decimals', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 99)).toBe(5);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
    expect(ratio(2, 3)).toBe(0.667);
  });
});

describe('esbuildOptions', () => {
  it('builds with the function bundling settings, not a copy of them', () => {
    expect(esbuildOptions()).toMatchObject({
      bundle: true,
      platform: 'node',
      format: FUNCTION_BUNDLING.format,
      target: FUNCTION_BUNDLING.target,
      minify: FUNCTION_BUNDLING.minify,
      sourcemap: FUNCTION_BUNDLING.sourceMap,
      sourcesContent: FUNCTION_BUNDLING.sourcesContent,
      mainFields: [...FUNCTION_BUNDLING.mainFields],
      banner: { js: FUNCTION_BUNDLING.banner },
      external: [...FUNCTION_BUNDLING.external],
    });
  });
});

describe('bytesOverByPackage', () => {
  const metafile = (inputs: Record<string, number>): Metafile => ({
    inputs: {},
    outputs: {
      'index.mjs.map': { bytes: 1, inputs: {}, imports: [], exports: [] },
      'index.mjs': {
        bytes: 1,
        entryPoint: 'entry.ts',
        imports: [],
        exports: [],
        inputs: Object.fromEntries(
          Object.entries(inputs).map(([k, bytesInOutput]) => [
            k,
            { bytesInOutput },
          ]),
        ),
      },
    },
  });

  it('sums by package what the base lacks, largest first', () => {
    const base = metafile({ 'node_modules/@aws-sdk/client-x/a.js': 500 });
    const ours = metafile({
      'node_modules/@aws-sdk/client-x/a.js': 500,
      'node_modules/zod/v4/a.js': 10,
      'node_modules/zod/v4/b.js': 15,
      'node_modules/@scope/pkg/dist/c.js': 40,
      'lambda/handler.ts': 7,
      'node_modules/tree-shaken/a.js': 0,
    });
    expect(bytesOverByPackage(ours, base)).toEqual([
      { package: '@scope/pkg', bytes: 40 },
      { package: 'zod', bytes: 25 },
      { package: 'lambda/ (our code)', bytes: 7 },
    ]);
  });
});
