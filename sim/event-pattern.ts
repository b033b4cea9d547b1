/**
 * EventBridge event-pattern matching, as documented in the EventBridge user
 * guide (event patterns, arrays, null values and empty strings, content
 * filtering, comparison operators):
 *
 * - a pattern has the structure of the events it matches; every field the
 *   pattern names must match (AND), and a leaf is an array of alternatives
 *   (OR);
 * - when the event's value is an array, the leaf matches if any element does;
 * - literal strings, numbers, booleans and `null` match exactly (null and ""
 *   are different);
 * - content filters: `prefix`, `suffix` (both with `equals-ignore-case`),
 *   `equals-ignore-case`, `anything-but` (value, list, `prefix`, `suffix`,
 *   `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `wildcard`,
 *   `cidr`, and `$or` between sets of fields.
 *
 * The rule template uses literal lists under nested objects; the rest is
 * here so patterns a user writes by hand behave as they would on AWS.
 */

/** A pattern as written in a rule (`EventPattern`), object or JSON text. */
export type EventPattern = Readonly<Record<string, unknown>>;

/** Thrown for patterns EventBridge would refuse. */
export class InvalidPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPatternError';
  }
}

const MISSING = Symbol('missing');
type Value = unknown | typeof MISSING;

/**
 * True when `event` matches `pattern`.
 *
 * @example
 * matchesPattern({ source: ['aws.codebuild'] }, { source: 'aws.codebuild' }); // true
 */
export function matchesPattern(
  pattern: EventPattern | string,
  event: unknown,
): boolean {
  const parsed =
    typeof pattern === 'string' ? (JSON.parse(pattern) as unknown) : pattern;
  if (!isObject(parsed)) {
    throw new InvalidPatternError('an event pattern must be a JSON object');
  }
  return matchObject(parsed, event);
}

function matchObject(pattern: Record<string, unknown>, event: Value): boolean {
  for (const [key, rule] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(rule) || rule.length < 2) {
        throw new InvalidPatternError(
          '$or needs a list of at least 2 patterns',
        );
      }
      const ok = rule.some((alternative) => {
        if (!isObject(alternative)) {
          throw new InvalidPatternError('$or alternatives must be objects');
        }
        return matchObject(alternative, event);
      });
      if (!ok) return false;
      continue;
    }
    const value = isObject(event) && key in event ? event[key] : MISSING;
    if (Array.isArray(rule)) {
      if (!matchLeaf(rule, value)) return false;
    } else if (isObject(rule)) {
      // A nested pattern needs a nested object; arrays of objects match if
      // any element does.
      if (Array.isArray(value)) {
        if (!value.some((item) => isObject(item) && matchObject(rule, item))) {
          return false;
        }
      } else if (!isObject(value) || !matchObject(rule, value)) {
        return false;
      }
    } else {
      throw new InvalidPatternError(
        `"${key}": a pattern value must be an array or an object`,
      );
    }
  }
  return true;
}

function matchLeaf(alternatives: readonly unknown[], value: Value): boolean {
  if (alternatives.length === 0) {
    throw new InvalidPatternError('a pattern array must not be empty');
  }
  // `exists` looks at presence only; everything else at the value(s).
  const candidates: Value[] =
    value === MISSING ? [] : Array.isArray(value) ? value : [value];
  return alternatives.some((alt) => {
    if (isObject(alt)) {
      if ('exists' in alt) {
        if (typeof alt.exists !== 'boolean') {
          throw new InvalidPatternError('exists takes true or false');
        }
        // Leaf values only: an object is not a leaf.
        const present =
          value !== MISSING &&
          !isObject(value) &&
          !(Array.isArray(value) && value.length === 0);
        return alt.exists === present;
      }
      return candidates.some((c) => matchFilter(alt, c));
    }
    return candidates.some((c) => matchLiteral(alt, c));
  });
}

function matchLiteral(expected: unknown, actual: unknown): boolean {
  if (expected === null) return actual === null;
  if (typeof expected === 'number') {
    return typeof actual === 'number' && actual === expected;
  }
  if (typeof expected === 'string' || typeof expected === 'boolean') {
    return actual === expected;
  }
  throw new InvalidPatternError(
    `unsupported literal in pattern: ${JSON.stringify(expected)}`,
  );
}

function matchFilter(filter: Record<string, unknown>, actual: unknown) {
  const keys = Object.keys(filter);
  if (keys.length !== 1) {
    throw new InvalidPatternError(
      `a content filter has exactly one operator, got ${keys.join(', ')}`,
    );
  }
  const [op] = keys as [string];
  const arg = filter[op];
  switch (op) {
    case 'prefix':
      return matchAffix(arg, actual, 'prefix');
    case 'suffix':
      return matchAffix(arg, actual, 'suffix');
    case 'equals-ignore-case':
      return (
        typeof arg === 'string' &&
        typeof actual === 'string' &&
        actual.toLowerCase() === arg.toLowerCase()
      );
    case 'wildcard':
      return typeof actual === 'string' && wildcard(stringArg(op, arg), actual);
    case 'anything-but':
      return anythingBut(arg, actual);
    case 'numeric':
      return numeric(arg, actual);
    case 'cidr':
      return typeof actual === 'string' && cidr(stringArg(op, arg), actual);
    default:
      throw new InvalidPatternError(`unsupported operator ${op}`);
  }
}

function matchAffix(arg: unknown, actual: unknown, kind: 'prefix' | 'suffix') {
  if (typeof actual !== 'string') return false;
  let expected: string;
  let ignoreCase = false;
  if (typeof arg === 'string') {
    expected = arg;
  } else if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string') {
    expected = arg['equals-ignore-case'];
    ignoreCase = true;
  } else {
    throw new InvalidPatternError(`${kind} takes a string`);
  }
  const a = ignoreCase ? actual.toLowerCase() : actual;
  const e = ignoreCase ? expected.toLowerCase() : expected;
  return kind === 'prefix' ? a.startsWith(e) : a.endsWith(e);
}

function anythingBut(arg: unknown, actual: unknown): boolean {
  if (Array.isArray(arg)) {
    return !arg.some((v) => matchLiteral(v, actual));
  }
  if (isObject(arg)) {
    // anything-but with a nested filter: match values the filter rejects,
    // among values of the filter's type (strings).
    if (typeof actual !== 'string') return false;
    const [op] = Object.keys(arg);
    const inner = arg[op as string];
    if (op === 'equals-ignore-case' && Array.isArray(inner)) {
      return !inner.some(
        (v) =>
          typeof v === 'string' && v.toLowerCase() === actual.toLowerCase(),
      );
    }
    return !matchFilter(arg, actual);
  }
  return !matchLiteral(arg, actual);
}

const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

function numeric(arg: unknown, actual: unknown): boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0) {
    throw new InvalidPatternError('numeric takes operator/value pairs');
  }
  if (typeof actual !== 'number') return false;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    if (typeof op !== 'string' || !NUMERIC_OPS.has(op)) {
      throw new InvalidPatternError(`numeric: bad operator ${String(op)}`);
    }
    if (typeof bound !== 'number') {
      throw new InvalidPatternError('numeric: bounds must be numbers');
    }
    const ok =
      op === '<'
        ? actual < bound
        : op === '<='
          ? actual <= bound
          : op === '='
            ? actual === bound
            : op === '>'
              ? actual > bound
              : actual >= bound;
    if (!ok) return false;
  }
  return true;
}

function wildcard(pattern: string, actual: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(actual);
}

function cidr(block: string, ip: string): boolean {
  const [base, bitsText] = block.split('/');
  const bits = Number(bitsText ?? '32');
  const a = ipv4(base ?? '');
  const b = ipv4(ip);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) {
    return false;
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

function stringArg(op: string, arg: unknown): string {
  if (typeof arg !== 'string') {
    throw new InvalidPatternError(`${op} takes a string`);
  }
  return arg;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
