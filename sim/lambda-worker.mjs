// One Lambda execution environment: a worker thread that imports the bundled
// asset once (the cold start) and then runs one invocation at a time, like
// the Node.js runtime. Plain JavaScript so any runner (tsx, vitest, node)
// starts it. `Date` reads the simulated clock (shared memory), and
// `setTimeout` delays (SDK backoff) are scaled down by `timerScale`: the
// simulated clock stands still during a step, so they only cost wall time.
// After each invocation the thread blocks until the next one, as Lambda
// freezes a settled environment: whatever the handler left running
// (promises, timers, answers on open sockets) resumes only then, possibly
// much later in simulated time.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { clockBuffer, freezeBuffer, timerScale, codeDirectory } = workerData;

const clock = new BigInt64Array(clockBuffer);
const simNow = () => Number(Atomics.load(clock, 0));
const RealDate = Date;
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) =>
    Reflect.construct(target, args.length === 0 ? [simNow()] : args, newTarget),
  apply: () => new RealDate(simNow()).toString(),
  get: (target, property) =>
    property === 'now' ? simNow : Reflect.get(target, property, target),
});

const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (callback, ms, ...args) =>
  realSetTimeout(callback, Math.ceil(Number(ms ?? 0) * timerScale), ...args);

// A counter the simulation bumps to thaw the environment.
const freeze = new Int32Array(freezeBuffer);
let current;

const flushed = (stream) =>
  new Promise((resolve) => stream.write('', () => resolve()));

// Answers, then freezes until the next invocation; the invocation's log
// lines are flushed first, as Lambda's runtime ships them before the freeze.
async function settle(message) {
  current = undefined;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  const generation = Atomics.load(freeze, 0);
  parentPort.postMessage(message);
  Atomics.wait(freeze, 0, generation);
}

const errorOf = (error, fallback) => ({
  errorType: error?.name ?? fallback,
  errorMessage: String(error?.message ?? error),
});

// The Node.js runtime treats these as a crash of the invocation.
for (const [signal, errorType] of [
  ['unhandledRejection', 'Runtime.UnhandledPromiseRejection'],
  ['uncaughtException', 'Runtime.UncaughtException'],
]) {
  process.on(signal, (reason) =>
    parentPort.postMessage({
      type: 'crashed',
      id: current,
      error: { errorType, errorMessage: String(reason?.message ?? reason) },
    }),
  );
}

/** The handler, found the way the Node.js runtime finds it. */
async function loadHandler() {
  const [modulePath, exportName] = workerData.handler.split(/\.(?=[^.]*$)/);
  const file = ['.js', '.mjs', '.cjs']
    .map((ext) => join(codeDirectory, `${modulePath}${ext}`))
    .find((candidate) => existsSync(candidate));
  const fn = file && (await import(pathToFileURL(file).href))[exportName];
  if (typeof fn === 'function') return fn;
  throw Object.assign(new Error(`${workerData.handler} is not exported`), {
    name: file ? 'Runtime.HandlerNotFound' : 'Runtime.ImportModuleError',
  });
}

let handler;
let initError;
try {
  handler = await loadHandler();
} catch (error) {
  initError = errorOf(error, 'Runtime.InitError');
}
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, requestId, deadlineMs } = message;
  current = id;
  if (initError) {
    await settle({ type: 'result', id, ok: false, error: initError });
    return;
  }
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memoryMb),
    awsRequestId: requestId,
    logGroupName: workerData.logGroupName,
    logStreamName: workerData.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - simNow()),
  };
  try {
    const value = await handler(event, context);
    await settle({
      type: 'result',
      id,
      ok: true,
      value: value === undefined ? null : JSON.parse(JSON.stringify(value)),
    });
  } catch (error) {
    await settle({
      type: 'result',
      id,
      ok: false,
      error: errorOf(error, 'Error'),
    });
  }
});
