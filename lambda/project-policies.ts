import type { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { METRIC, PROJECT_TAGS_TTL_MS } from './contract.js';
import { logger } from './logger.js';
import { count } from './metrics.js';
import { type ProjectPolicy, projectPolicy } from './project-policy.js';

/**
 * Each project's effective policy, from its tags, read with BatchGetProjects
 * at most once per {@link PROJECT_TAGS_TTL_MS} per execution environment.
 * Read errors propagate: retrying without knowing whether the project opted
 * out could retry a project that asked not to be.
 */
export class ProjectPolicies {
  readonly #codebuild: CodeBuildGateway;
  readonly #config: Config;
  readonly #now: () => number;
  readonly #cache = new Map<
    string,
    { readonly policy: ProjectPolicy; readonly until: number }
  >();

  constructor(codebuild: CodeBuildGateway, config: Config, now: () => number) {
    this.#codebuild = codebuild;
    this.#config = config;
    this.#now = now;
  }

  /**
   * The policy of `projectName`. Invalid tag values are logged (project,
   * tag, problem; never the value) and counted once per read, and the
   * stack's setting applies.
   *
   * @example
   * const { maxRetries } = await policies.of('web-app');
   */
  async of(projectName: string): Promise<ProjectPolicy> {
    const cached = this.#cache.get(projectName);
    if (cached && cached.until > this.#now()) return cached.policy;
    const tags = await this.#codebuild.getProjectTags([projectName]);
    const { policy, problems } = projectPolicy(
      this.#config,
      tags.get(projectName) ?? {},
    );
    for (const { tag, problem } of problems) {
      logger.warn('Ignored invalid project tag; the stack setting applies', {
        projectName,
        tag,
        problem,
      });
      count(METRIC.InvalidProjectTag);
    }
    this.#cache.set(projectName, {
      policy,
      until: this.#now() + PROJECT_TAGS_TTL_MS,
    });
    return policy;
  }
}
