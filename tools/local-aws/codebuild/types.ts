import type {
  Build,
  BuildBatch,
  BuildBatchPhase,
  BuildGroup,
  BuildPhase,
  StatusType,
} from '@aws-sdk/client-codebuild';
import type { TerminalBuildStatus } from '../../../lambda/contract.js';

/** A build or batch status other than `IN_PROGRESS`. */
export type TerminalStatus = TerminalBuildStatus;

/**
 * A copy of a build as `BatchGetBuilds` returns it through the SDK (times are
 * `Date`s). Changing it changes nothing in the emulator.
 */
export type BuildSnapshot = Build & {
  id: string;
  arn: string;
  projectName: string;
  buildNumber: number;
  buildStatus: StatusType;
  phases: BuildPhase[];
};

/**
 * A copy of a batch as `BatchGetBuildBatches` returns it through the SDK
 * (times are `Date`s). Changing it changes nothing in the emulator.
 */
export type BatchSnapshot = BuildBatch & {
  id: string;
  arn: string;
  projectName: string;
  buildBatchNumber: number;
  buildBatchStatus: StatusType;
  phases: BuildBatchPhase[];
  buildGroups: BuildGroup[];
};

/** Options of {@link CodeBuildEmulator.createProject}. */
export interface ProjectOptions {
  /**
   * Passed to every build of the project and to its events (in plain text,
   * as CodeBuild's events carry them). `type` defaults to `PLAINTEXT`.
   */
  environmentVariables?: readonly {
    name: string;
    value: string;
    type?: string;
  }[];
}

/** Options of {@link CodeBuildEmulator.settleBatch}. */
export interface SettleOptions {
  /** The batch's final status instead of the one computed from its groups. */
  status?: TerminalStatus;
  /**
   * Settles although children are still running: they are stopped first
   * (status `STOPPED`, each emitting its event), as fast-fail does.
   */
  force?: boolean;
}

/** Options of {@link CodeBuildEmulator.start}. */
export interface EmulatorOptions {
  region?: string;
  account?: string;
  /**
   * The emulator's clock in ms since the epoch, used for every timestamp and
   * for the idempotency token window. Default `Date.now`.
   */
  now?: () => number;
}

/** A request as it arrived, before latency and faults. */
export interface ArrivalRecord {
  /** Operation from `X-Amz-Target` (the raw header if it lacks the prefix). */
  readonly operation: string;
  /** The parsed JSON body (the raw text if it is not JSON). */
  readonly input: unknown;
  /** Emulator clock (ms) when the request arrived. */
  readonly at: number;
}

/** A request the emulator answered. */
export interface RequestRecord extends ArrivalRecord {
  /** HTTP status of the response. */
  readonly status: number;
  /** `__type` of the error response, if any. */
  readonly errorType?: string;
}

/**
 * What {@link CodeBuildEmulator.failNext} injects: `throttle` is HTTP 400
 * `ThrottlingException` "Rate exceeded", `server-error` HTTP 500
 * `InternalFailure`, otherwise the given `__type` and HTTP status.
 */
export type FaultKind =
  | 'throttle'
  | 'server-error'
  | { type: string; status: number; message?: string };

/** Random faults, see {@link CodeBuildEmulator.setFaults}. */
export interface FaultConfig {
  /** Share (0–1) of requests answered with `ThrottlingException`. */
  throttleRate?: number;
  /** Share (0–1) of requests answered with HTTP 500 `InternalFailure`. */
  serverErrorRate?: number;
  /** Delay (ms) before a request is processed. */
  latencyMs?: number;
  /** Limits faults and latency to these operations (default: all). */
  operations?: readonly string[];
  /** Source of randomness in [0, 1); default `Math.random`. */
  random?: () => number;
}

/** An error the API answers with (`__type`, message, HTTP status). */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}
