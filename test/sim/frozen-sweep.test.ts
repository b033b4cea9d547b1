import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Regression: a sweep whose worker failed used to return while other workers
// were mid-call; Lambda froze them, and one thawed after CodeBuild forgot its
// token and retried the batch past MaxRetries. The repro drives the real
// bundle through the simulated Lambda runtime and exits 1 if it recurs.
it('never lets a frozen sweep worker retry past the budget', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'sim/repro/frozen-sweep.ts'],
    { cwd: root, env: process.env, timeout: 120_000 },
  );
  expect(stdout).toMatch(/Batch A was retried 1 times with MaxRetries=1\./);
  expect(stdout).toContain('Not reproduced.');
}, 150_000);
