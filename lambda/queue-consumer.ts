import {
  BatchProcessor,
  EventType,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import type { BatchView } from './batch.js';
import type { BatchRetrier } from './batch-retrier.js';
import type { BudgetStore } from './budget-store.js';
import type { CodeBuildGateway } from './codebuild-gateway.js';
import { METRIC } from './contract.js';
import { InvalidEventError } from './errors.js';
import { logger } from './logger.js';
import { count } from './metrics.js';
import {
  parseQueueMessage,
  type QueueMessage,
  type RecheckMessage,
  type RecheckQueue,
} from './recheck-queue.js';
import { recordSkip } from './skip-log.js';

/** Collaborators of {@link createQueueConsumer}. */
export interface QueueConsumerDeps {
  readonly budgetStore: BudgetStore;
  readonly codebuild: CodeBuildGateway;
  readonly retrier: BatchRetrier;
  readonly queue?: RecheckQueue;
}

/** A backstop or settle round that holds its batch's chain. */
type ChainRound = RecheckMessage & {
  readonly watch: number;
  readonly seq: number;
};

/** Results after which a re-check round leaves its watch as it is. */
const CHAIN_GOES_ON = new Set<string | undefined>([
  'watching',
  'in-flight',
  'retried',
]);

function isChainRound(message: QueueMessage): message is ChainRound {
  return (
    message.kind === 'recheck' &&
    message.chain !== 'follow' &&
    message.watch !== undefined &&
    message.seq !== undefined
  );
}

/**
 * Consumes the re-check queue's records in two phases. First every backstop
 * and settle round claims its place in its batch's chain (a superseded or
 * redelivered round stops there) and queues its successor; then each record
 * runs, one after another. An invocation killed in the second phase loses
 * all its records at once, but no chain: their successors are already
 * queued, so the batches are re-read at the chain's next step instead of
 * after the visibility timeout. Failed records alone go back to the queue
 * (partial batch responses).
 *
 * @example
 * const consume = createQueueConsumer({ budgetStore, codebuild, retrier, queue });
 * const { batchItemFailures } = await consume(sqsEvent, context);
 */
export function createQueueConsumer(deps: QueueConsumerDeps) {
  const { budgetStore, codebuild, retrier, queue } = deps;
  const processor = new BatchProcessor(EventType.SQS);

  const prepare = async (
    record: SQSRecord,
  ): Promise<QueueMessage | undefined> => {
    let message: QueueMessage;
    try {
      message = parseQueueMessage(record.body);
    } catch (error) {
      if (!(error instanceof InvalidEventError)) throw error;
      // Not ours and never will be: dropped with the reason, not redriven.
      logger.warn('Rejected invalid queue message', {
        decision: 'reject',
        reason: 'invalid-event',
        problem: error.problem,
        messageId: record.messageId,
      });
      count(METRIC.InvalidEvent);
      return undefined;
    }
    if (!isChainRound(message)) return message;
    const { batchArn, chain, round, watch, seq, phases } = message;
    const next = () =>
      queue?.recheck(batchArn, chain, round + 1, {
        ...(phases === undefined ? {} : { phases }),
        watch,
        seq: seq + 1,
      });
    let claimed: boolean;
    try {
      claimed = await budgetStore.claimRecheck(batchArn, { watch, seq });
    } catch (error) {
      // DynamoDB failing: this record comes back only after the visibility
      // timeout, so its successor keeps the chain's step meanwhile.
      await next()?.catch(() => undefined);
      throw error;
    }
    if (!claimed) {
      logger.debug('Re-check superseded', { batchArn, chain, round });
      return undefined;
    }
    await next();
    return message;
  };

  const run = async (
    message: QueueMessage,
    read: (batchArn: string) => Promise<BatchView | undefined>,
  ): Promise<void> => {
    if (message.kind === 'retry') {
      const { kind: _, ...request } = message;
      await retrier.retryReserved(request, {
        reason: 'delayed-retry',
        watched: false, // ended when the retry was delayed
      });
      return;
    }
    const batch = await read(message.batchArn);
    if (message.retry) {
      await retrier.follow(batch, { ...message, retry: message.retry });
      return;
    }
    const outcome = batch
      ? await retrier.handle(batch, 'recheck', { recheck: message })
      : undefined;
    if (!batch) {
      recordSkip('Re-checked batch is gone', 'batch-not-found', {
        batchArn: message.batchArn,
      });
    }
    // Settled and decided, or gone: the watch is over, and with it the
    // round already queued. A retry ended it itself; a retry in flight
    // elsewhere (its invocation may have died) keeps the chain going.
    if (isChainRound(message) && !CHAIN_GOES_ON.has(outcome?.result)) {
      await budgetStore.unwatch(message.batchArn, message.watch);
    }
  };

  return async (
    event: SQSEvent,
    context: Partial<Context>,
  ): Promise<SQSBatchResponse> => {
    const prepared = new Map(
      event.Records.map((record) => [record.messageId, prepare(record)]),
    );
    const allPrepared = Promise.allSettled(prepared.values());
    const read = sharedRead(codebuild, allPrepared);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const message = await prepared.get(record.messageId);
        await allPrepared;
        if (message) await run(message, read);
      },
      processor,
      {
        context: context as Context,
        throwOnFullBatchFailure: false,
        // One record after another: a kill in one record's retry cannot
        // fall between another record's PutEvents and its "sent" mark,
        // which would publish that event again on redelivery.
        processInParallel: false,
      },
    );
  };
}

/**
 * Reads every batch the invocation's re-checks are about in one
 * BatchGetBuildBatches call (rounds of several batches due at the same time
 * share it), once all records are prepared. Each view is handed out once: a
 * second message about the same batch reads it again, after the first one
 * may have retried it.
 */
function sharedRead(
  codebuild: CodeBuildGateway,
  allPrepared: Promise<PromiseSettledResult<QueueMessage | undefined>[]>,
) {
  const views = allPrepared.then(async (results) => {
    const arns = new Set(
      results.flatMap((r) =>
        r.status === 'fulfilled' && r.value?.kind === 'recheck'
          ? [r.value.batchArn]
          : [],
      ),
    );
    const read = await codebuild.getBatches([...arns]);
    // A batch CodeBuild no longer knows is handed out as undefined.
    const shared = new Map<string, BatchView | undefined>(
      [...arns].map((arn) => [arn, undefined]),
    );
    for (const batch of read) shared.set(batch.arn, batch);
    return shared;
  });
  return async (batchArn: string): Promise<BatchView | undefined> => {
    const shared = await views;
    if (shared.has(batchArn)) {
      const view = shared.get(batchArn);
      shared.delete(batchArn);
      return view;
    }
    const [batch] = await codebuild.getBatches([batchArn]);
    return batch;
  };
}
