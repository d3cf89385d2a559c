/**
 * Error type for every problem with dataset files (missing, truncated,
 * corrupt, wrongly laid out) and with loader options. Messages name the file,
 * the problem and the fix, so a caller can show `err.message` as it is.
 */
export class DataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DataError";
  }
}

/** Short description of an unknown thrown value, for messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Reads a whole file, turning Deno's IO errors into DataErrors that name the
 * path. `what` says what the file was supposed to be ("IDX images file").
 */
export async function readFileChecked(path: string, what: string, fix = ""): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw fileError(path, what, err, fix);
  }
}

/** Maps an IO error on `path` to a DataError with a readable reason. */
export function fileError(path: string, what: string, err: unknown, fix = ""): DataError {
  const tail = fix ? `; ${fix}` : "";
  if (err instanceof Deno.errors.NotFound) {
    return new DataError(`${path}: ${what} not found${tail}`, { cause: err });
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new DataError(`${path}: permission denied reading ${what}${tail}`, { cause: err });
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return new DataError(`${path}: is a directory, expected ${what}${tail}`, { cause: err });
  }
  return new DataError(`${path}: cannot read ${what} (${describeError(err)})${tail}`, {
    cause: err,
  });
}
