import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/config.js';
import { InvalidConfigError } from '../../lambda/errors.js';

const base = { TABLE_NAME: 'budget' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(base)).toEqual({
      tableName: 'budget',
      maxRetries: 2,
      retryType: 'RETRY_FAILED_BUILDS',
      projectNames: [],
      dryRun: false,
      lookbackHours: 24,
      retryOn: ['infrastructure', 'source', 'timeout', 'transient', 'unknown'],
      retryExitCodes: [137],
      logTailLines: 100,
      retryDelaySeconds: 0,
      historyDays: 30,
      eventBusName: 'default',
      circuitBreakerThreshold: 5,
      circuitBreakerCooldownMinutes: 60,
    });
  });

  it('reads every setting', () => {
    const config = loadConfig({
      ...base,
      MAX_RETRIES: '0',
      RETRY_TYPE: 'RETRY_ALL_BUILDS',
      PROJECT_NAMES: ' web-app , api,web-app,',
      DRY_RUN: 'true',
      LOOKBACK_HOURS: '168',
      RETRY_ON: 'script, transient,script',
      RETRY_EXIT_CODES: '137,1, 255',
      RETRY_PATTERNS: 'flaky (test|network)',
      LOG_TAIL_LINES: '0',
    });
    expect(config).toMatchObject({
      maxRetries: 0,
      retryType: 'RETRY_ALL_BUILDS',
      projectNames: ['web-app', 'api'],
      dryRun: true,
      lookbackHours: 168,
      retryOn: ['script', 'transient'],
      retryExitCodes: [137, 1, 255],
      logTailLines: 0,
    });
    expect(config.retryPattern?.test('a flaky network call')).toBe(true);
  });

  it.each([
    ['MAX_RETRIES', '11', 'at most 10'],
    ['MAX_RETRIES', '-1', 'whole number'],
    ['MAX_RETRIES', '1.5', 'whole number'],
    ['MAX_RETRIES', 'two', 'whole number'],
    ['RETRY_TYPE', 'RETRY_SOME', 'RETRY_FAILED_BUILDS'],
    ['PROJECT_NAMES', 'ok,not a project!', 'not a CodeBuild project name'],
    ['DRY_RUN', 'yes', '"true" or "false"'],
    [
      'PROJECT_NAMES',
      Array.from({ length: 21 }, (_, i) => `p${i}`).join(','),
      'at most 20 projects',
    ],
    ['LOOKBACK_HOURS', '0', 'at least 1'],
    ['LOOKBACK_HOURS', '169', 'at most 168'],
    ['RETRY_ON', 'transient,flaky', 'must list classes from configuration'],
    ['RETRY_EXIT_CODES', '137,0', 'from 1 to 255'],
    ['RETRY_EXIT_CODES', '256', 'from 1 to 255'],
    ['RETRY_EXIT_CODES', 'oom', 'from 1 to 255'],
    [
      'RETRY_PATTERNS',
      'unclosed (group',
      'not a JavaScript regular expression',
    ],
    ['RETRY_PATTERNS', 'x'.repeat(1025), 'at most 1024 characters'],
    ['LOG_TAIL_LINES', '1001', 'at most 1000'],
    ['RETRY_DELAY_SECONDS', '901', 'at most 900'],
    ['RETRY_DELAY_SECONDS', '30', 'needs RECHECK_QUEUE_URL'],
    ['RECHECK_QUEUE_URL', 'queue', 'must be an SQS queue URL'],
    ['HISTORY_DAYS', '0', 'at least 1'],
    ['HISTORY_DAYS', '366', 'at most 365'],
    ['EVENT_BUS_NAME', 'bus name', 'must be an EventBridge event bus name'],
  ])('rejects %s=%s naming the setting', (name, value, hint) => {
    const attempt = () => loadConfig({ ...base, [name]: value });
    expect(attempt).toThrow(InvalidConfigError);
    expect(attempt).toThrow(new RegExp(`${name}.*${escapeRegExp(hint)}`));
  });

  it('requires the table name and reports every problem at once', () => {
    try {
      loadConfig({ MAX_RETRIES: '99' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      const { problems } = error as InvalidConfigError;
      expect(problems.some((p) => p.startsWith('TABLE_NAME'))).toBe(true);
      expect(problems.some((p) => p.startsWith('MAX_RETRIES'))).toBe(true);
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
