import type { StatusType } from '@aws-sdk/client-codebuild';
import { type CodeBuildModel, type ListParams, STATUSES } from './model.js';
import { ApiError, type RetryType } from './types.js';

/** One API operation: validated JSON input to JSON-able output. */
export type Operation = (input: Record<string, unknown>) => unknown;

const MAX_IDS = 100;
const RETRY_TYPES: readonly RetryType[] = [
  'RETRY_ALL_BUILDS',
  'RETRY_FAILED_BUILDS',
];
const SORT_ORDERS = ['ASCENDING', 'DESCENDING'] as const;

function invalid(field: string, value: unknown, constraint: string): ApiError {
  return new ApiError(
    'InvalidInputException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function optionalString(
  input: Record<string, unknown>,
  field: string,
): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(
      field,
      value,
      'Member must have length greater than or equal to 1',
    );
  }
  return value;
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined) {
    throw invalid(field, value, 'Member must not be null');
  }
  return value;
}

function oneOf<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (!allowed.includes(value as T)) {
    throw invalid(
      field,
      value,
      `Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value as T;
}

function ids(input: Record<string, unknown>): string[] {
  const value = input.ids;
  if (!Array.isArray(value) || value.length < 1) {
    throw invalid(
      'ids',
      value,
      'Member must have length greater than or equal to 1',
    );
  }
  if (value.length > MAX_IDS) {
    throw invalid(
      'ids',
      `[${value.length} ids]`,
      `Member must have length less than or equal to ${MAX_IDS}`,
    );
  }
  for (const id of value) {
    if (typeof id !== 'string' || id.length === 0) {
      throw invalid(
        'ids',
        id,
        'Member must have length greater than or equal to 1',
      );
    }
  }
  return value;
}

function listParams(input: Record<string, unknown>): ListParams {
  const max = input.maxResults;
  if (
    max !== undefined &&
    (!Number.isInteger(max) || (max as number) < 1 || (max as number) > MAX_IDS)
  ) {
    throw invalid(
      'maxResults',
      max,
      `Member must have value between 1 and ${MAX_IDS}`,
    );
  }
  const filter = input.filter;
  if (filter !== undefined && (typeof filter !== 'object' || filter === null)) {
    throw invalid('filter', filter, 'Member must be a structure');
  }
  const status = oneOf<StatusType>(
    (filter as { status?: unknown } | undefined)?.status,
    'filter.status',
    STATUSES,
  );
  return {
    ...(status ? { status } : {}),
    sortOrder: oneOf(input.sortOrder, 'sortOrder', SORT_ORDERS) ?? 'DESCENDING',
    maxResults: (max as number | undefined) ?? MAX_IDS,
    nextToken: optionalString(input, 'nextToken'),
  };
}

/** The operations the emulator serves, by `X-Amz-Target` operation name. */
export function operations(model: CodeBuildModel): Record<string, Operation> {
  return {
    BatchGetBuilds: (input) => model.batchGetBuilds(ids(input)),
    BatchGetBuildBatches: (input) => model.batchGetBuildBatches(ids(input)),
    RetryBuildBatch: (input) => ({
      buildBatch: model.retryBuildBatch(
        requiredString(input, 'id'),
        oneOf(input.retryType, 'retryType', RETRY_TYPES),
        optionalString(input, 'idempotencyToken'),
      ),
    }),
    ListBuildBatches: (input) => model.listBuildBatches(listParams(input)),
    ListBuildBatchesForProject: (input) =>
      model.listBuildBatches({
        ...listParams(input),
        projectName: requiredString(input, 'projectName'),
      }),
  };
}
