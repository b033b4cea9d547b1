/** Base class of every error this service raises on purpose. */
export class BatchRetryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BatchRetryError';
  }
}

/** The function's environment holds a bad setting; raised at cold start. */
export class InvalidConfigError extends BatchRetryError {
  /** One entry per bad setting, each starting with the variable's name. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'InvalidConfigError';
    this.problems = problems;
  }
}

/**
 * An incoming event is not one the function can act on. Carries a
 * description of the problem that is safe to log (paths and expectations);
 * never the event itself, which may hold secrets.
 */
export class InvalidEventError extends BatchRetryError {
  readonly problem: string;

  constructor(problem: string) {
    super(`Invalid event: ${problem}`);
    this.name = 'InvalidEventError';
    this.problem = problem;
  }
}

/**
 * DynamoDB kept answering a batch read with unprocessed keys (sustained
 * throttling) after every backed-off attempt. The invocation fails and the
 * next one starts over, rather than spinning.
 */
export class UnprocessedKeysError extends BatchRetryError {
  constructor(readonly unprocessed: number) {
    super(`DynamoDB left ${unprocessed} keys unprocessed after every attempt`);
    this.name = 'UnprocessedKeysError';
  }
}

/**
 * A sweep finished what it could, but some of its reads or batches failed
 * (each logged). The invocation fails so that Lambda runs the sweep again
 * and the function's error alarm sees it.
 */
export class SweepIncompleteError extends BatchRetryError {
  constructor(readonly failed: Readonly<Record<string, number>>) {
    super(
      `Sweep incomplete: ${Object.entries(failed)
        .map(([step, n]) => `${n} ${step}`)
        .join(', ')} failed`,
    );
    this.name = 'SweepIncompleteError';
  }
}
