/**
 * Three-valued truth for the reference interpreter (docs/semantics.md, "Fail closed"): a condition
 * is true, false, or an error that names its runtime code.
 */

export interface EvalError {
  readonly error: string;
  readonly message: string;
}

export type Truth = boolean | EvalError;

/** A value an expression produces: present, absent (a history value with too few samples), or an error. */
export type Value = { readonly value: unknown } | { readonly absent: true } | EvalError;

export function fail(code: string, message: string): EvalError {
  return { error: code, message };
}

export function isError(x: unknown): x is EvalError {
  return typeof x === "object" && x !== null && "error" in x;
}

export function isAbsent(x: Value): x is { readonly absent: true } {
  return "absent" in x;
}

/** `false and ERROR` is false, whichever side the error is on; otherwise an error propagates. */
export function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  if (isError(a)) return a;
  if (isError(b)) return b;
  return true;
}

/** `true or ERROR` is true, whichever side the error is on; otherwise an error propagates. */
export function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  if (isError(a)) return a;
  if (isError(b)) return b;
  return false;
}

/** `not ERROR` is an error. */
export function not(a: Truth): Truth {
  return isError(a) ? a : !a;
}

export function all(truths: readonly Truth[]): Truth {
  return truths.reduce<Truth>((acc, t) => and(acc, t), true);
}
