// TorchError carries libtorch's own message, prefixed with the op that failed.

export class TorchError extends Error {
  /** The shim function that failed, e.g. "tt_matmul". */
  readonly op: string;
  constructor(op: string, message: string, options?: ErrorOptions) {
    super(`${op.replace(/^tt_/, "")}: ${message}`, options);
    this.name = "TorchError";
    this.op = op;
  }
}

/**
 * For an error libtorch raised because an op has no deterministic kernel
 * (under useDeterministicAlgorithms(true)): one line naming the op and the
 * fix; null for any other error.
 */
export function determinismHint(message: string): string | null {
  const m = /(\S+?)\s+does not have a deterministic implementation/.exec(message);
  if (!m) return null;
  return `${m[1]} has no deterministic kernel on this device, and --deterministic asks for ` +
    "one: run without --deterministic (the run is then exact on the CPU, not bit for bit on CUDA)";
}
