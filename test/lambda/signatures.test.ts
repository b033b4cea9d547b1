import { describe, expect, it } from 'vitest';
import {
  CONFIGURATION_MESSAGE,
  IMAGE_DENIED_MESSAGE,
  RETRY_PATTERNS_SIGNATURE,
  TRANSIENT_SIGNATURES,
  transientSignature,
} from '../../lambda/signatures.js';

// Realistic lines from CodeBuild contexts and build logs, by the signature
// each must be reported as.
const lines: Record<string, readonly string[]> = {
  'out-of-memory': [
    '<--- JS stacktrace --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    '[ERROR] java.lang.OutOfMemoryError: Java heap space',
    '/codebuild/output/tmp/script.sh: line 4:   312 Killed                  npm run build',
    'c++: fatal error: Killed signal terminated program cc1plus',
    'fatal: Out of memory, malloc failed (tried to allocate 104857600 bytes)\nerror: fork: Cannot allocate memory',
  ],
  'registry-rate-limit': [
    'CannotPullContainerError: Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit',
    'ERROR: failed to solve: node:20: failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/node/manifests/sha256:ab12: 429 Too Many Requests',
    'gh: API rate limit exceeded for installation ID 1234567. (HTTP 403)',
  ],
  dns: [
    "fatal: unable to access 'https://github.com/acme/web.git/': Could not resolve host: github.com",
    'npm ERR! request to https://registry.npmjs.org/react failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org',
    'pip._vendor.urllib3.exceptions.NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution',
    'java.net.UnknownHostException: repo.maven.apache.org',
  ],
  'connection-reset': [
    'npm ERR! code ECONNRESET',
    'curl: (56) OpenSSL SSL_read: Connection reset by peer, errno 104',
    'java.net.SocketException: Connection reset',
    'Error: socket hang up\n    at connResetException (node:internal/errors:720:14)',
  ],
  'network-timeout': [
    'Error response from daemon: Get "https://public.ecr.aws/v2/": net/http: TLS handshake timeout',
    'dial tcp 54.236.113.205:443: i/o timeout',
    'npm ERR! errno ETIMEDOUT',
    '[ERROR] Failed to execute goal on project api: java.net.SocketTimeoutException: Read timed out',
    'curl: (28) Failed to connect to github.com port 443 after 130812 ms: Connection timed out',
  ],
  'upstream-5xx': [
    "fatal: unable to access 'https://git.example.com/acme/web.git/': The requested URL returned error: 502",
    'Received status code 503 from server: Service Unavailable',
    'received unexpected HTTP status: 504 Gateway Time-out',
    'ERROR: failed to do request: Head "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/app/manifests/latest": 502 Bad Gateway',
  ],
  'package-manager-network': [
    'npm ERR! network This is a problem related to network connectivity.',
    'npm error network request to https://registry.npmjs.org/left-pad failed',
    'info There appears to be trouble with your network connection. Retrying...',
    '[ERROR] Failed to execute goal on project api: Could not transfer artifact org.slf4j:slf4j-api:pom:2.0.9 from/to central (https://repo.maven.apache.org/maven2): transfer failed',
    "   > Could not GET 'https://plugins.gradle.org/m2/com/gradle/gradle-enterprise-gradle-plugin/3.16/gradle-enterprise-gradle-plugin-3.16.pom'.",
  ],
  'git-transport': [
    'fatal: early EOF',
    'error: RPC failed; curl 92 HTTP/2 stream 5 was not closed cleanly: CANCEL (err 8)',
    'fatal: the remote end hung up unexpectedly',
    'fetch-pack: unexpected disconnect while reading sideband packet',
  ],
};

// What a genuine build or test failure prints: none of it is transient.
const ordinary = [
  'AssertionError: expected 1 to equal 2',
  '  1 failing',
  '[INFO] BUILD FAILURE',
  'Tests:       1 failed, 41 passed, 42 total',
  "src/app.ts(12,7): error TS2322: Type 'string' is not assignable to type 'number'.",
  '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:test (default-test) on project api: There are test failures.',
  'npm ERR! code ELIFECYCLE',
  '   > Could not find com.acme:lib:1.2.3.',
  'Error: connect ECONNREFUSED 127.0.0.1:5432',
  'FAIL src/killed-process.test.ts > kills the worker',
  'Error while executing command: npm test. Reason: exit status 1',
  'Error while executing command: ./run.sh. Reason: exit status 137',
];

describe('TRANSIENT_SIGNATURES', () => {
  it('has stable kebab-case names, one each', () => {
    const names = TRANSIENT_SIGNATURES.map((s) => s.name);
    expect(names).toEqual(Object.keys(lines));
    for (const name of names)
      expect(name).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
  });

  it('uses no stateful flags', () => {
    for (const { pattern } of TRANSIENT_SIGNATURES) {
      expect(pattern.global || pattern.sticky).toBe(false);
    }
  });
});

describe('transientSignature', () => {
  for (const [name, examples] of Object.entries(lines)) {
    it.each(examples)(`reports ${name} for %s`, (line) => {
      expect(transientSignature(line)).toBe(name);
    });
  }

  it.each(ordinary)('matches nothing in an ordinary failure: %s', (line) => {
    expect(transientSignature(line)).toBeUndefined();
  });

  it('prefers the more specific cause: an npm network error from DNS', () => {
    expect(
      transientSignature(
        'npm ERR! network request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org',
      ),
    ).toBe('dns');
  });

  it('reports RetryPatterns for the extra pattern, after the built-ins', () => {
    const extra = /flaky-service unavailable|Gradle daemon disappeared/;
    expect(
      transientSignature('Gradle build daemon disappeared unexpectedly', extra),
    ).toBeUndefined();
    expect(
      transientSignature('The Gradle daemon disappeared unexpectedly', extra),
    ).toBe(RETRY_PATTERNS_SIGNATURE);
    expect(transientSignature('fatal: early EOF', /early/)).toBe(
      'git-transport',
    );
    expect(transientSignature('1 failing', extra)).toBeUndefined();
  });

  it('leaves a global or sticky extra pattern untouched and unanchored', () => {
    for (const extra of [/flaky/g, /flaky/y, /flaky/gi]) {
      extra.lastIndex = 3;
      for (let i = 0; i < 3; i++) {
        expect(transientSignature('a flaky test', extra)).toBe('RetryPatterns');
      }
      expect(extra.lastIndex).toBe(3);
    }
  });

  it('stays fast on long pathological lines', () => {
    const line = `${'a'.repeat(200_000)}${' timed'.repeat(20_000)}!`;
    const started = performance.now();
    expect(transientSignature(line)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('configuration patterns', () => {
  it.each([
    'Phase context status code: YAML_FILE_ERROR Message: wrong number of container tags, expected 1',
    'Invalid buildspec: line 3: mapping values are not allowed in this context',
    'no matching artifact paths found',
    'CLIENT_ERROR: no matching base directory path found for dist',
  ])('CONFIGURATION_MESSAGE matches %s', (message) => {
    expect(CONFIGURATION_MESSAGE.test(message)).toBe(true);
  });

  it.each([
    "CannotPullContainerError: Error response from daemon: pull access denied for acme/builder, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    'CannotPullContainerError: Error response from daemon: manifest for public.ecr.aws/acme/builder:v9 not found: manifest unknown: Requested image not found',
    'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/codebuild-web/AWSCodeBuild is not authorized to perform: ecr:GetAuthorizationToken',
  ])('IMAGE_DENIED_MESSAGE matches %s', (message) => {
    expect(IMAGE_DENIED_MESSAGE.test(message)).toBe(true);
  });

  it.each(ordinary)('neither matches an ordinary failure: %s', (line) => {
    expect(CONFIGURATION_MESSAGE.test(line)).toBe(false);
  });
});
