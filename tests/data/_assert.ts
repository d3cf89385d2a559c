// Small assertion set for tests/data (jsr:@std/assert is not reachable here).
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

/** Compares byte arrays, reporting the first difference instead of dumping both. */
export function assertBytes(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  message = "bytes differ",
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(`${message}: length ${actual.length} != ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new AssertionError(
        `${message}: first difference at ${i}: ${actual[i]} != ${expected[i]}`,
      );
    }
  }
}

export function assertInstanceOf<T>(
  value: unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => T,
  message?: string,
): asserts value is T {
  if (!(value instanceof type)) {
    throw new AssertionError(message ?? `expected instance of ${type.name}, got ${String(value)}`);
  }
}
