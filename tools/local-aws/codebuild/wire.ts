/**
 * CodeBuild's operations over JSON 1.1 (`X-Amz-Target:
 * CodeBuild_20161006.<Operation>`, see ../wire-server.ts) and each
 * operation's input validation.
 */
import type { StatusType } from '@aws-sdk/client-codebuild';
import {
  RETRY_TYPES,
  type RetryType,
  TERMINAL_BUILD_STATUSES,
} from '../../../lambda/contract.js';
import type { FaultInjector } from '../faults.js';
import {
  checker,
  type Input,
  type RequestLog,
  serveJson,
} from '../wire-server.js';

export type { ArrivalRecord, RequestRecord } from '../wire-server.js';
export { ApiError } from '../wire-server.js';

const TARGET = 'CodeBuild_20161006';
const MAX_IDS = 100;
const SORT_ORDERS = ['ASCENDING', 'DESCENDING'] as const;
const STATUSES: readonly StatusType[] = [
  ...TERMINAL_BUILD_STATUSES,
  'IN_PROGRESS',
];

/** Parameters of a list call, already validated. */
export interface ListParams {
  projectName?: string;
  status?: StatusType;
  sortOrder: (typeof SORT_ORDERS)[number];
  maxResults: number;
  nextToken?: string;
}

/** The state behind the operations served, and the request logs. */
export interface CodeBuildApi extends RequestLog {
  batchGetBuilds(ids: readonly string[]): unknown;
  batchGetBuildBatches(ids: readonly string[]): unknown;
  batchGetProjects(names: readonly string[]): unknown;
  retryBuildBatch(id: string, type?: RetryType, token?: string): unknown;
  listBuildBatches(params: ListParams): unknown;
}

const NOT_EMPTY = 'Member must have length greater than or equal to 1';

/** Passes if `ok`, else answers InvalidInputException as CodeBuild words it. */
const check = checker('InvalidInputException');

const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;

function text(input: Input, field: string, required = false) {
  const value = input[field] ?? undefined;
  const rule = 'Member must not be null';
  check(value !== undefined || !required, field, value, rule);
  check(value === undefined || nonEmpty(value), field, value, NOT_EMPTY);
  return value as string | undefined;
}

function oneOf<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const rule = `Member must satisfy enum value set: [${allowed.join(', ')}]`;
  check(value == null || allowed.includes(value as T), field, value, rule);
  return (value ?? undefined) as T | undefined;
}

/** A list of 1 to 100 names or ids, such as the batch reads take. */
function ids(input: Input, field = 'ids'): string[] {
  const value = input[field] as string[];
  const ok = Array.isArray(value) && value.length > 0 && value.every(nonEmpty);
  check(ok, field, value, NOT_EMPTY);
  const rule = `Member must have length less than or equal to ${MAX_IDS}`;
  check(value.length <= MAX_IDS, field, `[${value.length} ${field}]`, rule);
  return value;
}

function listParams(input: Input): ListParams {
  const { maxResults: max, filter } = input as {
    maxResults?: number;
    filter?: { status?: unknown };
  };
  const inRange =
    Number.isInteger(max) && Number(max) >= 1 && Number(max) <= MAX_IDS;
  const rule = `Member must have value between 1 and ${MAX_IDS}`;
  check(max === undefined || inRange, 'maxResults', max, rule);
  const isStructure = typeof filter === 'object' && filter !== null;
  const structure = 'Member must be a structure';
  check(filter === undefined || isStructure, 'filter', filter, structure);
  const status = oneOf(filter?.status, 'filter.status', STATUSES);
  return {
    ...(status ? { status } : {}),
    sortOrder: oneOf(input.sortOrder, 'sortOrder', SORT_ORDERS) ?? 'DESCENDING',
    maxResults: max ?? MAX_IDS,
    nextToken: text(input, 'nextToken'),
  };
}

/** The operations served, by `X-Amz-Target` operation name. */
function operations(api: CodeBuildApi): Record<string, (i: Input) => unknown> {
  return {
    BatchGetBuilds: (input) => api.batchGetBuilds(ids(input)),
    BatchGetBuildBatches: (input) => api.batchGetBuildBatches(ids(input)),
    BatchGetProjects: (input) => api.batchGetProjects(ids(input, 'names')),
    RetryBuildBatch: (input) => ({
      buildBatch: api.retryBuildBatch(
        text(input, 'id', true) as string,
        oneOf(input.retryType, 'retryType', RETRY_TYPES),
        text(input, 'idempotencyToken'),
      ),
    }),
    ListBuildBatches: (input) => api.listBuildBatches(listParams(input)),
    ListBuildBatchesForProject: (input) =>
      api.listBuildBatches({
        ...listParams(input),
        projectName: text(input, 'projectName', true),
      }),
  };
}

/** Serves CodeBuild's operations for `api` on a free loopback port. */
export const serve = (
  api: CodeBuildApi,
  now: () => number,
  faults: FaultInjector,
) =>
  serveJson({
    target: TARGET,
    operations: operations(api),
    log: api,
    now,
    faults,
  });
