import type {
  Build,
  BuildBatch,
  BuildBatchPhase,
  BuildGroup,
  BuildPhase,
  StatusType,
} from '@aws-sdk/client-codebuild';

/** A build or batch status other than `IN_PROGRESS`. */
export type TerminalStatus = Exclude<StatusType, 'IN_PROGRESS'>;

/** `RetryBuildBatch`'s `retryType`. */
export type RetryType = 'RETRY_ALL_BUILDS' | 'RETRY_FAILED_BUILDS';

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

/** An environment variable of a project (events carry the plaintext value). */
export interface EnvVar {
  name: string;
  value: string;
  /** `PLAINTEXT` (default), `PARAMETER_STORE` or `SECRETS_MANAGER`. */
  type?: string;
}

/** Options of {@link CodeBuildEmulator.createProject}. */
export interface ProjectOptions {
  /** Passed to every build of the project and to its events. */
  environmentVariables?: readonly EnvVar[];
  /** Default `aws/codebuild/amazonlinux2-x86_64-standard:5.0`. */
  image?: string;
  /** Default `BUILD_GENERAL1_MEDIUM`. */
  computeType?: string;
  /** Default `false`. */
  privilegedMode?: boolean;
  /** Default `https://github.com/example/<name>.git` (type `GITHUB`). */
  sourceLocation?: string;
  /** Default `refs/heads/main`. */
  sourceVersion?: string;
}

/** What {@link CodeBuildEmulator.createProject} returns. */
export interface ProjectRef {
  readonly name: string;
  /** `arn:aws:codebuild:<region>:<account>:project/<name>` */
  readonly arn: string;
}

/** Options of {@link CodeBuildEmulator.startBatch}. */
export interface StartBatchOptions {
  /** Build group identifiers; each group starts one child build. */
  groups: readonly string[];
  /** Identifiers of groups whose failure does not fail the batch. */
  ignoreFailure?: readonly string[];
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

/** Options of {@link CodeBuildEmulator.completeBuild}. */
export interface CompleteBuildOptions {
  /** Message of the failed phase's context (failures only). */
  reason?: string;
}

/** Options of {@link CodeBuildEmulator.start}. */
export interface EmulatorOptions {
  /** Default `eu-west-1`. */
  region?: string;
  /** Default `111122223333`. */
  account?: string;
  /**
   * The emulator's clock in ms since the epoch, used for every timestamp and
   * for the idempotency token window. Default `Date.now`.
   */
  now?: () => number;
  /**
   * Settle a batch as soon as its last running child completes. Default
   * `false`: tests call {@link CodeBuildEmulator.settleBatch}.
   */
  autoSettle?: boolean;
  /** Port on 127.0.0.1; default 0 (a free port). */
  port?: number;
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
export interface RequestRecord {
  readonly operation: string;
  readonly input: unknown;
  /** HTTP status of the response. */
  readonly status: number;
  /** `__type` of the error response, if any. */
  readonly errorType?: string;
  /** Emulator clock (ms) when the answer was sent. */
  readonly at: number;
}

/** An injected error response. */
export interface CustomFault {
  /** The `__type`, e.g. `ServiceUnavailable` or `InvalidInputException`. */
  type: string;
  /** HTTP status, e.g. 400 or 503. */
  status: number;
  message?: string;
}

/**
 * What {@link CodeBuildEmulator.failNext} injects: `throttle` is HTTP 400
 * `ThrottlingException` "Rate exceeded", `server-error` HTTP 500
 * `InternalFailure`.
 */
export type FaultKind = 'throttle' | 'server-error' | CustomFault;

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

/** A phase in a Build State Change event. */
export interface EventPhase {
  'phase-type': string;
  'phase-status'?: string;
  'phase-context'?: string[];
  'start-time': string;
  'end-time'?: string;
  'duration-in-seconds'?: number;
}

/**
 * `CodeBuild Build State Change` as EventBridge delivers it. It carries no
 * batch ARN, and environment variable values are plaintext.
 */
export interface BuildStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'CodeBuild Build State Change';
  source: 'aws.codebuild';
  account: string;
  /** ISO 8601 without milliseconds. */
  time: string;
  region: string;
  /** The build ARN. */
  resources: string[];
  detail: {
    'build-status': TerminalStatus;
    'project-name': string;
    /** The build ARN. */
    'build-id': string;
    'additional-information': {
      environment: {
        image: string;
        'privileged-mode': boolean;
        'compute-type': string;
        type: string;
        'environment-variables': {
          name: string;
          type: string;
          value: string;
        }[];
      };
      'timeout-in-minutes': number;
      'build-complete': true;
      initiator: string;
      'build-start-time': string;
      source: { location: string; type: string };
      'source-version': string;
      logs: {
        'group-name': string;
        'stream-name': string;
        'deep-link': string;
      };
      phases: EventPhase[];
      'queued-timeout-in-minutes': number;
    };
    'current-phase': 'COMPLETED';
    'current-phase-context': string;
    version: '1';
  };
}

/** Receives each emitted event, synchronously. */
export type EventListener = (event: BuildStateChangeEvent) => void;

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
