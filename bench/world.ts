// One emulated account: the project's CodeBuild emulator and dynalite with
// the service's table on 127.0.0.1, the workloads the bench needs, and one
// ordered log of every request either server received.
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../lambda/contract.js';
import {
  type BuildStateChangeEvent,
  CodeBuildEmulator,
} from '../tools/local-aws/codebuild/emulator.js';
import { type LocalDynamo, startDynamo } from '../tools/local-aws/dynamo.js';
import { functionEnvironment } from '../tools/local-aws/environment.js';
import { PROJECT } from './settings.js';
import type { Shipped } from './synth.js';

export type Service = 'codebuild' | 'dynamodb';

/** One request as a server received it (wire-format input). */
export interface Call {
  readonly service: Service;
  readonly operation: string;
  readonly input: unknown;
}

/** The kinds of build event the warm run delivers. */
export type EventKind = 'ignored' | 'standalone' | 'retried';

/** An event and the ids of what it created (to pair twin worlds). */
export interface MadeEvent {
  readonly event: BuildStateChangeEvent;
  readonly ids: readonly string[];
}

const HOUR_MS = 3_600_000;

export class World {
  /**
   * Every request, in arrival order, from the emulator's request log and
   * dynalite's: both logs are observed as they are appended to.
   */
  readonly calls: Call[] = [];
  /** Most CodeBuild requests arrived and not yet answered at once. */
  peakCodeBuildInFlight = 0;
  #inFlight = 0;
  readonly #clock: { offsetMs: number };

  private constructor(
    readonly codebuild: CodeBuildEmulator,
    readonly dynamo: LocalDynamo,
    clock: { offsetMs: number },
  ) {
    this.#clock = clock;
    this.#observe();
    codebuild.createProject(PROJECT, {
      // Events carry these in plain text; the function must not log them.
      environmentVariables: [
        { name: 'DEPLOY_TOKEN', type: 'PLAINTEXT', value: 'bench-secret' },
      ],
    });
  }

  static async start(): Promise<World> {
    const clock = { offsetMs: 0 };
    const [codebuild, dynamo] = await Promise.all([
      CodeBuildEmulator.start({ now: () => Date.now() + clock.offsetMs }),
      startDynamo(),
    ]);
    return new World(codebuild, dynamo, clock);
  }

  /** The function's environment against this world (see {@link lambdaEnv}). */
  lambdaEnv(shipped: Shipped): Record<string, string> {
    return lambdaEnv(shipped, {
      tableName: this.dynamo.tableName,
      AWS_ENDPOINT_URL_CODEBUILD: this.codebuild.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamo.endpoint,
    });
  }

  /**
   * A build event of `kind`: a batch child that succeeded (ignored), a
   * standalone build that failed, or the failed child of a batch that has
   * settled FAILED (retried).
   */
  event(kind: EventKind): MadeEvent {
    const cb = this.codebuild;
    if (kind === 'standalone') {
      const build = cb.startBuild(PROJECT);
      return {
        event: cb.completeBuild(build.arn, 'FAILED'),
        ids: [build.arn],
      };
    }
    const batch = cb.startBatch(PROJECT, { groups: ['unit'] });
    const [child] = cb.currentBuilds(batch.arn);
    const event = cb.completeBuild(
      child.arn,
      kind === 'ignored' ? 'SUCCEEDED' : 'FAILED',
    );
    cb.settleBatch(batch.arn);
    return { event, ids: [batch.arn, child.arn] };
  }

  /**
   * Fills the account, oldest first: `failedBeforeWindow` batches that
   * failed two days ago (outside a 24 h lookback), then batches that
   * succeeded, then `failedInWindow` that failed just now.
   */
  seedAccount(account: {
    readonly batches: number;
    readonly failedInWindow: number;
    readonly failedBeforeWindow: number;
  }): void {
    const { batches, failedInWindow, failedBeforeWindow } = account;
    for (let i = 0; i < batches; i++) {
      const old = i < failedBeforeWindow;
      const fails = old || i >= batches - failedInWindow;
      // CodeBuild's clock moves back to stage a batch that ended long ago.
      this.#clock.offsetMs = old ? -48 * HOUR_MS : 0;
      const batch = this.codebuild.startBatch(PROJECT, { groups: ['unit'] });
      const [child] = this.codebuild.currentBuilds(batch.arn);
      this.codebuild.completeBuild(child.arn, fails ? 'FAILED' : 'SUCCEEDED');
      this.codebuild.settleBatch(batch.arn);
    }
    this.#clock.offsetMs = 0;
  }

  /** RetryBuildBatch calls that really retried, per batch ARN. */
  retriesByBatch(): Map<string, number> {
    return new Map(
      this.codebuild
        .listBatches()
        .map((b) => [String(b.arn), this.codebuild.retryCount(String(b.arn))]),
    );
  }

  /** Items in the service's table. */
  async itemCount(): Promise<number> {
    let count = 0;
    let cursor: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamo.client.send(
        new ScanCommand({
          TableName: this.dynamo.tableName,
          Select: 'COUNT',
          ExclusiveStartKey: cursor,
        }),
      );
      count += page.Count ?? 0;
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return count;
  }

  resetPeak(): void {
    this.peakCodeBuildInFlight = this.#inFlight;
  }

  async stop(): Promise<void> {
    await Promise.all([this.codebuild.stop(), this.dynamo.stop()]);
  }

  // Both servers append to their logs as requests arrive (dynalite's once
  // the body is read, the emulator's before latency and faults); observing
  // the appends gives one order across services and the requests in flight.
  #observe(): void {
    const { arrivals, requests } = this.codebuild;
    const arrive = arrivals.push;
    arrivals.push = (...records) => {
      for (const r of records) {
        this.calls.push({
          service: 'codebuild',
          operation: r.operation,
          input: r.input,
        });
      }
      this.#inFlight += records.length;
      this.peakCodeBuildInFlight = Math.max(
        this.peakCodeBuildInFlight,
        this.#inFlight,
      );
      return arrive.apply(arrivals, records);
    };
    const answer = requests.push;
    requests.push = (...records) => {
      this.#inFlight -= records.length;
      return answer.apply(requests, records);
    };
    const dynamoRequests = this.dynamo.requests;
    const receive = dynamoRequests.push;
    dynamoRequests.push = (...records) => {
      for (const r of records) {
        this.calls.push({
          service: 'dynamodb',
          operation: r.operation,
          input: r.input,
        });
      }
      return receive.apply(dynamoRequests, records);
    };
  }
}

/**
 * The function's environment: the template's variables (parameters at
 * their defaults), the Lambda runtime's own, and, against local servers,
 * the SDK's standard endpoint variables. Nothing is inherited from the
 * bench's process but PATH.
 */
export function lambdaEnv(
  shipped: Shipped,
  target: {
    readonly tableName: string;
    readonly AWS_ENDPOINT_URL_CODEBUILD?: string;
    readonly AWS_ENDPOINT_URL_DYNAMODB?: string;
  },
): Record<string, string> {
  const { tableName, ...endpoints } = target;
  return {
    ...functionEnvironment(),
    AWS_EXECUTION_ENV: `AWS_Lambda_${shipped.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: 'codebuild-batch-retry-bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(shipped.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/codebuild-batch-retry-bench',
    BENCH_TIMEOUT_SECONDS: String(shipped.timeoutSeconds),
    ...shipped.environment,
    [ENV.tableName]: tableName,
    ...endpoints,
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Maps the random ids of one world onto its twin's, so calls recorded in
 * one can be replayed in the other with the same effect.
 */
export class IdMap {
  readonly #map = new Map<string, string>();
  /** Ids in replayed calls that no pairing covered (should stay 0). */
  unmapped = 0;

  pair(a: readonly string[], b: readonly string[]): void {
    const ua = a.join(' ').match(UUID) ?? [];
    const ub = b.join(' ').match(UUID) ?? [];
    if (ua.length !== ub.length) throw new Error('worlds diverged');
    ua.forEach((id, i) => {
      this.#map.set(id, ub[i]);
    });
  }

  /**
   * `value` with every paired id replaced by its twin's. Unpaired ids are
   * left as they are and counted, unless `countUnpaired` is false (an
   * event's own envelope id needs no twin).
   */
  translate<T>(value: T, countUnpaired = true): T {
    const text = JSON.stringify(value).replace(UUID, (id) => {
      const twin = this.#map.get(id);
      if (twin === undefined && countUnpaired) this.unmapped++;
      return twin ?? id;
    });
    return JSON.parse(text) as T;
  }
}
