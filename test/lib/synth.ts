import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';

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
