import { describe, expect, it } from 'vitest';
import { PROJECT_TAGS } from '../../lambda/contract.js';
import { projectPolicy, stackPolicy } from '../../lambda/project-policy.js';
import { defaultConfig } from '../../tools/local-aws/harness.js';

const config = defaultConfig('budget');

describe('projectPolicy', () => {
  it('is the stack policy without tags', () => {
    expect(projectPolicy(config, {})).toEqual({
      policy: stackPolicy(config),
      problems: [],
    });
    expect(stackPolicy(config)).toEqual({
      enabled: true,
      maxRetries: 2,
      retryOn: ['infrastructure', 'source', 'timeout', 'transient', 'unknown'],
      retryType: 'RETRY_FAILED_BUILDS',
      retryDelaySeconds: 0,
    });
  });

  it('applies every tag', () => {
    const { policy, problems } = projectPolicy(config, {
      [PROJECT_TAGS.enabled]: 'false',
      [PROJECT_TAGS.maxRetries]: ' 5 ',
      [PROJECT_TAGS.retryOn]: 'script  transient script',
      [PROJECT_TAGS.retryType]: 'RETRY_ALL_BUILDS',
      [PROJECT_TAGS.retryDelaySeconds]: '120',
      team: 'web',
    });
    expect(problems).toEqual([]);
    expect(policy).toEqual({
      enabled: false,
      maxRetries: 5,
      retryOn: ['script', 'transient'],
      retryType: 'RETRY_ALL_BUILDS',
      retryDelaySeconds: 120,
    });
  });

  it.each([
    [PROJECT_TAGS.enabled, 'no', '"true" or "false"'],
    [PROJECT_TAGS.maxRetries, '11', 'from 0 to 10'],
    [PROJECT_TAGS.maxRetries, '-1', 'from 0 to 10'],
    [PROJECT_TAGS.retryOn, 'transient,script', 'space-separated'],
    [PROJECT_TAGS.retryOn, '', 'space-separated'],
    [PROJECT_TAGS.retryType, 'RETRY_SOME', 'RETRY_FAILED_BUILDS'],
    [PROJECT_TAGS.retryDelaySeconds, '1000', 'from 0 to 900'],
  ])(
    'ignores %s=%j with a problem; the stack setting applies',
    (tag, value, hint) => {
      const { policy, problems } = projectPolicy(config, { [tag]: value });
      expect(policy).toEqual(stackPolicy(config));
      expect(problems).toHaveLength(1);
      expect(problems[0]?.tag).toBe(tag);
      expect(problems[0]?.problem).toContain(hint);
      // The problem names the rule, never echoes the value.
      if (value.length > 2) expect(problems[0]?.problem).not.toContain(value);
    },
  );

  it('keeps the valid tags when another is invalid', () => {
    const { policy, problems } = projectPolicy(config, {
      [PROJECT_TAGS.maxRetries]: 'lots',
      [PROJECT_TAGS.retryOn]: 'script',
    });
    expect(problems.map((p) => p.tag)).toEqual([PROJECT_TAGS.maxRetries]);
    expect(policy).toMatchObject({ maxRetries: 2, retryOn: ['script'] });
  });
});
