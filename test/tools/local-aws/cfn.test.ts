import { describe, expect, it } from 'vitest';
import {
  CfnResolver,
  ParameterError,
  type Template,
} from '../../../tools/local-aws/cfn.js';

const template: Template = {
  Parameters: {
    MaxRetries: { Type: 'Number', Default: 2, MinValue: 0, MaxValue: 10 },
    DryRun: {
      Type: 'String',
      Default: 'false',
      AllowedValues: ['true', 'false'],
    },
    ProjectNames: {
      Type: 'CommaDelimitedList',
      Default: '',
      AllowedPattern: '^$|^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$',
    },
    Minutes: { Type: 'Number', Default: 5 },
  },
  Conditions: {
    All: { 'Fn::Equals': [{ 'Fn::Join': [',', { Ref: 'ProjectNames' }] }, ''] },
    Some: { 'Fn::Not': [{ Condition: 'All' }] },
    EveryMinute: { 'Fn::Equals': [{ Ref: 'Minutes' }, '1'] },
  },
  Resources: {
    Table: { Type: 'AWS::DynamoDB::GlobalTable', Properties: {} },
    Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Environment: {
          Variables: {
            TABLE_NAME: { Ref: 'Table' },
            MAX_RETRIES: { Ref: 'MaxRetries' },
            PROJECT_NAMES: { 'Fn::Join': [',', { Ref: 'ProjectNames' }] },
          },
        },
        Reserved: { 'Fn::If': ['Some', 3, { Ref: 'AWS::NoValue' }] },
      },
    },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Detail: {
          'Fn::If': [
            'Some',
            { 'project-name': { Ref: 'ProjectNames' } },
            { 'build-status': ['FAILED'] },
          ],
        },
        Schedule: {
          'Fn::If': [
            'EveryMinute',
            'rate(1 minute)',
            { 'Fn::Join': ['', ['rate(', { Ref: 'Minutes' }, ' minutes)']] },
          ],
        },
        Arn: {
          'Fn::Sub': [
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Name}',
            { Name: { 'Fn::Select': [0, { Ref: 'ProjectNames' }] } },
          ],
        },
        Second: {
          'Fn::Select': [
            1,
            { 'Fn::Split': [',', { 'Fn::Join': ['', ['a,b', ',,']] }] },
          ],
        },
        Target: { 'Fn::GetAtt': ['Fn', 'Arn'] },
      },
    },
    Scoped: { Type: 'AWS::IAM::Policy', Condition: 'Some' },
  },
};

const props = (cfn: CfnResolver, id: string) =>
  cfn.resolve(template.Resources[id]?.Properties) as Record<string, unknown>;

describe('CfnResolver', () => {
  it('uses defaults, with Number parameters as strings', () => {
    const cfn = new CfnResolver(template);
    const env = (props(cfn, 'Fn').Environment as { Variables: object })
      .Variables;
    expect(env).toEqual({
      TABLE_NAME: cfn.physicalId('Table'),
      MAX_RETRIES: '2',
      PROJECT_NAMES: '',
    });
    expect(cfn.physicalId('Table')).toMatch(/^CodeBuildBatchRetry-Table-/);
  });

  it('drops AWS::NoValue and picks Fn::If branches by condition', () => {
    const all = new CfnResolver(template);
    expect(props(all, 'Fn')).not.toHaveProperty('Reserved');
    expect(props(all, 'Rule').Detail).toEqual({ 'build-status': ['FAILED'] });
    expect(all.exists('Scoped')).toBe(false);

    const some = new CfnResolver(template, { ProjectNames: 'web,api' });
    expect(props(some, 'Fn').Reserved).toBe(3);
    expect(props(some, 'Rule').Detail).toEqual({
      'project-name': ['web', 'api'],
    });
    expect(some.exists('Scoped')).toBe(true);
  });

  it('resolves Fn::Join, Fn::Sub, Fn::Select, Fn::Split and Fn::GetAtt', () => {
    const cfn = new CfnResolver(template, {
      Minutes: '15',
      ProjectNames: 'web',
    });
    const rule = props(cfn, 'Rule');
    expect(rule.Schedule).toBe('rate(15 minutes)');
    expect(rule.Arn).toBe(
      'arn:aws:codebuild:eu-west-1:111122223333:project/web',
    );
    expect(rule.Second).toBe('b');
    expect(rule.Target).toBe(
      `arn:aws:lambda:eu-west-1:111122223333:function:${cfn.physicalId('Fn')}`,
    );
    expect(
      props(new CfnResolver(template, { Minutes: '1' }), 'Rule').Schedule,
    ).toBe('rate(1 minute)');
  });

  it('rejects parameter values CloudFormation would reject', () => {
    expect(() => new CfnResolver(template, { MaxRetries: '11' })).toThrow(
      ParameterError,
    );
    expect(() => new CfnResolver(template, { MaxRetries: 'two' })).toThrow(
      /must be a number/,
    );
    expect(() => new CfnResolver(template, { DryRun: 'yes' })).toThrow(
      /AllowedValues/,
    );
    expect(() => new CfnResolver(template, { ProjectNames: 'a b' })).toThrow(
      /constraint/,
    );
    expect(() => new CfnResolver(template, { Nope: '1' })).toThrow(
      /do not exist/,
    );
  });
});
