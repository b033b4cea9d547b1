/**
 * EventBridge event-pattern matching for exact values, as the user guide
 * describes it: every field a pattern names must be in the event and match
 * (AND, same nesting); a leaf is an array of alternatives (OR) compared
 * exactly (`null` and `""` kept apart); an array value matches if any element
 * does. Content filters (`prefix`, `numeric`...) and `$or` are refused with
 * {@link InvalidPatternError}: no template here uses them, and a pattern the
 * simulation cannot match as AWS would must fail loudly.
 */

/** A pattern as written in a rule (`EventPattern`), as an object. */
export type EventPattern = Readonly<Record<string, unknown>>;

/** Thrown for patterns EventBridge would refuse, or this matcher cannot match. */
export class InvalidPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPatternError';
  }
}

/**
 * True when `event` matches `pattern` (an object, or its JSON text as a
 * CloudFormation template may hold it).
 *
 * @example
 * matchesPattern({ source: ['aws.codebuild'] }, { source: 'aws.codebuild' }); // true
 */
export function matchesPattern(
  pattern: EventPattern | string,
  event: unknown,
): boolean {
  const parsed: unknown =
    typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
  if (!isObject(parsed)) {
    throw new InvalidPatternError('an event pattern must be a JSON object');
  }
  return matchObject(parsed, event);
}

// Checks the whole pattern even after a mismatch, so an invalid pattern is
// refused whatever event comes first.
function matchObject(
  pattern: Record<string, unknown>,
  event: unknown,
): boolean {
  let matched = true;
  for (const [key, rule] of Object.entries(pattern)) {
    const present = isObject(event) && Object.hasOwn(event, key);
    const value = present ? event[key] : undefined;
    if (isObject(rule)) {
      matched =
        matchObject(rule, isObject(value) ? value : undefined) && matched;
    } else if (Array.isArray(rule)) {
      matched = matchLeaf(key, rule, present, value) && matched;
    } else {
      throw new InvalidPatternError(
        `"${key}": a pattern value must be an array or an object`,
      );
    }
  }
  return matched && isObject(event);
}

function matchLeaf(
  key: string,
  alternatives: readonly unknown[],
  present: boolean,
  value: unknown,
): boolean {
  if (alternatives.length === 0) {
    throw new InvalidPatternError(
      `"${key}": a pattern array must not be empty`,
    );
  }
  for (const alternative of alternatives) {
    if (alternative !== null && typeof alternative === 'object') {
      throw new InvalidPatternError(
        `"${key}": only exact values are supported, not ${JSON.stringify(alternative)}`,
      );
    }
  }
  if (!present) return false;
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => alternatives.includes(v));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
