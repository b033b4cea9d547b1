// Bundles: the floor (only the SDK clients and commands the function uses),
// floor-plus-one-component variants, and a rebuild of the shipped asset
// with a metafile to attribute its bytes. All with the construct's esbuild
// settings.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { IDEMPOTENCY_KEY_PREFIX } from '../lambda/retry-step.js';
import { ROOT } from './settings.js';

/**
 * The esbuild settings `lib/batch-retry-service.ts` gives NodejsFunction
 * (ESM, minified, source map without sources, node24, module/main fields,
 * the createRequire banner, nothing external). {@link rebuildShipped}
 * proves they still match: it rebuilds the handler with them and compares
 * the result byte for byte with the asset `cdk synth` produced.
 */
export const LAMBDA_ESBUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  },
  external: [],
  absWorkingDir: ROOT,
  logLevel: 'warning',
};

/**
 * How the issue's calibration ("a bundle of only the CodeBuild and DynamoDB
 * clients is about 587 KB") resolves packages: esbuild's default main fields
 * for the node platform, `main` first, which picks the SDK's CommonJS
 * builds and leaves nothing to tree-shake. The floor's source built this way
 * shows which floor the issue's ratios were measured against.
 */
export const CJS_ENTRY_POINTS: BuildOptions = {
  mainFields: ['main', 'module'],
};

/** A built bundle and what went into it. */
export interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** The source map's bytes (shipped beside the code). */
  readonly mapBytes: number;
  readonly metafile: Metafile;
}

/** Builds `source` (TypeScript) as the construct would, to `<dir>/index.mjs`. */
export async function buildEntry(
  name: string,
  dir: string,
  source: string,
  overrides: BuildOptions = {},
): Promise<Bundle> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({
    ...LAMBDA_ESBUILD,
    stdin: {
      contents: source,
      resolveDir: ROOT,
      sourcefile: `bench-${name}.ts`,
      loader: 'ts',
    },
    outfile: file,
    metafile: true,
    ...overrides,
  });
  return describe(name, file, result.metafile);
}

/**
 * Rebuilds `lambda/handler.ts` with {@link LAMBDA_ESBUILD} and checks it is
 * the shipped asset, byte for byte.
 */
export async function rebuildShipped(
  dir: string,
  shippedFile: string,
): Promise<{ bundle: Bundle; identical: boolean }> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({
    ...LAMBDA_ESBUILD,
    entryPoints: [join(ROOT, 'lambda', 'handler.ts')],
    outfile: file,
    metafile: true,
  });
  const identical = readFileSync(file).equals(readFileSync(shippedFile));
  return { bundle: describe('rebuild', file, result.metafile), identical };
}

/** Describes an existing bundle file (e.g. the shipped asset). */
export function describe(
  name: string,
  file: string,
  metafile: Metafile = { inputs: {}, outputs: {} },
): Bundle {
  const code = readFileSync(file);
  let mapBytes = 0;
  try {
    mapBytes = statSync(`${file}.map`).size;
  } catch {
    // No source map beside it.
  }
  return {
    name,
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    mapBytes,
    metafile,
  };
}

/** Every file of a directory with its size (what the asset ships). */
export function listAsset(dir: string): Record<string, number> {
  return Object.fromEntries(
    readdirSync(dir).map((f) => [f, statSync(join(dir, f)).size]),
  );
}

/** The SDK clients and commands the floor creates. */
export interface FloorSpec {
  /** Package name → client class and the commands the function may send. */
  readonly clients: Readonly<
    Record<
      string,
      {
        readonly service: string;
        readonly client: string;
        readonly commands: readonly string[];
      }
    >
  >;
  readonly maxAttempts: number;
}

/**
 * Works out the floor from what ships: every `@aws-sdk/client-*` package the
 * shipped bundle contains, with one command per IAM action the template
 * grants on that service (what the function may send, nothing else).
 */
export async function floorSpec(
  shipped: Metafile,
  actions: Readonly<Record<string, readonly string[]>>,
  maxAttempts: number,
): Promise<FloorSpec> {
  const packages = new Set<string>();
  for (const input of Object.keys(shipped.inputs)) {
    const match = input.match(/node_modules\/(@aws-sdk\/client-[^/]+)\//);
    if (match) packages.add(match[1]);
  }
  const clients: Record<string, FloorSpec['clients'][string]> = {};
  for (const pkg of [...packages].sort()) {
    const service = pkg.replace('@aws-sdk/client-', '');
    const exports = (await import(pkg)) as Record<string, unknown>;
    const client = Object.keys(exports).find(
      (name) => name.endsWith('Client') && !name.startsWith('__'),
    );
    if (!client) throw new Error(`no client class in ${pkg}`);
    const commands = (actions[service] ?? []).filter(
      (action) => typeof exports[`${action}Command`] === 'function',
    );
    if (commands.length !== (actions[service] ?? []).length) {
      throw new Error(`${pkg} lacks a command for some of ${actions[service]}`);
    }
    clients[pkg] = { service, client, commands };
  }
  return { clients, maxAttempts };
}

/**
 * The floor's imports, clients (created at module scope the way the
 * function creates them) and command table, without a handler: shared by
 * the floor and the reference handler.
 */
function clientsSource(spec: FloorSpec): string {
  const lines: string[] = [];
  const clientLines: string[] = [];
  const commandLines: string[] = [];
  for (const [pkg, { service, client, commands }] of Object.entries(
    spec.clients,
  )) {
    const names = commands.map((c) => `${c}Command`);
    lines.push(`import { ${[client, ...names].join(', ')} } from '${pkg}';`);
    clientLines.push(
      `  ${JSON.stringify(service)}: new ${client}({ maxAttempts: ${spec.maxAttempts} }),`,
    );
    commandLines.push(
      `  ${JSON.stringify(service)}: { ${commands.map((c) => `${c}: ${c}Command`).join(', ')} },`,
    );
  }
  return `${lines.join('\n')}
type Call = { service: string; operation: string; input: object };
type Send = { send(command: unknown): Promise<unknown> };
type Command = new (input: object) => unknown;
export const clients: Record<string, Send> = {
${clientLines.join('\n')}
};
const commands: Record<string, Record<string, Command>> = {
${commandLines.join('\n')}
};
`;
}

/**
 * The floor's source: the clients, created at module scope the way the
 * function creates them, and a handler that sends the calls it is given,
 * in order, with no logic in between. Errors are counted, not handled:
 * the function's expected refusals (a failed condition) cost one round
 * trip here too.
 */
export function floorSource(spec: FloorSpec): string {
  return `${clientsSource(spec)}export const handler = async (event: { calls?: Call[] }) => {
  let errors = 0;
  for (const call of event.calls ?? []) {
    try {
      await clients[call.service].send(
        new commands[call.service][call.operation](call.input),
      );
    } catch {
      errors++;
    }
  }
  return { errors };
};
`;
}

/**
 * The issue's calibration as a working handler: "a plain handler with
 * Powertools Logger, Idempotency and lib-dynamodb" on the floor's clients.
 * In the warm run it is given the calls our handler made, like the floor,
 * and makes them the way such a handler would: DynamoDB through the
 * document client (inputs in document form), RetryBuildBatch wrapped in
 * Powertools Idempotency keyed by its token (which issues the record's
 * PutItem and UpdateItem itself, so ours are not replayed), the Lambda
 * context on the logger and one structured line per event. No validation,
 * no metrics, no decisions: what the named dependencies cost at the least.
 */
export function referenceSource(spec: FloorSpec): string {
  return `${clientsSource(spec)}
import { Logger } from '@aws-lambda-powertools/logger';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand,
  QueryCommand, UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
const logger = new Logger({ serviceName: 'codebuild-batch-retry' });
const documentClient = DynamoDBDocumentClient.from(clients.dynamodb as never, {
  marshallOptions: { removeUndefinedValues: true },
});
const documentCommands: Record<string, Command> = {
  GetItem: GetCommand, BatchGetItem: BatchGetCommand, PutItem: PutCommand,
  UpdateItem: UpdateCommand, DeleteItem: DeleteCommand, Query: QueryCommand,
} as never;
const idempotencyConfig = new IdempotencyConfig({
  eventKeyJmesPath: 'idempotencyToken',
  expiresAfterSeconds: 3600,
});
// The stored result must be plain data (the SDK's output holds Dates).
const retryOnce = makeIdempotent(
  async (input: object) => {
    const output = (await clients.codebuild.send(
      new commands.codebuild.RetryBuildBatch(input),
    )) as { buildBatch?: { buildBatchStatus?: string } };
    return { status: output.buildBatch?.buildBatchStatus };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: process.env.TABLE_NAME ?? 'table',
      awsSdkV3Client: clients.dynamodb as never,
    }),
    config: idempotencyConfig,
    keyPrefix: ${JSON.stringify(IDEMPOTENCY_KEY_PREFIX)},
    dataIndexArgument: 0,
  },
);
type ReferenceCall = Call & { document?: object; recordOfIdempotency?: boolean };
export const handler = async (
  event: { calls?: ReferenceCall[] },
  context: { awsRequestId?: string },
) => {
  logger.addContext(context as never);
  idempotencyConfig.registerLambdaContext(context as never);
  let errors = 0;
  let lastError: string | undefined;
  for (const call of event.calls ?? []) {
    if (call.recordOfIdempotency) continue;
    try {
      if (call.service === 'codebuild' && call.operation === 'RetryBuildBatch') {
        await retryOnce(call.input);
      } else if (call.document) {
        await documentClient.send(new documentCommands[call.operation](call.document) as never);
      } else {
        await clients[call.service].send(new commands[call.service][call.operation](call.input));
      }
    } catch (error) {
      errors++;
      lastError = \`\${call.operation}: \${(error as Error).name}: \${(error as Error).message}\`;
    }
  }
  logger.info('Handled event', { calls: event.calls?.length ?? 0, errors });
  return { errors, lastError };
};
`;
}

/**
 * What each dependency costs on its own: the floor plus that one thing,
 * created at module scope as the function creates it. Shared code (e.g.
 * Powertools commons) is counted in each, so the parts add up to more than
 * the whole.
 */
export function componentSources(
  floor: string,
  reference: string,
): Record<string, string> {
  const lambda = (file: string) => JSON.stringify(join(ROOT, 'lambda', file));
  return {
    'lib-dynamodb': `${floor}
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
export const documentClient = DynamoDBDocumentClient.from(clients.dynamodb as never, {
  marshallOptions: { removeUndefinedValues: true },
});`,
    'powertools-logger': `${floor}
import { Logger } from '@aws-lambda-powertools/logger';
export const logger = new Logger({ serviceName: 'codebuild-batch-retry' });`,
    'powertools-metrics': `${floor}
import { Metrics } from '@aws-lambda-powertools/metrics';
export const metrics = new Metrics({ namespace: 'CodeBuildBatchRetry', serviceName: 'codebuild-batch-retry' });`,
    'powertools-idempotency': `${floor}
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.TABLE_NAME ?? 'table',
  awsSdkV3Client: clients.dynamodb as never,
});
const config = new IdempotencyConfig({ eventKeyJmesPath: 'token', expiresAfterSeconds: 3600 });
export const once = makeIdempotent(async (request: { token: string }) => request, {
  persistenceStore,
  config,
  dataIndexArgument: 0,
});`,
    // The issue's own calibration (see referenceSource): what it costs over
    // this floor is the least an implementation using the dependencies the
    // user named can add.
    'issue-reference': reference,
    'zod-mini-import': `${floor}
import * as z from 'zod/mini';
export const schema = z.object({ kind: z.string() });`,
    'zod-config-and-event': `${floor}
import { loadConfig } from ${lambda('config.ts')};
import { parseInvocation } from ${lambda('event.ts')};
export const config = loadConfig(process.env);
export const parse = parseInvocation;`,
  };
}

/** Bytes of the shipped bundle by package, for inputs the floor lacks. */
export function extraBytesByPackage(
  shipped: Metafile,
  floor: Metafile,
): { readonly package: string; readonly bytes: number }[] {
  const output = (m: Metafile) =>
    Object.entries(m.outputs).find(([name]) => name.endsWith('.mjs'))?.[1];
  const floorInputs = new Set(Object.keys(output(floor)?.inputs ?? {}));
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(
    output(shipped)?.inputs ?? {},
  )) {
    if (floorInputs.has(input) || bytesInOutput === 0) continue;
    const pkg =
      input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1] ??
      (input.startsWith('lambda/') ? 'lambda/ (our code)' : input);
    totals.set(pkg, (totals.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...totals]
    .map(([pkg, bytes]) => ({ package: pkg, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}
