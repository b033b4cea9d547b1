import { PROJECT_NAME_BODY } from './contract.js';

/**
 * CodeBuild ARNs this service handles. Kept strict: anything that does not
 * look like a CodeBuild build ARN is rejected before any API call.
 */
const PROJECT = PROJECT_NAME_BODY;
const PARTITION = 'aws(?:-[a-z]+)*';

const BUILD_ARN = new RegExp(
  `^arn:(${PARTITION}):codebuild:([a-z0-9-]+):(\\d{12}):build/(${PROJECT}):([A-Za-z0-9-]{1,128})$`,
);
const BATCH_ARN = new RegExp(
  `^arn:(${PARTITION}):codebuild:([a-z0-9-]+):(\\d{12}):build-batch/(${PROJECT}):([A-Za-z0-9-]{1,128})$`,
);

/** The parts of a CodeBuild build or batch ARN. */
export interface CodeBuildArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly projectName: string;
  /** `<project>:<uuid>`, the identifier the CodeBuild API takes. */
  readonly id: string;
}

function parse(pattern: RegExp, arn: string): CodeBuildArn | undefined {
  const match = pattern.exec(arn);
  if (!match) return undefined;
  const [, partition, region, account, projectName, uuid] = match;
  return {
    partition,
    region,
    account,
    projectName,
    id: `${projectName}:${uuid}`,
  };
}

/**
 * Splits a build ARN (`arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>`).
 *
 * @example
 * parseBuildArn('arn:aws:codebuild:eu-west-1:111122223333:build/web:1f2e')?.projectName; // 'web'
 */
export function parseBuildArn(arn: string): CodeBuildArn | undefined {
  return parse(BUILD_ARN, arn);
}

/**
 * Splits a batch ARN (`arn:aws:codebuild:<region>:<account>:build-batch/<project>:<uuid>`).
 *
 * @example
 * parseBatchArn('arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:9a8b')?.id; // 'web:9a8b'
 */
export function parseBatchArn(arn: string): CodeBuildArn | undefined {
  return parse(BATCH_ARN, arn);
}
