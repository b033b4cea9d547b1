/**
 * A property of the construct has a value it cannot deploy. Raised at synth,
 * before CloudFormation sees the template; names the property.
 */
export class InvalidPropsError extends Error {
  /** The offending property of `BatchRetryServiceProps`. */
  readonly prop: string;

  constructor(prop: string, problem: string) {
    super(`${prop} ${problem}`);
    this.name = 'InvalidPropsError';
    this.prop = prop;
  }
}
