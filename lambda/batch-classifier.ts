import type { BatchView, BuildView } from './batch.js';
import type { BuildLogs } from './build-logs.js';
import type { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { logTailsWorthReading } from './decision.js';
import {
  type Classification,
  type ClassifierPolicy,
  classifyBatchPhases,
  classifyBuild,
} from './failure-class.js';
import type { ProjectPolicy } from './project-policy.js';

/** A batch's classified failure and what it cost to classify. */
export interface BatchClassification {
  readonly classifications: readonly Classification[];
  /** Build logs read (GetLogEvents calls). */
  readonly logReads: number;
  /** False when a log the decision wanted could not be read. */
  readonly complete: boolean;
}

/**
 * Classifies a FAILED batch's failed groups: one BatchGetBuilds for all of
 * them (none when the event's own build is the only failure), then a log
 * tail only where the decision asks for one.
 */
export class BatchClassifier {
  readonly #codebuild: CodeBuildGateway;
  readonly #logs: BuildLogs;
  readonly #config: Config;
  readonly #policy: ClassifierPolicy;

  constructor(codebuild: CodeBuildGateway, logs: BuildLogs, config: Config) {
    this.#codebuild = codebuild;
    this.#logs = logs;
    this.#config = config;
    this.#policy = {
      retryExitCodes: config.retryExitCodes,
      ...(config.retryPattern ? { retryPattern: config.retryPattern } : {}),
    };
  }

  /**
   * Classifies `batch`'s failure. `known` is a build already read (the
   * event's), reused when it is the batch's only failed build.
   *
   * @example
   * const { classifications } = await classifier.classify(batch, policy);
   */
  async classify(
    batch: BatchView,
    policy: ProjectPolicy,
    known?: BuildView,
  ): Promise<BatchClassification> {
    const groups = batch.failedGroups;
    if (groups.length === 0) {
      const only = classifyBatchPhases(batch.phases, this.#policy);
      return { classifications: [only], logReads: 0, complete: true };
    }
    const arns = groups.flatMap((g) => g.buildArn ?? []);
    const builds = new Map<string, BuildView>(
      arns.length === 1 && known?.arn === arns[0]
        ? [[known.arn, known]]
        : (await this.#codebuild.getBuilds(arns)).map((b) => [b.arn, b]),
    );
    const buildOf = (arn?: string) => (arn ? builds.get(arn) : undefined);
    const classifications = groups.map((g) =>
      classifyBuild(g, buildOf(g.buildArn), this.#policy),
    );
    const toRead = new Set(
      logTailsWorthReading(this.#config, policy, classifications),
    );
    let logReads = 0;
    let complete = true;
    const final = await Promise.all(
      groups.map(async (group, i) => {
        const build = buildOf(group.buildArn);
        if (!toRead.has(group.identifier) || !build?.logs) {
          return classifications[i] as Classification;
        }
        logReads += 1;
        const tail = await this.#logs.tail(
          build.logs,
          this.#config.logTailLines,
        );
        if (tail) return classifyBuild(group, build, this.#policy, tail);
        complete = false;
        return classifications[i] as Classification;
      }),
    );
    return { classifications: final, logReads, complete };
  }
}
