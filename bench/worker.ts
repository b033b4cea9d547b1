// Runs in its own process so its RSS is the handler's, not the servers'.
// argv: <mode: ours|floor> <input.json> ; prints one JSON line of stats.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as cb from '@aws-sdk/client-codebuild';
import * as ddb from '@aws-sdk/client-dynamodb';

interface Call {
  readonly service: 'codebuild' | 'dynamodb';
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

interface WorkerInput {
  readonly bundle: string;
  readonly events: unknown[];
  /** For the floor: the calls each event caused in our run. */
  readonly calls?: Call[][];
}

const [mode, file] = process.argv.slice(2);
const input = JSON.parse(readFileSync(file, 'utf8')) as WorkerInput;
const context = () => {
  const deadline = Date.now() + 120_000;
  return {
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
};

const latencies: number[] = [];
let rssPeak = 0;
const sampleRss = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
}, 20);

if (mode === 'ours') {
  const { handler } = (await import(pathToFileURL(input.bundle).href)) as {
    handler: (e: unknown, c: unknown) => Promise<unknown>;
  };
  for (const event of input.events) {
    const t0 = performance.now();
    await handler(event, context());
    latencies.push(performance.now() - t0);
  }
} else {
  // Exactly the calls our run made for each event, through the same SDK
  // clients, with no logic in between. Refusals (conditional checks, token
  // replays) are still one round trip each, as in our run.
  const codebuild = new cb.CodeBuildClient({ maxAttempts: 5 });
  const dynamodb = new ddb.DynamoDBClient({ maxAttempts: 5 });
  type Send = (command: unknown) => Promise<unknown>;
  type Command = new (input: unknown) => unknown;
  const commands = { codebuild: cb, dynamodb: ddb } as unknown as Record<
    Call['service'],
    Record<string, Command>
  >;
  const senders: Record<Call['service'], Send> = {
    codebuild: (c) => codebuild.send(c as never),
    dynamodb: (c) => dynamodb.send(c as never),
  };
  for (const calls of input.calls ?? []) {
    const t0 = performance.now();
    for (const call of calls) {
      const Command = commands[call.service][`${call.operation}Command`];
      await senders[call.service](new Command(call.input)).catch(
        () => undefined,
      );
    }
    latencies.push(performance.now() - t0);
  }
}
clearInterval(sampleRss);
rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
const total = latencies.reduce((a, b) => a + b, 0);
process.stdout.write(
  `${JSON.stringify({ latencies, totalMs: total, rssPeakMb: rssPeak / 2 ** 20 })}\n`,
);
process.exit(0);
