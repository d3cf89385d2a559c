// Where and how to meet the other ranks, as torch.distributed.rendezvous reads
// it: an init method (env:// or tcp://host:port) plus torchrun's environment.
// Pure: takes the environment as an argument, so it is testable without sockets.
import { TorchError } from "../../ffi/error.ts";
import { torchVersion } from "../../ffi/runtime.ts";

/** PyTorch's default_pg_timeout: 30 minutes. */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

export type Backend = "gloo" | "nccl";

export interface InitOptions {
  /**
   * "gloo" (CPU tensors) or "nccl" (CUDA tensors; a shim built against a CUDA
   * libtorch 2.x with NCCL, and a CUDA device).
   */
  backend?: Backend | string;
  /** "env://" (default: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or "tcp://host:port". */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** Bound on every wait of the group (store, rendezvous, collectives); default 30 min. */
  timeoutMs?: number;
}

/** What the store and the process group are built from. */
export interface Rendezvous {
  backend: string;
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  /** Rank 0 hosts the TCPStore, unless torchrun's agent hosts it. */
  isServer: boolean;
  /** "/worker/attempt_N" under torchrun's agent store, else "". */
  prefix: string;
}

function fail(message: string): never {
  throw new TorchError("init_process_group", message);
}

function intFrom(what: string, raw: string | number): number {
  const v = typeof raw === "number" ? raw : Number(raw.trim());
  if (!Number.isInteger(v) || (typeof raw === "string" && raw.trim() === "")) {
    fail(`${what} must be an integer, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/**
 * Resolves the options and `env` (torchrun's variables) into a rendezvous.
 * Errors name the missing variable or the bad value.
 */
export function resolveRendezvous(
  opts: InitOptions,
  env: (name: string) => string | undefined,
  libtorchVersion: string = torchVersion,
): Rendezvous {
  const backend = (opts.backend ?? "gloo").toLowerCase();
  const method = opts.initMethod ?? "env://";
  const need = (name: string, hint: string): string => {
    const v = env(name);
    if (v === undefined || v === "") {
      fail(`env:// rendezvous: environment variable ${name} expected, but not set (${hint})`);
    }
    return v;
  };
  let host: string;
  let port: number;
  let rank: number;
  let worldSize: number;
  if (method === "env://" || method.startsWith("env://?")) {
    const q = new URLSearchParams(method.slice("env://".length).replace(/^\?/, ""));
    rank = opts.rank ??
      intFrom("RANK", q.get("rank") ?? need("RANK", "torchrun sets it; or pass rank"));
    worldSize = opts.worldSize ??
      intFrom(
        "WORLD_SIZE",
        q.get("world_size") ?? need("WORLD_SIZE", "torchrun sets it; or pass worldSize"),
      );
    host = need("MASTER_ADDR", "the address of rank 0's store, e.g. 127.0.0.1");
    port = intFrom("MASTER_PORT", need("MASTER_PORT", "the port of rank 0's store"));
  } else if (method.startsWith("tcp://")) {
    let url: URL;
    try {
      url = new URL(method);
    } catch {
      fail(`bad init method ${JSON.stringify(method)}: expected tcp://host:port`);
    }
    if (url.port === "") {
      fail(`tcp:// rendezvous: port number missing in ${JSON.stringify(method)}`);
    }
    host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    port = intFrom("the tcp:// port", url.port);
    const qr = url.searchParams.get("rank");
    const qw = url.searchParams.get("world_size");
    if (opts.rank === undefined && qr === null) fail("tcp:// rendezvous: rank missing (pass rank)");
    if (opts.worldSize === undefined && qw === null) {
      fail("tcp:// rendezvous: world size missing (pass worldSize)");
    }
    rank = opts.rank ?? intFrom("rank", qr!);
    worldSize = opts.worldSize ?? intFrom("world_size", qw!);
  } else {
    fail(
      `bad init method ${JSON.stringify(method)}: supported are "env://" and "tcp://host:port"` +
        (method.startsWith("file://") ? " (file:// is not supported yet)" : ""),
    );
  }
  rank = intFrom("rank", rank);
  worldSize = intFrom("world size", worldSize);
  if (worldSize < 1) fail(`world size must be >= 1, got ${worldSize}`);
  if (rank < 0 || rank >= worldSize) fail(`rank ${rank} is outside 0..${worldSize - 1}`);
  if (port < 1 || port > 65535) fail(`port must be in 1..65535, got ${port}`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    fail(`timeoutMs must be a positive integer, got ${timeoutMs}`);
  }
  // torch.distributed.rendezvous._create_c10d_store: under torchrun's agent
  // store every rank is a client; 1.13 puts the group under the restart's
  // prefix, 2.14 not (its agent makes a new store for every restart).
  let isServer = rank === 0;
  let prefix = "";
  if (env("TORCHELASTIC_USE_AGENT_STORE") === "True") {
    const attempt = env("TORCHELASTIC_RESTART_COUNT");
    if (attempt === undefined || attempt === "") {
      fail(
        "environment variable TORCHELASTIC_RESTART_COUNT expected, but not set " +
          "(TORCHELASTIC_USE_AGENT_STORE=True says torchrun's agent hosts the store)",
      );
    }
    isServer = false;
    if (Number(libtorchVersion.split(".")[0]) < 2) prefix = `/worker/attempt_${attempt}`;
  }
  return { backend, host, port, rank, worldSize, timeoutMs, isServer, prefix };
}
