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
