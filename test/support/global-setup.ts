import { serviceTable } from '../../tools/local-aws/synth.js';

/**
 * Synthesizes the service's table (without bundling) before any test file
 * starts, so the test files that start dynalite read it from the cache in
 * `.scratch` instead of each synthesizing it.
 */
export default async function setup(): Promise<void> {
  await serviceTable();
}
