import { readFileSync } from 'node:fs';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { STACK_ID } from '../lambda/contract.js';
import { BatchRetryStack } from './batch-retry-stack.js';

/**
 * The feature flags in `cdk.json`. The CLI passes them to the app; the
 * tests, the simulation and the benchmarks build the app without the CLI,
 * so it reads them here and every synth produces the template `cdk deploy`
 * would.
 */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../cdk.json', import.meta.url), 'utf8'),
).context;

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
  const app = new App({
    ...props,
    context: { ...CDK_JSON_CONTEXT, ...props.context },
  });
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new BatchRetryStack(app, STACK_ID, {
    env: account && region ? { account, region } : undefined,
  });
  addNagChecks(app);
  return { app, stack };
}

/**
 * Registers cdk-nag's AwsSolutions and Serverless packs on `app`; any
 * finding not acknowledged in code fails the synth.
 *
 * @example
 * addNagChecks(new App());
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
  );
}
