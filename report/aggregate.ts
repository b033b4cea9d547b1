/**
 * The flakiness report's figures, computed from outcome history entries
 * alone: no I/O, so the CLI and the tests share one definition of each.
 */
import { FAILURE_CLASSES, type FailureClass } from '../lambda/contract.js';
import type { HistoryEntry } from '../lambda/history-store.js';
import { percentile } from '../tools/stats.js';

/** The attributes of a history entry the report reads. */
export type ReportEntry = Pick<
  HistoryEntry,
  | 'projectName'
  | 'decision'
  | 'failedGroups'
  | 'failedAt'
  | 'retriedAt'
  | 'outcome'
>;

/** The figures of a project, of a build group, or of everything. */
export interface Figures {
  /** Failures seen (history entries; for a group, those it failed in). */
  readonly failures: number;
  /** Failures retried. */
  readonly retried: number;
  /** Retries whose batch then succeeded. */
  readonly healed: number;
  /** Retries whose batch failed again. */
  readonly failedAgain: number;
  /** Retries whose batch was stopped or disappeared. */
  readonly stopped: number;
  readonly gone: number;
  /** Retries with no outcome recorded (yet). */
  readonly pending: number;
  /** healed / retries with an outcome; null when none has one. */
  readonly healRate: number | null;
  /** Failures not retried because of their classes. */
  readonly notRetried: number;
  /**
   * Not-retried failures by class, every class present. A failure counts
   * once under each class among its failed groups (for a group: its own),
   * since the history does not say which class blocked the retry.
   */
  readonly notRetriedByClass: Readonly<Record<FailureClass, number>>;
  /** Failures with no retry budget left. */
  readonly exhausted: number;
  /** Seconds from a failure to its retry (retriedAt − failedAt). */
  readonly failureToRetrySeconds: {
    readonly count: number;
    readonly p50: number | null;
    readonly p95: number | null;
  };
}

/** A build group's figures within its project. */
export interface GroupFigures extends Figures {
  readonly identifier: string;
}

/** A project's figures and those of its build groups. */
export interface ProjectFigures extends Figures {
  readonly projectName: string;
  /** Most failures first, then by identifier. */
  readonly groups: readonly GroupFigures[];
}

/** A build group that a retry healed. */
export interface FlakyGroup {
  readonly projectName: string;
  readonly identifier: string;
  readonly healed: number;
  readonly retried: number;
  readonly healRate: number | null;
}

/** The whole report. */
export interface FlakinessReport {
  /** Start of the window (ISO 8601): failures at or after it count. */
  readonly since: string;
  /** When the report was made (ISO 8601). */
  readonly generatedAt: string;
  readonly days: number;
  /** The one project reported on, or null for all. */
  readonly project: string | null;
  readonly totals: Figures;
  /** Most failures first, then by name. */
  readonly projects: readonly ProjectFigures[];
  /** Groups healed most often (then best heal rate), at most ten. */
  readonly flakiest: readonly FlakyGroup[];
}

/** What to report on. */
export interface AggregateOptions {
  /** Epoch ms the window ends at. */
  readonly now: number;
  readonly days: number;
  readonly project?: string;
}

/** How many groups "flakiest" lists. */
export const FLAKIEST_LIMIT = 10;

const DAY_MS = 24 * 3600 * 1000;

/** Running counts; turned into {@link Figures} once all entries are in. */
class Tally {
  failures = 0;
  retried = 0;
  healed = 0;
  failedAgain = 0;
  stopped = 0;
  gone = 0;
  notRetried = 0;
  exhausted = 0;
  readonly notRetriedByClass = Object.fromEntries(
    FAILURE_CLASSES.map((c) => [c, 0]),
  ) as Record<FailureClass, number>;
  readonly delays: number[] = [];

  add(entry: ReportEntry, classes: readonly string[]): void {
    this.failures += 1;
    if (entry.decision === 'exhausted') this.exhausted += 1;
    if (entry.decision === 'not-retried') {
      this.notRetried += 1;
      for (const c of new Set(classes)) {
        // A class this version does not know still counts, as unknown.
        const known = (FAILURE_CLASSES as readonly string[]).includes(c);
        this.notRetriedByClass[known ? (c as FailureClass) : 'unknown'] += 1;
      }
    }
    if (entry.decision !== 'retried') return;
    this.retried += 1;
    if (entry.outcome === 'healed') this.healed += 1;
    if (entry.outcome === 'failed-again') this.failedAgain += 1;
    if (entry.outcome === 'stopped') this.stopped += 1;
    if (entry.outcome === 'gone') this.gone += 1;
    if (entry.failedAt !== undefined && entry.retriedAt !== undefined) {
      this.delays.push((entry.retriedAt - entry.failedAt) / 1000);
    }
  }

  figures(): Figures {
    // Every recorded outcome counts as known; only pending retries do not.
    const known = this.healed + this.failedAgain + this.stopped + this.gone;
    return {
      failures: this.failures,
      retried: this.retried,
      healed: this.healed,
      failedAgain: this.failedAgain,
      stopped: this.stopped,
      gone: this.gone,
      pending: this.retried - known,
      healRate: known === 0 ? null : this.healed / known,
      notRetried: this.notRetried,
      notRetriedByClass: { ...this.notRetriedByClass },
      exhausted: this.exhausted,
      failureToRetrySeconds: {
        count: this.delays.length,
        p50: orNull(percentile(this.delays, 50)),
        p95: orNull(percentile(this.delays, 95)),
      },
    };
  }
}

/**
 * The report on `entries`: those of `options.project` (when given) that
 * failed within the last `options.days` days. An entry without `failedAt`
 * has no place in a window and is left out, as the table scan leaves it.
 *
 * @example
 * const report = aggregate(entries, { now: Date.now(), days: 7 });
 * report.projects[0]?.healRate; // 0.5
 */
export function aggregate(
  entries: Iterable<ReportEntry>,
  options: AggregateOptions,
): FlakinessReport {
  const since = options.now - options.days * DAY_MS;
  const totals = new Tally();
  const projects = new Map<string, Tally>();
  const groupTallies = new Map<string, Map<string, Tally>>();
  for (const entry of entries) {
    if (entry.failedAt === undefined || entry.failedAt < since) continue;
    if (options.project !== undefined && entry.projectName !== options.project)
      continue;
    const groups = entry.failedGroups ?? [];
    const classes = groups.map((g) => g.class);
    totals.add(entry, classes);
    upsert(projects, entry.projectName, () => new Tally()).add(entry, classes);
    const byGroup = upsert(groupTallies, entry.projectName, () => new Map());
    // A group listed twice in one failure is still one failure of it.
    for (const identifier of new Set(groups.map((g) => g.identifier))) {
      const own = groups.filter((g) => g.identifier === identifier);
      upsert(byGroup, identifier, () => new Tally()).add(
        entry,
        own.map((g) => g.class),
      );
    }
  }

  const projectFigures = [...projects].map(([name, tally]) => ({
    projectName: name,
    ...tally.figures(),
    groups: [...(groupTallies.get(name) ?? new Map<string, Tally>())]
      .map(([identifier, t]) => ({ identifier, ...t.figures() }))
      .sort(
        (a, b) =>
          b.failures - a.failures || compare(a.identifier, b.identifier),
      ),
  }));
  projectFigures.sort(
    (a, b) => b.failures - a.failures || compare(a.projectName, b.projectName),
  );

  const flakiest = projectFigures
    .flatMap((p) =>
      p.groups
        .filter((g) => g.healed > 0)
        .map((g) => ({
          projectName: p.projectName,
          identifier: g.identifier,
          healed: g.healed,
          retried: g.retried,
          healRate: g.healRate,
        })),
    )
    .sort(
      (a, b) =>
        b.healed - a.healed ||
        (b.healRate ?? 0) - (a.healRate ?? 0) ||
        compare(a.projectName, b.projectName) ||
        compare(a.identifier, b.identifier),
    )
    .slice(0, FLAKIEST_LIMIT);

  return {
    since: new Date(since).toISOString(),
    generatedAt: new Date(options.now).toISOString(),
    days: options.days,
    project: options.project ?? null,
    totals: totals.figures(),
    projects: projectFigures,
    flakiest,
  };
}

function upsert<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

// Code-unit order, so the output does not depend on the machine's locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// JSON has no NaN: "no value" is null.
function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
