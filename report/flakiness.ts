/**
 * `npm run report`: how flaky the retried CodeBuild batches were, from the
 * service's outcome history.
 *
 *     npm run report -- --table NAME [--region R] [--days 7] [--project P]
 *                       [--json | --markdown]
 *     npm run report -- --stack NAME ...   (the table from the stack's outputs)
 *
 * Without `--table` or `--stack`, the table comes from the stack named
 * `CodeBuildBatchRetry` (the stack's default name). Credentials, region and
 * endpoints come from the standard AWS chain and variables
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_CLOUDFORMATION`, …), so it
 * runs unchanged against local emulators. Exit codes: 0 report printed,
 * 1 AWS refused or failed, 2 bad command line.
 *
 * `--json` prints one object (stable keys; absent figures are `null`):
 *
 *     { table, since, generatedAt, days, project,      // project: null = all
 *       totals: Figures,
 *       projects: [{ projectName, ...Figures,
 *                    groups: [{ identifier, ...Figures }] }],
 *       flakiest: [{ projectName, identifier, healed, retried, healRate }] }
 *
 *     Figures = { failures, retried, healed, failedAgain, stopped, gone,
 *       pending, healRate,                 // healed / retries with an outcome
 *       notRetried, notRetriedByClass: { configuration, timeout,
 *         infrastructure, source, transient, script, unknown },
 *       exhausted,
 *       failureToRetrySeconds: { count, p50, p95 } }
 *
 * Times are ISO 8601; `days` is the window; projects and groups come most
 * failures first; `flakiest` lists at most ten groups, most healed first.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CloudFormationClient,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import {
  FAILURE_CLASSES,
  PROJECT_NAME_PATTERN,
  SETTINGS,
  STACK_ID,
  TABLE,
} from '../lambda/contract.js';
import { HISTORY_KEY_PREFIX } from '../lambda/history-store.js';
import {
  aggregate,
  type Figures,
  type FlakinessReport,
  type ReportEntry,
} from './aggregate.js';

/** Where {@link main} writes: the report, and errors. */
export interface Output {
  write(text: string): void;
  error(text: string): void;
}

/** Environment variables, as `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The stack output that names the table. */
export const TABLE_OUTPUT_KEY = 'TableName';

const USAGE = `Usage: npm run report -- [--table NAME | --stack NAME] [--region R]
         [--days N] [--project P] [--json | --markdown]
  --table NAME    the service's DynamoDB table
  --stack NAME    find the table in this stack's outputs (default ${STACK_ID})
  --region R      AWS region (default: AWS_REGION, then the profile's)
  --days N        failures of the last N days, 1-${SETTINGS.historyDays.max} (default 7)
  --project P     one CodeBuild project only
  --json          machine-readable output
  --markdown      Markdown tables
`;

interface Options {
  readonly table?: string;
  readonly stack: string;
  readonly stackGiven: boolean;
  readonly region?: string;
  readonly days: number;
  readonly project?: string;
  readonly format: 'text' | 'json' | 'markdown';
}

/**
 * Runs the CLI: parses `argv` (without node and the script), reads the
 * history with the SDK configured from `env`, writes the report to `out`,
 * and resolves to the exit code. Never throws and never exits, so a test
 * can call it in-process.
 *
 * @example
 * const code = await main(['--table', 't', '--json'], process.env, {
 *   write: (s) => process.stdout.write(s),
 *   error: (s) => process.stderr.write(s),
 * });
 */
export async function main(
  argv: readonly string[],
  env: Env,
  out: Output,
  /** The end of the window, epoch ms (a simulation passes its own clock). */
  now: number = Date.now(),
): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    out.error(
      `report: ${(error as Error).message}\nOptions: npm run report -- --help\n`,
    );
    return 2;
  }
  if (options === 'help') {
    out.write(USAGE);
    return 0;
  }
  try {
    const table = options.table ?? (await tableOfStack(options, env));
    const entries = await scanHistory(table, options, env, now);
    const report = aggregate(entries, {
      now,
      days: options.days,
      ...(options.project === undefined ? {} : { project: options.project }),
    });
    out.write(render(table, report, options.format));
    return 0;
  } catch (error) {
    out.error(`report: ${describe(error)}\n`);
    return 1;
  }
}

/** The options of `argv`; an error's message names the bad option. */
function parseOptions(argv: readonly string[]): Options | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs' first sentence names the option; the rest is advice on
    // positionals that do not apply here.
    throw new Error((error as Error).message.split('. ')[0]);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.table !== undefined && v.stack !== undefined) {
    throw new Error('--table and --stack exclude each other');
  }
  if (v.json && v.markdown) {
    throw new Error('--json and --markdown exclude each other');
  }
  for (const name of ['table', 'stack', 'region'] as const) {
    if (v[name]?.trim() === '') throw new Error(`--${name} is empty`);
  }
  const max = SETTINGS.historyDays.max;
  const days = Number(v.days);
  if (!/^\d+$/.test(v.days) || days < 1 || days > max) {
    throw new Error(`--days must be a whole number 1-${max}: "${v.days}"`);
  }
  if (
    v.project !== undefined &&
    !new RegExp(PROJECT_NAME_PATTERN).test(v.project)
  ) {
    throw new Error(`--project is not a project name: "${v.project}"`);
  }
  return {
    ...(v.table === undefined ? {} : { table: v.table }),
    stack: v.stack ?? STACK_ID,
    stackGiven: v.stack !== undefined,
    ...(v.region === undefined ? {} : { region: v.region }),
    days,
    ...(v.project === undefined ? {} : { project: v.project }),
    format: v.json ? 'json' : v.markdown ? 'markdown' : 'text',
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      table: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      days: { type: 'string', default: '7' },
      project: { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/**
 * Client settings from `env`, as the SDK would take them from the process:
 * `main` may run with another environment than its process (a test, local
 * emulators). What `env` does not settle, the SDK's own chain resolves
 * (profiles, SSO, instance roles).
 */
function clientConfig(env: Env, region: string | undefined, service: string) {
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const resolvedRegion = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret } = env;
  return {
    ...(resolvedRegion ? { region: resolvedRegion } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {}),
    ...(id && secret
      ? {
          credentials: {
            accessKeyId: id,
            secretAccessKey: secret,
            ...(env.AWS_SESSION_TOKEN
              ? { sessionToken: env.AWS_SESSION_TOKEN }
              : {}),
          },
        }
      : {}),
  };
}

async function tableOfStack(options: Options, env: Env): Promise<string> {
  const client = new CloudFormationClient(
    clientConfig(env, options.region, 'CLOUDFORMATION'),
  );
  try {
    const { Stacks } = await client.send(
      new DescribeStacksCommand({ StackName: options.stack }),
    );
    const output = Stacks?.[0]?.Outputs?.find(
      (o) => o.OutputKey === TABLE_OUTPUT_KEY,
    );
    if (!output?.OutputValue) {
      throw new Error(`no ${TABLE_OUTPUT_KEY} output`);
    }
    return output.OutputValue;
  } catch (error) {
    // A stack by default name surprises less with the options named.
    const hint = options.stackGiven ? '' : ' (give --table or --stack)';
    throw new Error(`stack ${options.stack}: ${describe(error)}${hint}`);
  } finally {
    client.destroy();
  }
}

/**
 * The history entries of the window, one page after another. The filter
 * skips the table's budget and idempotency items; DynamoDB still reads
 * (and bills) them, which a report run now and then can afford.
 */
async function scanHistory(
  table: string,
  options: Options,
  env: Env,
  now: number,
): Promise<ReportEntry[]> {
  const client = new DynamoDBClient(
    clientConfig(env, options.region, 'DYNAMODB'),
  );
  const doc = DynamoDBDocumentClient.from(client);
  const attributes = [
    'projectName',
    'decision',
    'failedGroups',
    'failedAt',
    'retriedAt',
    'outcome',
  ] as const;
  // Names throughout: some attributes are DynamoDB reserved words.
  const names: Record<string, string> = { '#id': TABLE.partitionKey };
  for (const a of attributes) names[`#${a}`] = a;
  const filters = ['begins_with(#id, :prefix)', '#failedAt >= :since'];
  const values: Record<string, unknown> = {
    ':prefix': HISTORY_KEY_PREFIX,
    ':since': now - options.days * 24 * 3600 * 1000,
  };
  if (options.project !== undefined) {
    filters.push('#projectName = :project');
    values[':project'] = options.project;
  }
  const entries: ReportEntry[] = [];
  try {
    for await (const page of paginateScan(
      { client: doc },
      {
        TableName: table,
        FilterExpression: filters.join(' AND '),
        ProjectionExpression: attributes.map((a) => `#${a}`).join(', '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    )) {
      for (const item of page.Items ?? []) entries.push(item as ReportEntry);
    }
    return entries;
  } catch (error) {
    throw new Error(`table ${table}: ${describe(error)}`);
  } finally {
    client.destroy();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function render(
  table: string,
  report: FlakinessReport,
  format: Options['format'],
): string {
  if (format === 'json') {
    return `${JSON.stringify({ table, ...report }, null, 2)}\n`;
  }
  const scope = report.project ?? 'all projects';
  const title = `Flakiness of ${table}, ${scope}, last ${report.days} days (since ${report.since})`;
  const sections = tables(report);
  if (format === 'markdown') {
    const parts = [`# ${title}`];
    if (sections.length === 0) parts.push('No failures in the window.');
    for (const s of sections) {
      parts.push(`## ${s.title}`, markdownTable(s.headers, s.rows));
    }
    return `${parts.join('\n\n')}\n`;
  }
  const parts = [title];
  if (sections.length === 0) parts.push('No failures in the window.');
  for (const s of sections) {
    parts.push(`${s.title}\n${textTable(s.headers, s.rows)}`);
  }
  return `${parts.join('\n\n')}\n`;
}

interface Section {
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const FIGURE_HEADERS = [
  'failures',
  'retried',
  'healed',
  'heal rate',
  'failed again',
  'not retried (by class)',
  'exhausted',
  'p50 s',
  'p95 s',
];

/** One section per project (its total, then its groups), then the flakiest. */
function tables(report: FlakinessReport): Section[] {
  const sections: Section[] = report.projects.map((p) => ({
    title: p.projectName,
    headers: ['build group', ...FIGURE_HEADERS],
    rows: [
      ['(all)', ...figureCells(p)],
      ...p.groups.map((g) => [g.identifier, ...figureCells(g)]),
    ],
  }));
  if (report.flakiest.length > 0) {
    sections.push({
      title: 'Flakiest build groups',
      headers: [
        '#',
        'project',
        'build group',
        'healed',
        'retried',
        'heal rate',
      ],
      rows: report.flakiest.map((g, i) => [
        String(i + 1),
        g.projectName,
        g.identifier,
        String(g.healed),
        String(g.retried),
        rate(g.healRate),
      ]),
    });
  }
  return sections;
}

function figureCells(f: Figures): string[] {
  const byClass = FAILURE_CLASSES.filter((c) => f.notRetriedByClass[c] > 0)
    .map((c) => `${c} ${f.notRetriedByClass[c]}`)
    .join(', ');
  return [
    String(f.failures),
    String(f.retried),
    String(f.healed),
    rate(f.healRate),
    String(f.failedAgain),
    byClass ? `${f.notRetried} (${byClass})` : String(f.notRetried),
    String(f.exhausted),
    secondsText(f.failureToRetrySeconds.p50),
    secondsText(f.failureToRetrySeconds.p95),
  ];
}

function rate(value: number | null): string {
  return value === null ? '-' : `${Math.round(value * 100)}%`;
}

function secondsText(value: number | null): string {
  if (value === null) return '-';
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function textTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [headers, ...rows].map((r) => `  ${line(r)}`).join('\n');
}

function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  // A pipe in a group's name would end its cell.
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [
    line(headers),
    line(headers.map(() => '---')),
    ...rows.map(line),
  ].join('\n');
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  process.exitCode = await main(process.argv.slice(2), process.env, {
    write: (text) => process.stdout.write(text),
    error: (text) => process.stderr.write(text),
  });
}
