// Shared by the CLI scripts: one clear line on stderr for errors a user can
// cause, a stack trace only with --debug, and a non-zero exit.

export function fail(e: unknown, debug: boolean): never {
  const err = e instanceof Error ? e : new Error(String(e));
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
