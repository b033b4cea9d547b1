/**
 * A small evaluator for the CloudFormation intrinsics this template uses
 * (Ref, Fn::Join, Fn::Split, Fn::Select, Fn::Sub, Fn::If, Fn::GetAtt and the
 * condition functions), so tests can check what the parameters resolve to,
 * not only the template's shape. It follows CloudFormation's rules where they
 * matter here: a Number parameter's Ref is a string, a CommaDelimitedList's
 * Ref is a list, `AWS::NoValue` removes the property or list element.
 */

/** Parameter values as given on the command line (strings). */
export type ParameterValues = Record<string, string>;

interface Template {
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
}

const NO_VALUE = Symbol('AWS::NoValue');

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '111122223333',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'CodeBuildBatchRetry',
};

export class CfnEvaluator {
  readonly #params: Record<string, string | string[]>;
  readonly #conditions: Record<string, unknown>;

  constructor(template: Template, values: ParameterValues = {}) {
    this.#conditions = template.Conditions ?? {};
    this.#params = {};
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      const raw = values[name] ?? String(p.Default ?? '');
      this.#params[name] =
        p.Type === 'CommaDelimitedList' ? raw.split(',') : raw;
    }
  }

  /** Whether a named condition holds. */
  condition(name: string): boolean {
    const expression = this.#conditions[name];
    if (expression === undefined) throw new Error(`no condition ${name}`);
    return this.#truth(expression);
  }

  /** Evaluates a template value; `undefined` stands for AWS::NoValue. */
  evaluate(value: unknown): unknown {
    const result = this.#eval(value);
    return result === NO_VALUE ? undefined : result;
  }

  #truth(expression: unknown): boolean {
    const [fn, args] = single(expression);
    switch (fn) {
      case 'Condition':
        return this.condition(args as string);
      case 'Fn::Equals': {
        const [a, b] = args as [unknown, unknown];
        return String(this.#eval(a)) === String(this.#eval(b));
      }
      case 'Fn::Not':
        return !this.#truth((args as unknown[])[0]);
      case 'Fn::And':
        return (args as unknown[]).every((a) => this.#truth(a));
      case 'Fn::Or':
        return (args as unknown[]).some((a) => this.#truth(a));
      default:
        throw new Error(`unsupported condition function ${fn}`);
    }
  }

  #eval(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.#eval(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && isIntrinsic(keys[0] as string)) {
      return this.#intrinsic(...single(value));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = this.#eval(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  #intrinsic(fn: string, args: unknown): unknown {
    switch (fn) {
      case 'Ref': {
        const name = args as string;
        if (name === 'AWS::NoValue') return NO_VALUE;
        if (name in PSEUDO) return PSEUDO[name];
        if (name in this.#params) return this.#params[name];
        return `<${name}>`;
      }
      case 'Fn::GetAtt': {
        const [resource, attribute] = args as [string, string];
        return `<${resource}.${attribute}>`;
      }
      case 'Fn::Join': {
        const [delimiter, list] = args as [unknown, unknown];
        if (typeof delimiter !== 'string') {
          throw new Error('Fn::Join delimiter must be a literal string');
        }
        return strings(this.#eval(list)).join(delimiter);
      }
      case 'Fn::Split': {
        const [delimiter, source] = args as [unknown, unknown];
        if (typeof delimiter !== 'string') {
          throw new Error('Fn::Split delimiter must be a literal string');
        }
        return String(this.#eval(source)).split(delimiter);
      }
      case 'Fn::Select': {
        const [index, list] = args as [unknown, unknown];
        const items = strings(this.#eval(list));
        const i = Number(this.#eval(index));
        if (!(i in items))
          throw new Error(`Fn::Select index ${i} out of range`);
        return items[i];
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(args)
          ? (args as [unknown, Record<string, unknown>])
          : [args, {}];
        if (typeof text !== 'string') {
          throw new Error('Fn::Sub string must be a literal');
        }
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return String(this.#eval(vars[name]));
          return String(this.#intrinsic('Ref', name));
        });
      }
      case 'Fn::If': {
        const [name, then, otherwise] = args as [string, unknown, unknown];
        return this.#eval(this.condition(name) ? then : otherwise);
      }
      default:
        throw new Error(`unsupported intrinsic ${fn}`);
    }
  }
}

function isIntrinsic(key: string): boolean {
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::');
}

function single(value: unknown): [string, unknown] {
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length !== 1) throw new Error('not an intrinsic function');
  return entries[0] as [string, unknown];
}

function strings(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error('expected a list');
  return value.map(String);
}
