import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests never write to the real home directory: aws-cdk-lib keeps a
// fingerprint cache under ~/.cdk, and the SDK would read ~/.aws.
const scratchHome = fileURLToPath(new URL('./.scratch/home', import.meta.url));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      HOME: scratchHome,
    },
  },
});
