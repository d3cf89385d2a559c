// The assertion set shared by the tests (jsr:@std/assert cannot be reached here).
import { deepStrictEqual } from "node:assert";

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  try {
    deepStrictEqual(actual, expected);
  } catch (err) {
    throw new AssertionError(`${message ? message + ": " : ""}${(err as Error).message}`);
  }
}

export function assertAlmostEquals(
  actual: number,
  expected: number,
  tol = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${actual} != ${expected} (tolerance ${tol})`,
    );
  }
}

type ErrorClass = new (...args: never[]) => Error;

/** Asserts fn throws an instance of `cls` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  cls: ErrorClass = Error,
  includes?: string | RegExp,
): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, cls, includes);
  }
  throw new AssertionError("expected the call to throw");
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  cls: ErrorClass = Error,
  includes?: string | RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, cls, includes);
  }
  throw new AssertionError("expected the promise to reject");
}

function checkError(e: unknown, cls: ErrorClass, includes?: string | RegExp): Error {
  if (!(e instanceof cls)) {
    throw new AssertionError(
      `expected ${cls.name}, got ${e instanceof Error ? e.name : typeof e}: ${e}`,
    );
  }
  const msg = (e as Error).message;
  if (includes !== undefined) {
    const ok = typeof includes === "string" ? msg.includes(includes) : includes.test(msg);
    if (!ok) throw new AssertionError(`error message "${msg}" does not match ${includes}`);
  }
  return e as Error;
}
