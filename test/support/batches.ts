import type { CodeBuildEmulator } from '../../tools/local-aws/codebuild/emulator.js';
import type { BuildFailure } from '../../tools/local-aws/codebuild/failures.js';

/**
 * A one-group batch of `project` whose build failed (with `failure`, if
 * given) and which then settled FAILED; its failure event.
 *
 * @example
 * const { batch, event } = settledFailure(h.codebuild, 'web-app');
 */
export function settledFailure(
  codebuild: CodeBuildEmulator,
  project: string,
  failure?: BuildFailure,
) {
  const batch = codebuild.startBatch(project, { groups: ['unit'] });
  const [build] = codebuild.currentBuilds(batch.arn);
  const event = codebuild.completeBuild(
    build?.arn as string,
    'FAILED',
    failure,
  );
  codebuild.settleBatch(batch.arn);
  return { batch, event };
}

/** Ends the retried run of `batchArn` with `status` and settles it; its event. */
export function endRerun(
  codebuild: CodeBuildEmulator,
  batchArn: string,
  status: 'SUCCEEDED' | 'FAILED',
) {
  const [build] = codebuild
    .currentBuilds(batchArn)
    .filter((b) => b.buildStatus === 'IN_PROGRESS');
  const event = codebuild.completeBuild(build?.arn as string, status);
  codebuild.settleBatch(batchArn);
  return event;
}
