import { Fn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** Actions that authorize against project ARNs. */
const PROJECT_ACTIONS = [
  'codebuild:BatchGetBuilds',
  'codebuild:BatchGetBuildBatches',
  'codebuild:RetryBuildBatch',
  'codebuild:ListBuildBatchesForProject',
  'codebuild:BatchGetProjects',
];

/** Budget, watch and idempotency records: single items, plus a batch read. */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

const ALL_PROJECTS_ARN =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
  'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/*';

/**
 * A project ARN in the deploying account, region and partition. `Fn::Sub`
 * keeps the pseudo parameters in the template even when the stack has a
 * concrete environment, so cdk-nag's finding ids stay stable.
 */
export function projectArn(name: string): string {
  return Fn.sub(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
    'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Name}',
    { Name: name },
  );
}

const LOG_STREAMS_ARN =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
  'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}:*';

/** The log streams of one log group (the `:*` suffix), as {@link projectArn}. */
export function logStreamsArn(group: string): string {
  return Fn.sub(LOG_STREAMS_ARN, { Group: group });
}

/** Reading the tail of build logs, in the projects' log groups only. */
export function buildLogsStatement(resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadBuildLogTails',
    actions: ['logs:GetLogEvents'],
    resources,
  });
}

/**
 * Acknowledges the `:*` of each {@link logStreamsArn}: a build's log stream
 * is named after the build, unknown until it runs. cdk-nag names the
 * finding after the resolved `Fn::Sub` arguments, as JSON.
 */
export function acknowledgeLogStreams(
  scope: Construct,
  arns: readonly string[],
): void {
  for (const arn of arns) {
    const resource = JSON.stringify(Stack.of(scope).resolve(arn)['Fn::Sub']);
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason:
        "logs:GetLogEvents on the streams of a project's log group only: a build's stream is named after the build, so streams cannot be named in advance. The function reads a failed build's log tail only to classify its failure, and never logs or stores a line.",
    });
  }
}

/** The CodeBuild actions on the named projects' ARNs. */
export function scopedProjectsStatement(
  resources: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CodeBuildProjectsInScope',
    actions: PROJECT_ACTIONS,
    resources,
  });
}

/** The CodeBuild actions on every project of the account and region. */
export function allProjectsStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'CodeBuildAllProjects',
      actions: PROJECT_ACTIONS,
      resources: [Fn.sub(ALL_PROJECTS_ARN)],
    }),
    new iam.PolicyStatement({
      sid: 'ListBuildBatchesInAccount',
      // The sweep lists the account's batches when no projects are named.
      actions: ['codebuild:ListBuildBatches'],
      resources: ['*'],
    }),
  ];
}

/**
 * Acknowledges the wildcards of {@link allProjectsStatements}. cdk-nag
 * finding ids use `<...>` for `${...}` in the flattened ARN.
 */
export function acknowledgeAllProjects(scope: Construct): void {
  const flattened = ALL_PROJECTS_ARN.replaceAll('${', '<').replaceAll('}', '>');
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${flattened}]`,
    reason:
      'ProjectNames is empty, which means every project in this account and region is in scope; the wildcard covers only CodeBuild project ARNs of this account and region, and this policy exists only when no project names are given.',
  });
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'codebuild:ListBuildBatches supports no resource-level permissions (it authorizes only against "*"); the sweep uses it only when no project names are given, and this policy exists only then.',
  });
}
