// The parent's side of bench/worker.ts: a Lambda-like process holding one or
// more execution environments (module instances of a bundle).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Reply, Request } from './worker.js';

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;
type Ask = Distribute<Request>;

/** One invocation as the worker measured it. */
export interface Invocation {
  readonly ms: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
  readonly logBytes: number;
}

export class LambdaProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  #nextId = 0;
  #exited: Error | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: Reply) => {
      const resolve = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      resolve?.(reply);
    });
    child.on('exit', (code, signal) => {
      this.#exited = new Error(`worker exited (${code ?? signal})`);
      for (const resolve of this.#pending.values()) {
        resolve({ type: 'failed', id: -1, error: this.#exited.message });
      }
      this.#pending.clear();
    });
  }

  /**
   * Starts `node <workerFile>` with exactly `env` (nothing inherited), its
   * output discarded as a log pipe would take it away.
   */
  static async start(
    workerFile: string,
    env: Readonly<Record<string, string>>,
  ): Promise<LambdaProcess> {
    const child = spawn(process.execPath, [workerFile], {
      env,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    await once(child, 'spawn');
    return new LambdaProcess(child);
  }

  /** Creates an environment: imports the bundle as a new module instance. */
  async load(
    key: string,
    bundle: string,
    importEnv?: Record<string, string>,
  ): Promise<number> {
    const reply = await this.#ask({ type: 'load', key, bundle, importEnv });
    if (reply.type !== 'loaded') throw new Error(describeFailure(reply));
    return reply.ms;
  }

  /** Invokes environment `key` with `event`; resolves when it returns. */
  async invoke(key: string, event: unknown): Promise<Invocation> {
    const reply = await this.#ask({ type: 'invoke', key, event });
    if (reply.type !== 'invoked') throw new Error(describeFailure(reply));
    return reply;
  }

  /** Peak and current RSS of the process. */
  async stats(): Promise<{ maxRssMb: number; rssMb: number }> {
    const reply = await this.#ask({ type: 'stats' });
    if (reply.type !== 'stats') throw new Error(describeFailure(reply));
    return reply;
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = once(this.#child, 'exit');
    this.#child.disconnect();
    await exited;
  }

  #ask(request: Ask): Promise<Reply> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ ...request, id });
    });
  }
}

function describeFailure(reply: Reply): string {
  return reply.type === 'failed' ? reply.error : `unexpected ${reply.type}`;
}
