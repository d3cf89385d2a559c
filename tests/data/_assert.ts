// Assertions for tests/data: the shared set plus byte and instance checks.
import { AssertionError } from "../helpers/asserts.ts";
export { assert, assertEquals, AssertionError } from "../helpers/asserts.ts";

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
