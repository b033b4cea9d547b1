import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BatchRetryStack } from '../lib/batch-retry-stack.js';

const app = new App();

const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new BatchRetryStack(app, 'CodeBuildBatchRetry', {
  env: account && region ? { account, region } : undefined,
});

// cdk-nag runs as a policy-validation plugin at synth; any finding that is
// not acknowledged in code (Validations.of(...).acknowledge) fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
