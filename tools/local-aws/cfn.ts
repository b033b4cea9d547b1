/**
 * What CloudFormation does with the synthesized template before anything
 * runs: validate parameter values, evaluate conditions, and resolve the
 * intrinsic functions the template uses. Physical names are made up as
 * CloudFormation makes them (`<stack>-<logicalId>-<suffix>`).
 */
import { createHash } from 'node:crypto';
import { STACK_ID } from '../../lambda/contract.js';
import { ACCOUNT, REGION } from './environment.js';

/** The parts of a template the resolver reads. */
export interface Template {
  readonly Parameters?: Readonly<Record<string, ParameterDefinition>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Resources: Readonly<Record<string, ResourceDefinition>>;
}

interface ParameterDefinition {
  readonly Type: string;
  readonly Default?: unknown;
  readonly AllowedValues?: readonly unknown[];
  readonly AllowedPattern?: string;
  readonly MinValue?: number;
  readonly MaxValue?: number;
}

/** A template resource. */
export interface ResourceDefinition {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Condition?: string;
}

/** A parameter value CloudFormation would refuse. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

type StackKey = 'stackName' | 'account' | 'region' | 'partition';

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves a template as a stack create with these parameter values would,
 * in the local account and region.
 *
 * @example
 * const cfn = new CfnResolver(template, { MaxRetries: '3' });
 * cfn.resolve(template.Resources.Fn.Properties.Environment); // plain values
 */
export class CfnResolver {
  /** Where the stack is "deployed". */
  readonly environment: Readonly<Record<StackKey, string>>;
  /** Effective parameter values (strings, or lists for list types). */
  readonly parameters: Readonly<Record<string, string | string[]>>;
  readonly #conditions = new Map<string, boolean>();

  constructor(
    readonly template: Template,
    overrides: Readonly<Record<string, string>> = {},
    stackName: string = STACK_ID,
  ) {
    const where = { account: ACCOUNT, region: REGION, partition: 'aws' };
    this.environment = { stackName, ...where };
    const definitions = template.Parameters ?? {};
    for (const name of Object.keys(overrides)) {
      if (!(name in definitions)) {
        throw new ParameterError(`Parameters: [${name}] do not exist`);
      }
    }
    const parameters: Record<string, string | string[]> = {};
    for (const [name, def] of Object.entries(definitions)) {
      if (def.Type.startsWith('AWS::SSM::Parameter::Value')) {
        parameters[name] = 'ssm-value';
        continue;
      }
      const fallback = def.Default === undefined ? [] : [def.Default];
      const raw = overrides[name] ?? fallback.flat().join(',');
      if (overrides[name] === undefined && def.Default === undefined) {
        throw new ParameterError(`Parameters: [${name}] must have values`);
      }
      parameters[name] = validateParameter(name, def, raw);
    }
    this.parameters = parameters;
  }

  /** Whether the named condition holds. */
  condition(name: string): boolean {
    const cached = this.#conditions.get(name);
    if (cached !== undefined) return cached;
    const expression = this.template.Conditions?.[name];
    if (expression === undefined) throw new Error(`no condition ${name}`);
    const value = this.#truth(expression);
    this.#conditions.set(name, value);
    return value;
  }

  /** Whether a resource exists (no Condition, or its Condition holds). */
  exists(logicalId: string): boolean {
    const resource = this.template.Resources[logicalId];
    if (!resource) return false;
    return resource.Condition ? this.condition(resource.Condition) : true;
  }

  /** A value with every intrinsic resolved; `undefined` for AWS::NoValue. */
  resolve(value: unknown): unknown {
    const result = this.#eval(value);
    return result === NO_VALUE ? undefined : result;
  }

  /** The physical name CloudFormation would give a resource. */
  physicalId(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId}`);
    const suffix = createHash('sha256')
      .update(`${this.environment.stackName}/${logicalId}`)
      .digest('hex')
      .slice(0, 12)
      .toUpperCase();
    const name = `${this.environment.stackName}-${logicalId}-${suffix}`;
    if (resource.Type === 'AWS::SQS::Queue') {
      return `https://sqs.${this.environment.region}.amazonaws.com/${this.environment.account}/${name}`;
    }
    return name;
  }

  /** Fn::GetAtt for the attributes the template uses. */
  attribute(logicalId: string, attribute: string): string {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId}`);
    const { partition, region, account } = this.environment;
    const name = this.physicalId(logicalId);
    if (attribute !== 'Arn') return `${name}.${attribute}`;
    const service = resource.Type.split('::')[1]?.toLowerCase();
    const resourcePart: Record<string, string> = {
      'AWS::Lambda::Function': `function:${name}`,
      'AWS::SQS::Queue': `${name.split('/').pop()}`,
      'AWS::DynamoDB::Table': `table/${name}`,
      'AWS::DynamoDB::GlobalTable': `table/${name}`,
      'AWS::IAM::Role': `role/${name}`,
      'AWS::Logs::LogGroup': `log-group:${name}:*`,
      'AWS::Events::Rule': `rule/${name}`,
    };
    // IAM is global: its ARNs have no region.
    const where = service === 'iam' ? `:${account}` : `${region}:${account}`;
    return `arn:${partition}:${service}:${where}:${resourcePart[resource.Type] ?? name}`;
  }

  #pseudo(name: string): string | undefined {
    const { stackName, account, region, partition } = this.environment;
    return {
      'AWS::Partition': partition,
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::StackName': stackName,
      'AWS::StackId': `arn:${partition}:cloudformation:${region}:${account}:stack/${stackName}/00000000-0000-4000-8000-000000000000`,
      'AWS::URLSuffix': 'amazonaws.com',
    }[name];
  }

  #truth(expression: unknown): boolean {
    const [fn, args] = single(expression);
    switch (fn) {
      case 'Condition':
        return this.condition(args as string);
      case 'Fn::Equals': {
        const [a, b] = args as [unknown, unknown];
        return scalarText(this.#eval(a)) === scalarText(this.#eval(b));
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

  #ref(name: string): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const pseudo = this.#pseudo(name);
    if (pseudo !== undefined) return pseudo;
    if (name in this.parameters) return this.parameters[name];
    // Ref of a function or a table is its name; of a queue, its URL.
    if (name in this.template.Resources) return this.physicalId(name);
    throw new Error(`unresolvable Ref ${name}`);
  }

  #intrinsic(fn: string, args: unknown): unknown {
    switch (fn) {
      case 'Ref':
        return this.#ref(args as string);
      case 'Fn::GetAtt': {
        const [resource, attribute] = Array.isArray(args)
          ? (args as [string, string])
          : (String(args).split('.') as [string, string]);
        return this.attribute(resource, attribute);
      }
      case 'Fn::Join': {
        const [delimiter, list] = args as [unknown, unknown];
        return strings(this.#eval(list)).join(literal(delimiter, fn));
      }
      case 'Fn::Split': {
        const [delimiter, source] = args as [unknown, unknown];
        return String(this.#eval(source)).split(literal(delimiter, fn));
      }
      case 'Fn::Select': {
        const [index, list] = args as [unknown, unknown];
        const items = strings(this.#eval(list));
        const i = Number(this.#eval(index));
        if (!(i in items)) {
          throw new Error(`Fn::Select index ${i} out of range`);
        }
        return items[i];
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(args)
          ? (args as [unknown, Record<string, unknown>])
          : [args, {}];
        return literal(text, fn).replace(
          /\$\{([^}!][^}]*)\}/g,
          (_, name: string) => {
            if (name in vars) return scalarText(this.#eval(vars[name]));
            if (name.includes('.')) {
              const [resource, attribute] = name.split('.') as [string, string];
              return this.attribute(resource, attribute);
            }
            return scalarText(this.#ref(name));
          },
        );
      }
      case 'Fn::If': {
        const [name, then, otherwise] = args as [string, unknown, unknown];
        return this.#eval(this.condition(name) ? then : otherwise);
      }
      case 'Condition':
        return this.condition(args as string);
      default:
        throw new Error(`unsupported intrinsic ${fn}`);
    }
  }
}

/** Applies CloudFormation's parameter constraints; returns the typed value. */
function validateParameter(
  name: string,
  def: ParameterDefinition,
  raw: string,
): string | string[] {
  const fail = (why: string): never => {
    throw new ParameterError(`Parameter '${name}' ${why}`);
  };
  const isList =
    def.Type === 'CommaDelimitedList' || def.Type.startsWith('List<');
  const values = isList ? raw.split(',') : [raw];
  for (const value of values) {
    if (def.Type === 'Number' || def.Type === 'List<Number>') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) {
        fail(`must be a number, got "${value}"`);
      }
      if (def.MinValue !== undefined && n < def.MinValue) {
        fail(`must be a number not less than ${def.MinValue}`);
      }
      if (def.MaxValue !== undefined && n > def.MaxValue) {
        fail(`must be a number not greater than ${def.MaxValue}`);
      }
    }
    if (def.AllowedValues && !def.AllowedValues.map(String).includes(value)) {
      fail(`must be one of AllowedValues (${def.AllowedValues.join(', ')})`);
    }
    if (def.AllowedPattern && !new RegExp(def.AllowedPattern).test(value)) {
      fail(`failed to satisfy constraint: must match ${def.AllowedPattern}`);
    }
  }
  return isList ? values : raw;
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
  return value.map(scalarText);
}

function scalarText(value: unknown): string {
  if (Array.isArray(value)) throw new Error('expected a scalar, got a list');
  return String(value);
}

function literal(value: unknown, fn: string): string {
  if (typeof value !== 'string') throw new Error(`${fn}: not a literal string`);
  return value;
}
