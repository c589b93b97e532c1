/**
 * Argument checks shared by the components. A plain value is checked at construction, so a bad
 * argument throws before any resource exists; an Output (e.g. from stack config or another
 * component) is checked when it resolves, failing the deployment with the same message.
 */
import * as pulumi from "@pulumi/pulumi";

/** A check that throws an Error saying what to change. */
export type Check<T> = (value: T) => void;

/** Runs `check` on `value` now if it is plain, else when it resolves; returns the value to use. */
export function checked<T>(value: pulumi.Input<T>, check: Check<T>): pulumi.Input<T> {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) {
    return pulumi.output(value).apply((resolved) => {
      check(resolved as T);
      return resolved;
    }) as pulumi.Output<T>;
  }
  check(value as T);
  return value;
}

/** The value when it is a plain (non-Output, non-Promise) value, else undefined. */
export function plainValue<T>(value: pulumi.Input<T> | undefined): T | undefined {
  if (value === undefined || pulumi.Output.isInstance(value) || value instanceof Promise) return undefined;
  return value as T;
}

/** `f(value)` as a plain value when `value` is plain, else as an Output, so recorded inputs look the same either way. */
export function derive<T, R>(value: pulumi.Input<T>, f: (v: T) => R): pulumi.Input<R> {
  const plain = plainValue(value);
  return plain === undefined ? pulumi.output(value).apply((v) => f(v as T)) : f(plain);
}

/** `what` must be an integer in [min, max]. `what` names the argument, e.g. `IngestLake "lake": topN`. */
export function integerIn(what: string, min: number, max: number): Check<number> {
  return (value) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`);
    }
  };
}

/** `what` must be one of `allowed`. */
export function oneOf<T extends string | number>(what: string, allowed: readonly T[]): Check<T> {
  return (value) => {
    if (!allowed.includes(value)) {
      throw new Error(`${what} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}.`);
    }
  };
}

/** `what` must match `pattern`; `expected` describes the format in the error. */
export function matching(what: string, pattern: RegExp, expected: string): Check<string> {
  return (value) => {
    if (typeof value !== "string" || !pattern.test(value)) {
      throw new Error(`${what} must be ${expected}, got ${JSON.stringify(value)}.`);
    }
  };
}

/** `what` must be a CloudWatch namespace of the project's own: 1-255 allowed characters, not starting with `AWS/`. */
export function metricsNamespaceFormat(what: string): Check<string> {
  return matching(what, /^(?!AWS\/)[A-Za-z0-9 _./#:-]{1,255}$/, "a CloudWatch namespace not starting with AWS/");
}

/** `what` must be a pipeline name (the `Pipeline` metric dimension): 1-128 letters, digits, `_`, `.`, `-`. */
export function pipelineNameFormat(what: string): Check<string> {
  return matching(what, /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "1-128 letters, digits, '_', '.', '-'");
}
