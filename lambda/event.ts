import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { z } from 'zod';
import { parseBuildArn } from './arn.js';
import { InvalidEventError } from './errors.js';

/** EventBridge rejects events over 256 KiB; anything larger is not real. */
export const MAX_EVENT_BYTES = 256 * 1024;

/** Build statuses after which a build will not change again. */
export const TERMINAL_BUILD_STATUSES = [
  'SUCCEEDED',
  'FAILED',
  'FAULT',
  'STOPPED',
  'TIMED_OUT',
] as const;

/** The statuses that say a batch is probably about to fail. */
const FAILURE_STATUSES: ReadonlySet<string> = new Set([
  'FAILED',
  'FAULT',
  'TIMED_OUT',
]);

export type BuildStatus = (typeof TERMINAL_BUILD_STATUSES)[number];

/** A child (or standalone) build reached a terminal status. */
export interface BuildStateChange {
  readonly kind: 'build-state-change';
  readonly eventId: string;
  readonly buildArn: string;
  readonly projectName: string;
  readonly buildStatus: BuildStatus;
  /** True when the status means the build failed (so its batch may fail). */
  readonly isFailure: boolean;
}

/** The scheduled reconciliation sweep. */
export interface SweepRequest {
  readonly kind: 'sweep';
  readonly eventId?: string;
}

export type Invocation = BuildStateChange | SweepRequest;

// Only the fields the service acts on are validated and kept; everything
// else in `detail` (environment variables with plaintext values among them)
// is dropped here and never reaches a log.
const BuildStateChangeSchema = EventBridgeSchema.extend({
  source: z.literal('aws.codebuild'),
  'detail-type': z.literal('CodeBuild Build State Change'),
  id: z.string().min(1).max(256),
  detail: z.object({
    'build-status': z.enum(TERMINAL_BUILD_STATUSES),
    'project-name': z.string().min(2).max(255),
    'build-id': z.string().max(1024),
  }),
});

const ScheduledEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

const SweepInputSchema = z.object({ kind: z.literal('sweep') }).strict();

/**
 * Turns the raw Lambda input into an {@link Invocation}, or throws
 * {@link InvalidEventError} with a reason that is safe to log (paths and
 * expectations only, never values from the event).
 *
 * Accepts CodeBuild Build State Change events, the sweep rule's
 * `{"kind":"sweep"}` input and plain EventBridge scheduled events.
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
  if (SweepInputSchema.safeParse(input).success) return { kind: 'sweep' };

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
    isFailure: FAILURE_STATUSES.has(detail['build-status']),
  };
}

function invalid(error: z.ZodError): InvalidEventError {
  // zod messages name the expectation ("expected string, received number"),
  // not the offending value; the path locates it. Neither carries a secret.
  const first = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return new InvalidEventError(first.join('; '));
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
