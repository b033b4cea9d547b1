import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { addNagChecks } from '../../lib/app.js';
import { scratchOutdir } from '../../tools/local-aws/synth.js';
import { reportedViolations } from './synth.js';

/** The mechanism bin/app.ts relies on, shown on a deliberately bad queue. */
function appWithUnencryptedQueue(acknowledge: boolean): App {
  const app = new App({ outdir: scratchOutdir('nag') });
  const stack = new Stack(app, 'Nag');
  const queue = new sqs.Queue(stack, 'Queue', {
    encryption: sqs.QueueEncryption.UNENCRYPTED,
    enforceSSL: true,
  });
  if (acknowledge) {
    for (const id of [
      'AwsSolutions-SQS2',
      'AwsSolutions-SQS3',
      'Serverless-SQSRedrivePolicy',
    ]) {
      Validations.of(queue).acknowledge({ id, reason: 'test fixture' });
    }
  }
  addNagChecks(app);
  return app;
}

describe('cdk-nag at synth', () => {
  it('an unacknowledged finding fails the synth, naming the rule', () => {
    const app = appWithUnencryptedQueue(false);
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });

  it('an acknowledged finding does not', () => {
    const assembly = appWithUnencryptedQueue(true).synth();
    expect(reportedViolations(assembly)).toEqual([]);
  });
});
