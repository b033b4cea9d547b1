// Text signatures: which failure messages and log lines point at a passing
// cause (transient) and which at a broken setup (configuration). Plain
// alternations of literals, so matching stays linear in the text's length.

/** A named pattern that marks a failure as transient. */
export interface Signature {
  /** Kebab-case and stable: it appears in logs, metrics and the docs. */
  readonly name: string;
  readonly pattern: RegExp;
}

/** The name a match of the user's `RetryPatterns` setting is reported as. */
export const RETRY_PATTERNS_SIGNATURE = 'RetryPatterns';

/**
 * Built-in transient signatures, tried in order: the more specific cause
 * first (an npm network error caused by DNS is reported as `dns`). A bare
 * `exit status 137` is deliberately absent: exit codes are the
 * `RetryExitCodes` setting's to decide.
 */
export const TRANSIENT_SIGNATURES: readonly Signature[] = [
  {
    name: 'out-of-memory',
    // Case-sensitive: "Killed" is the shell's report of a SIGKILLed job
    // ("line 4:  312 Killed  npm test") or gcc's, not any "killed".
    pattern:
      /JavaScript heap out of memory|OutOfMemoryError|Cannot allocate memory|\d Killed\s|Killed signal terminated program/,
  },
  {
    name: 'registry-rate-limit',
    pattern: /too ?many ?requests|pull rate limit|rate limit exceeded/i,
  },
  {
    name: 'dns',
    pattern:
      /Could not resolve host|Temporary failure in name resolution|EAI_AGAIN|getaddrinfo ENOTFOUND|UnknownHostException/i,
  },
  {
    name: 'connection-reset',
    pattern: /ECONNRESET|connection reset|socket hang up/i,
  },
  {
    name: 'network-timeout',
    pattern:
      /E(?:SOCKET)?TIMEDOUT|i\/o timeout|TLS handshake timeout|(?:read|connect|connection) timed out|Client\.Timeout exceeded/i,
  },
  {
    name: 'upstream-5xx',
    pattern:
      /Bad Gateway|Service (?:Temporarily )?Unavailable|Gateway Time-?out|(?:status code:?|error:|HTTP) 50[234]\b/i,
  },
  {
    name: 'package-manager-network',
    // Case-sensitive: the tools' own spellings; Gradle's "Could not GET" is
    // a transfer, its "Could not find" a missing artifact.
    pattern:
      /npm (?:ERR!|error) network|trouble with your network connection|Could not transfer artifact|Could not (?:GET|HEAD) '/,
  },
  {
    name: 'git-transport',
    pattern:
      /early EOF|RPC failed|remote end hung up unexpectedly|unexpected disconnect while reading sideband/i,
  },
];

/**
 * The name of the first built-in signature `text` matches, else
 * `RetryPatterns` if it matches `extra`, else undefined.
 *
 * @example
 * transientSignature('npm ERR! code ECONNRESET'); // 'connection-reset'
 */
export function transientSignature(
  text: string,
  extra?: RegExp,
): string | undefined {
  const hit = TRANSIENT_SIGNATURES.find((s) => s.pattern.test(text));
  if (hit) return hit.name;
  return extra && matches(extra, text) ? RETRY_PATTERNS_SIGNATURE : undefined;
}

// A `g` or `y` RegExp keeps state in lastIndex, so test() would skip text or
// anchor; a flag-free copy leaves the caller's RegExp untouched.
function matches(re: RegExp, text: string): boolean {
  const plain =
    re.global || re.sticky
      ? new RegExp(re.source, re.flags.replace(/[gy]/g, ''))
      : re;
  return plain.test(text);
}

/**
 * Status codes whose context is a broken project or buildspec whatever the
 * message says: retrying cannot help.
 */
export const CONFIGURATION_STATUS_CODES: ReadonlySet<string> = new Set([
  'YAML_FILE_ERROR',
  'VPC_CLIENT_ERROR',
]);

/**
 * Messages of a broken buildspec or batchspec, or of artifacts the
 * buildspec names but the build never produced.
 */
export const CONFIGURATION_MESSAGE =
  /YAML_FILE_ERROR|VPC_CLIENT_ERROR|invalid (?:build|batch) ?spec|(?:build|batch) ?spec (?:parse|parsing) error|no matching (?:artifact paths|base directory path) found/i;

/** The status code of a build image that could not be pulled. */
export const PULL_IMAGE_STATUS_CODE = 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE';

/**
 * A pull failure whose image is missing or not ours to pull. Checked only
 * on pull failures, and only when no transient signature matched: a rate
 * limit or a network error while pulling is not configuration.
 */
export const IMAGE_DENIED_MESSAGE =
  /repository does not exist|may require 'docker login'|pull access denied|manifest unknown|not found|AccessDenied|not authorized|no basic auth credentials/i;
