import type { SQSEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { parseBuildArn } from './arn.js';
import {
  BUILD_STATE_CHANGE,
  SWEEP_INPUT,
  TERMINAL_BUILD_STATUSES,
  type TerminalBuildStatus,
} from './contract.js';
import { InvalidEventError } from './errors.js';

/** EventBridge rejects events over 256 KiB; anything larger is not real. */
export const MAX_EVENT_BYTES = 256 * 1024;

/** A child (or standalone) build reached a terminal status. */
export interface BuildStateChange {
  readonly kind: 'build-state-change';
  readonly eventId: string;
  readonly buildArn: string;
  readonly projectName: string;
  readonly buildStatus: TerminalBuildStatus;
}

/** The scheduled reconciliation sweep. */
export interface SweepRequest {
  readonly kind: 'sweep';
  readonly eventId?: string;
}

/** Messages from the re-check queue (an SQS event source mapping). */
export interface QueueBatch {
  readonly kind: 'queue';
  readonly eventId?: string;
  /** The SQS event as Lambda delivers it, for the batch processor. */
  readonly event: SQSEvent;
}

export type Invocation = BuildStateChange | SweepRequest | QueueBatch;

// The EventBridge envelope, as Powertools parser's EventBridgeSchema defines
// it, written with zod/mini: the parser package's schemas import zod's classic
// API, which would nearly double the function's bundle.
const envelope = {
  version: z.string(),
  id: z.string().check(z.minLength(1), z.maxLength(256)),
  account: z.string().check(z.regex(/^\d{12}$/)),
  time: z.iso.datetime(),
  region: z.string().check(z.minLength(1), z.maxLength(64)),
  resources: z.array(z.string()),
};

// Only the fields the service acts on are validated and kept; everything
// else in `detail` (environment variables with plaintext values among them)
// is dropped here and never reaches a log.
const BuildStateChangeSchema = z.object({
  ...envelope,
  source: z.literal('aws.codebuild'),
  'detail-type': z.literal(BUILD_STATE_CHANGE),
  detail: z.object({
    'build-status': z.enum(TERMINAL_BUILD_STATUSES),
    'project-name': z.string().check(z.minLength(2), z.maxLength(255)),
    'build-id': z.string().check(z.maxLength(1024)),
  }),
});

const ScheduledEventSchema = z.object({
  ...envelope,
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

const SweepInputSchema = z.strictObject({ kind: z.literal(SWEEP_INPUT.kind) });

// Only what the batch processor reads; each body is checked on its own, so
// one bad message fails alone.
const SqsEventSchema = z.object({
  Records: z
    .array(
      z.object({
        messageId: z.string().check(z.minLength(1)),
        body: z.string(),
        eventSource: z.literal('aws:sqs'),
      }),
    )
    .check(z.minLength(1)),
});

/**
 * Turns the raw Lambda input into an {@link Invocation}, or throws
 * {@link InvalidEventError} with a reason that is safe to log (paths and
 * expectations only, never values from the event).
 *
 * Accepts CodeBuild Build State Change events, the sweep rule's
 * `{"kind":"sweep"}` input, plain EventBridge scheduled events and SQS
 * events from the re-check queue.
 *
 * @example
 * const invocation = parseInvocation(event);
 * if (invocation.kind === 'sweep') await sweep();
 */
export function parseInvocation(input: unknown): Invocation {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidEventError(
      `expected a JSON object, got ${describe(input)}`,
    );
  }
  const size = byteLength(input);
  if (size > MAX_EVENT_BYTES) {
    throw new InvalidEventError(
      `event is ${size} bytes, over the ${MAX_EVENT_BYTES}-byte EventBridge limit`,
    );
  }
  // Only an object with a `kind` can be the sweep rule's input; asking zod
  // first would build (and throw away) a ZodError for every build event.
  if ('kind' in input && SweepInputSchema.safeParse(input).success) {
    return { kind: 'sweep' };
  }

  if ('Records' in input) {
    const queued = SqsEventSchema.safeParse(input);
    if (!queued.success) throw invalid(queued.error);
    return { kind: 'queue', event: input as SQSEvent };
  }

  const source = (input as { source?: unknown }).source;
  if (source === 'aws.events') {
    const scheduled = ScheduledEventSchema.safeParse(input);
    if (!scheduled.success) throw invalid(scheduled.error);
    return { kind: 'sweep', eventId: scheduled.data.id };
  }
  if (source !== 'aws.codebuild') {
    throw new InvalidEventError(
      typeof source === 'string'
        ? 'source is not aws.codebuild or aws.events'
        : 'source is missing or not a string',
    );
  }

  const parsed = BuildStateChangeSchema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error);
  const { id, detail } = parsed.data;
  const buildArn = detail['build-id'];
  const arn = parseBuildArn(buildArn);
  if (!arn) throw new InvalidEventError('detail.build-id is not a build ARN');
  if (arn.projectName !== detail['project-name']) {
    throw new InvalidEventError(
      'detail.project-name does not match the project in detail.build-id',
    );
  }
  return {
    kind: 'build-state-change',
    eventId: id,
    buildArn,
    projectName: arn.projectName,
    buildStatus: detail['build-status'],
  };
}

function invalid(error: z.core.$ZodError): InvalidEventError {
  return new InvalidEventError(
    error.issues.slice(0, 3).map(describeIssue).join('; '),
  );
}

// Built from the issue's path and what was expected, never from the input:
// the offending value may be a secret.
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(root)';
  switch (issue.code) {
    case 'invalid_type':
      return `${path}: expected ${issue.expected}`;
    case 'invalid_value':
      return `${path}: expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_big':
      return `${path}: longer than ${issue.maximum}`;
    case 'too_small':
      return `${path}: shorter than ${issue.minimum}`;
    case 'invalid_format':
      return `${path}: not a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `${path}: unexpected keys`;
    default:
      return `${path}: ${issue.code}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function byteLength(value: object): number {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    // Cyclic or otherwise unserialisable input cannot be a real event.
    return Number.POSITIVE_INFINITY;
  }
}
