import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { STACK_ID } from '../lambda/contract.js';
import { BatchRetryStack } from './batch-retry-stack.js';

/**
 * Builds the CDK app as `cdk deploy` synthesizes it: the parameterized stack
 * and cdk-nag's AwsSolutions and Serverless packs as policy-validation plugins, so any
 * finding not acknowledged in code fails the synth. `bin/app.ts`, the local
 * simulation, the benchmarks and the tests all build it here.
 *
 * @example
 * const { app } = createApp();
 * app.synth();
 */
export function createApp(props: AppProps = {}): {
  readonly app: App;
  readonly stack: BatchRetryStack;
} {
  const app = new App(props);
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new BatchRetryStack(app, STACK_ID, {
    env: account && region ? { account, region } : undefined,
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
  );
  return { app, stack };
}
