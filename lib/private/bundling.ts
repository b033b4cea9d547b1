/**
 * How the function is bundled, as plain data: the construct turns it into
 * NodejsFunction's bundling options, and the benchmarks build their floor and
 * reference handlers with the same settings, so the ratios compare like with
 * like.
 */
export const FUNCTION_BUNDLING = {
  /** esbuild `target`; matches the Lambda runtime. */
  target: 'node24',
  format: 'esm',
  minify: true,
  sourceMap: true,
  /** The map points at files by name; shipping their text only costs bytes. */
  sourcesContent: false,
  /** ESM builds of the SDK first, so esbuild can tree-shake them. */
  mainFields: ['module', 'main'],
  /** ESM output still meets CommonJS dependencies that call `require`. */
  banner:
    "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  /** Bundle the AWS SDK too: the function runs exactly the pinned versions. */
  external: [] as string[],
} as const;
