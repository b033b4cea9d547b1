import { describe, expect, it } from 'vitest';
import {
  aggregate,
  type Figures,
  type ReportEntry,
} from '../../report/aggregate.js';

const NOW = Date.parse('2026-11-20T12:00:00.000Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** A retried entry `delay` seconds after failing `ago` ms before NOW. */
function retried(
  projectName: string,
  groups: [string, string][],
  ago: number,
  delay: number,
  outcome?: ReportEntry['outcome'],
): ReportEntry {
  const failedAt = NOW - ago;
  return {
    projectName,
    decision: 'retried',
    failedGroups: groups.map(([identifier, c]) => ({ identifier, class: c })),
    failedAt,
    retriedAt: failedAt + delay * 1000,
    ...(outcome ? { outcome } : {}),
  };
}

function decided(
  projectName: string,
  decision: 'not-retried' | 'exhausted',
  groups: [string, string][],
  ago: number,
): ReportEntry {
  return {
    projectName,
    decision,
    failedGroups: groups.map(([identifier, c]) => ({ identifier, class: c })),
    failedAt: NOW - ago,
  };
}

/** Figures with every count zero and no rate or percentile, overridden. */
function figures(
  overrides: Partial<Omit<Figures, 'notRetriedByClass'>> & {
    byClass?: Partial<Figures['notRetriedByClass']>;
  },
): Figures {
  const { byClass, ...rest } = overrides;
  return {
    failures: 0,
    retried: 0,
    healed: 0,
    failedAgain: 0,
    stopped: 0,
    gone: 0,
    pending: 0,
    healRate: null,
    notRetried: 0,
    notRetriedByClass: {
      configuration: 0,
      timeout: 0,
      infrastructure: 0,
      source: 0,
      transient: 0,
      script: 0,
      unknown: 0,
      ...byClass,
    },
    exhausted: 0,
    failureToRetrySeconds: { count: 0, p50: null, p95: null },
    ...rest,
  };
}

// Delays (s) web-app 3, 10, 5, 20, 60; api 7, 1.5.
const ENTRIES: ReportEntry[] = [
  retried('web-app', [['e2e', 'transient']], 1 * HOUR, 3, 'healed'),
  retried(
    'web-app',
    [
      ['e2e', 'transient'],
      ['unit', 'transient'],
    ],
    2 * HOUR,
    10,
    'healed',
  ),
  retried('web-app', [['e2e', 'transient']], 3 * HOUR, 5, 'failed-again'),
  retried('web-app', [['integ', 'infrastructure']], 4 * HOUR, 20),
  decided(
    'web-app',
    'not-retried',
    [
      ['unit', 'script'],
      ['lint', 'transient'],
    ],
    5 * HOUR,
  ),
  decided('web-app', 'not-retried', [['unit', 'script']], 5 * HOUR),
  decided('web-app', 'exhausted', [['e2e', 'transient']], 6 * HOUR),
  // Exactly at the start of a one-day window: inside it.
  retried('web-app', [['integ', 'infrastructure']], DAY, 60, 'gone'),
  // Outside the seven days, and without a time at all: never counted.
  retried('web-app', [['e2e', 'transient']], 8 * DAY, 1, 'healed'),
  { projectName: 'web-app', decision: 'retried', outcome: 'healed' },
  retried('api', [['build', 'timeout']], 2 * DAY, 7, 'healed'),
  retried('api', [['build', 'timeout']], 2 * DAY + HOUR, 1.5, 'stopped'),
];

const WEB_APP = figures({
  failures: 8,
  retried: 5,
  healed: 2,
  failedAgain: 1,
  gone: 1,
  pending: 1,
  healRate: 0.5,
  notRetried: 2,
  byClass: { script: 2, transient: 1 },
  exhausted: 1,
  failureToRetrySeconds: { count: 5, p50: 10, p95: 60 },
});
const WEB_APP_GROUPS = [
  {
    identifier: 'e2e',
    ...figures({
      failures: 4,
      retried: 3,
      healed: 2,
      failedAgain: 1,
      healRate: 2 / 3,
      exhausted: 1,
      failureToRetrySeconds: { count: 3, p50: 5, p95: 10 },
    }),
  },
  {
    identifier: 'unit',
    ...figures({
      failures: 3,
      retried: 1,
      healed: 1,
      healRate: 1,
      notRetried: 2,
      byClass: { script: 2 },
      failureToRetrySeconds: { count: 1, p50: 10, p95: 10 },
    }),
  },
  {
    identifier: 'integ',
    ...figures({
      failures: 2,
      retried: 2,
      gone: 1,
      pending: 1,
      healRate: 0,
      failureToRetrySeconds: { count: 2, p50: 20, p95: 60 },
    }),
  },
  {
    identifier: 'lint',
    ...figures({ failures: 1, notRetried: 1, byClass: { transient: 1 } }),
  },
];
const API = figures({
  failures: 2,
  retried: 2,
  healed: 1,
  stopped: 1,
  healRate: 0.5,
  failureToRetrySeconds: { count: 2, p50: 1.5, p95: 7 },
});

describe('aggregate', () => {
  it('counts every figure per project, per group and in total', () => {
    expect(aggregate(ENTRIES, { now: NOW, days: 7 })).toEqual({
      since: '2026-11-13T12:00:00.000Z',
      generatedAt: '2026-11-20T12:00:00.000Z',
      days: 7,
      project: null,
      totals: figures({
        failures: 10,
        retried: 7,
        healed: 3,
        failedAgain: 1,
        stopped: 1,
        gone: 1,
        pending: 1,
        healRate: 0.5,
        notRetried: 2,
        byClass: { script: 2, transient: 1 },
        exhausted: 1,
        // 1.5, 3, 5, 7, 10, 20, 60 by nearest rank.
        failureToRetrySeconds: { count: 7, p50: 7, p95: 60 },
      }),
      projects: [
        { projectName: 'web-app', ...WEB_APP, groups: WEB_APP_GROUPS },
        {
          projectName: 'api',
          ...API,
          groups: [{ identifier: 'build', ...API }],
        },
      ],
      flakiest: [
        {
          projectName: 'web-app',
          identifier: 'e2e',
          healed: 2,
          retried: 3,
          healRate: 2 / 3,
        },
        // Equal heals: the better heal rate first.
        {
          projectName: 'web-app',
          identifier: 'unit',
          healed: 1,
          retried: 1,
          healRate: 1,
        },
        {
          projectName: 'api',
          identifier: 'build',
          healed: 1,
          retried: 2,
          healRate: 0.5,
        },
      ],
    });
  });

  it('keeps the failures of the last days only, the first instant included', () => {
    const report = aggregate(ENTRIES, { now: NOW, days: 1 });
    expect(report.since).toBe('2026-11-19T12:00:00.000Z');
    expect(report.projects.map((p) => p.projectName)).toEqual(['web-app']);
    expect(report.totals).toEqual(WEB_APP);
  });

  it('keeps one project only', () => {
    const report = aggregate(ENTRIES, { now: NOW, days: 7, project: 'api' });
    expect(report.project).toBe('api');
    expect(report.totals).toEqual(API);
    expect(report.projects).toEqual([
      { projectName: 'api', ...API, groups: [{ identifier: 'build', ...API }] },
    ]);
    expect(report.flakiest.map((g) => g.identifier)).toEqual(['build']);
  });

  it('is empty, with no rates or percentiles, when nothing failed', () => {
    expect(aggregate([], { now: NOW, days: 7 })).toMatchObject({
      totals: figures({}),
      projects: [],
      flakiest: [],
    });
  });

  it('lists the ten groups healed most often', () => {
    const entries = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: i + 1 }, () =>
        retried('web-app', [[`g${i + 1}`, 'transient']], HOUR, 1, 'healed'),
      ),
    ).flat();
    const { flakiest } = aggregate(entries, { now: NOW, days: 7 });
    expect(flakiest.map((g) => [g.identifier, g.healed])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`g${12 - i}`, 12 - i]),
    );
  });

  it('counts a group once per failure, an unknown class as unknown', () => {
    const entry = decided(
      'web-app',
      'not-retried',
      [
        ['unit', 'script'],
        ['unit', 'script'],
        ['odd', 'from-the-future'],
      ],
      HOUR,
    );
    const [project] = aggregate([entry], { now: NOW, days: 7 }).projects;
    expect(project?.notRetriedByClass).toMatchObject({ script: 1, unknown: 1 });
    expect(project?.groups.map((g) => [g.identifier, g.failures])).toEqual([
      ['odd', 1],
      ['unit', 1],
    ]);
  });
});
