// Shared by the CLI scripts: one clear line on stderr for errors a user can
// cause, a stack trace only with --debug, and a non-zero exit.
import { determinismHint } from "../ffi/error.ts";

export function fail(e: unknown, debug: boolean): never {
  const err = e instanceof Error ? e : new Error(String(e));
  const hint = determinismHint(err.message);
  if (hint !== null && !debug) {
    // An op without a deterministic kernel under --deterministic: the op and the fix.
    console.error(`error: ${hint}`);
    Deno.exit(1);
  }
  if (debug) console.error(err);
  else {
    const cause = err.cause instanceof Error && !err.message.includes(err.cause.message)
      ? ` (${err.cause.message})`
      : "";
    console.error(`error: ${err.message}${cause}`);
    console.error("(run with --debug for a stack trace)");
  }
  Deno.exit(1);
}
