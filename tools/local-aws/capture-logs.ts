/** Lines written to stdout/stderr while capturing. */
export type CapturedLogs = ReturnType<typeof captureLogs>;

/**
 * Captures what the function writes (Powertools writes to process.stdout and
 * process.stderr through its own Console), without echoing it.
 *
 * @example
 * const logs = captureLogs();
 * await handler(event, context);
 * logs.restore();
 * expect(logs.text()).not.toContain(secret);
 */
export function captureLogs() {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(
        typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'),
      );
      const callback = rest.find((arg) => typeof arg === 'function');
      if (callback) (callback as () => void)();
      return true;
    }) as typeof stream.write;
  }
  return {
    /** Raw text of everything written. */
    text: () => chunks.join(''),
    /** Structured (JSON) lines: Powertools log lines and EMF metric blobs. */
    records: (): Record<string, unknown>[] =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    /** Stops capturing and restores the streams. */
    restore: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i];
      });
    },
  };
}

/**
 * Runs `fn` with the function's output captured, and restores the streams
 * whatever happens.
 *
 * @example
 * const { value, logs } = await whileCapturing(() => handler(event, context));
 */
export async function whileCapturing<T>(
  fn: () => Promise<T>,
): Promise<{ readonly value: T; readonly logs: CapturedLogs }> {
  const logs = captureLogs();
  try {
    return { value: await fn(), logs };
  } finally {
    logs.restore();
  }
}
