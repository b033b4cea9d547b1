import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';

/** Project-local scratch space (gitignored); nothing goes to the home dir. */
export const SCRATCH = fileURLToPath(
  new URL('../../.scratch/', import.meta.url),
);

/**
 * Points temp files and the CDK home at the scratch folder and returns an
 * emptied cloud assembly directory for `label` (one label per synth at a
 * time; reruns reuse it, so the scratch folder does not grow).
 */
export function scratchOutdir(label: string): string {
  const tmp = join(SCRATCH, 'tmp');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(join(SCRATCH, 'cdk-home'), { recursive: true });
  process.env.TMPDIR = tmp;
  process.env.CDK_HOME = join(SCRATCH, 'cdk-home');
  const outdir = join(SCRATCH, 'test-cdk.out', label);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  return outdir;
}

/** A violation in CDK's policy validation report. */
export interface ReportedViolation {
  readonly pluginName: string;
  readonly ruleName: string;
  readonly severity?: string;
  readonly paths: readonly string[];
}

interface ValidationReport {
  readonly pluginReports?: readonly {
    readonly pluginName?: string;
    readonly violations?: readonly {
      readonly ruleName: string;
      readonly severity?: string;
      readonly violatingConstructs?: readonly {
        readonly constructPath?: string;
      }[];
    }[];
  }[];
}

/**
 * Every unacknowledged violation (errors and warnings) in the assembly's
 * validation report. Synth throws on errors already; this also catches
 * warnings.
 */
export function reportedViolations(
  assembly: CloudAssembly,
): ReportedViolation[] {
  const report = JSON.parse(
    readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
  return (report.pluginReports ?? []).flatMap((plugin) =>
    (plugin.violations ?? []).map((v) => ({
      pluginName: plugin.pluginName ?? '?',
      ruleName: v.ruleName,
      severity: v.severity,
      paths: (v.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
    })),
  );
}
