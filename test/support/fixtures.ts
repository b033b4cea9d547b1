import { readFileSync } from 'node:fs';
import type { CodeBuildEmulator } from '../../tools/local-aws/codebuild/emulator.js';

/**
 * A sample event from `test/fixtures/events/`, in the documented shape of
 * CodeBuild's events.
 *
 * @example
 * const failed = eventFixture('build-state-failed.json');
 */
export function eventFixture(name: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(
      new URL(`../fixtures/events/${name}`, import.meta.url),
      'utf8',
    ),
  );
}

/**
 * The plaintext secret the sample failed event carries in an environment
 * variable, as CodeBuild puts it into every event. Read from the fixture so
 * the value lives in one place; tests assert it never reaches a log line.
 */
export const FIXTURE_SECRET: string = (() => {
  const detail = eventFixture('build-state-failed.json').detail as {
    'additional-information': {
      environment: {
        'environment-variables': { name: string; value: string }[];
      };
    };
  };
  const token = detail['additional-information'].environment[
    'environment-variables'
  ].find((variable) => variable.name === 'NPM_TOKEN');
  if (!token) throw new Error('the sample failed event carries no NPM_TOKEN');
  return token.value;
})();

let projects = 0;

/**
 * Creates a fresh project (`web-app-<n>`, so each test keeps its own lists,
 * counters and budgets) whose environment carries {@link FIXTURE_SECRET} in
 * plaintext, as a real project's token would be.
 *
 * @example
 * const project = createSecretProject(harness.codebuild);
 */
export function createSecretProject(codebuild: CodeBuildEmulator): string {
  projects += 1;
  const name = `web-app-${projects}`;
  codebuild.createProject(name, {
    environmentVariables: [
      { name: 'STAGE', type: 'PLAINTEXT', value: 'test' },
      { name: 'NPM_TOKEN', type: 'PLAINTEXT', value: FIXTURE_SECRET },
    ],
  });
  return name;
}
