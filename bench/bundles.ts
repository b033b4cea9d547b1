// Bundles: the floor and the reference handler built exactly as the
// construct builds the function, and a rebuild of the function that must
// be the shipped asset byte for byte (so the settings really are the same).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { FUNCTION_BUNDLING } from '../lib/private/bundling.js';
import { ROOT } from './settings.js';

/** {@link FUNCTION_BUNDLING} in esbuild's terms, as NodejsFunction passes it. */
export function esbuildOptions(): BuildOptions {
  const { sourceMap, banner, mainFields, external, ...rest } =
    FUNCTION_BUNDLING;
  return {
    ...rest,
    sourcemap: sourceMap,
    banner: { js: banner },
    mainFields: [...mainFields],
    external: [...external],
    bundle: true,
    platform: 'node',
    absWorkingDir: ROOT,
    logLevel: 'warning',
  };
}

/** A file's size, minified and gzipped. */
export function sizeOf(file: string) {
  const code = readFileSync(file);
  return { file, bytes: code.length, gzipBytes: gzipSync(code).length };
}

/**
 * Builds `entry` (relative to the project root) into `<dir>/index.mjs`.
 *
 * @example
 * const floor = await buildBundle('bench/floor.ts', join(SCRATCH, 'floor'));
 */
export async function buildBundle(entry: string, dir: string) {
  const file = join(dir, 'index.mjs');
  const { metafile } = await build({
    ...esbuildOptions(),
    entryPoints: [join(ROOT, entry)],
    outfile: file,
    metafile: true,
  });
  return { ...sizeOf(file), metafile };
}

/** Bytes of `bundle` by package, for inputs `base` does not contain. */
export function bytesOverByPackage(
  bundle: Metafile,
  base: Metafile,
): { readonly package: string; readonly bytes: number }[] {
  const inputs = (m: Metafile) =>
    Object.values(m.outputs).find((o) => o.entryPoint)?.inputs ?? {};
  const baseInputs = new Set(Object.keys(inputs(base)));
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(inputs(bundle))) {
    if (baseInputs.has(input) || bytesInOutput === 0) continue;
    const pkg =
      input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ??
      (input.startsWith('lambda/') ? 'lambda/ (our code)' : input);
    totals.set(pkg, (totals.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...totals]
    .map(([pkg, bytes]) => ({ package: pkg, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}
