import { describe, expect, it } from 'vitest';
import { parseBatchArn, parseBuildArn } from '../../lambda/arn.js';

describe('ARNs', () => {
  it('splits a build ARN', () => {
    expect(
      parseBuildArn(
        'arn:aws:codebuild:eu-west-1:111122223333:build/web-app:6f1d2c3b-8a9e',
      ),
    ).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '111122223333',
      projectName: 'web-app',
      id: 'web-app:6f1d2c3b-8a9e',
    });
  });

  it('splits a batch ARN in another partition', () => {
    expect(
      parseBatchArn(
        'arn:aws-cn:codebuild:cn-north-1:111122223333:build-batch/api_svc:abc',
      )?.id,
    ).toBe('api_svc:abc');
  });

  it.each([
    'arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:1',
    'arn:aws:codebuild:eu-west-1:1111:build/web:1',
    'arn:aws:s3:::bucket/build/web:1',
    'web:1',
    'arn:aws:codebuild:eu-west-1:111122223333:build/web:1 ',
  ])('rejects %s as a build ARN', (arn) => {
    expect(parseBuildArn(arn)).toBeUndefined();
  });

  it('does not take a build ARN for a batch ARN', () => {
    expect(
      parseBatchArn('arn:aws:codebuild:eu-west-1:111122223333:build/web:1'),
    ).toBeUndefined();
  });
});
