// One side of a benchmark in its own process, so that peak memory is per
// benchmark: ours (bench/ours.ts, or bench/ddp_rank.ts per rank) and the
// PyTorch twin (bench/py/<case>.py, or bench/py/ddp.py per rank), each with
// the same thread count and OMP_WAIT_POLICY. Each prints one JSON line last.
import { join } from "node:path";
import type { CaseParams } from "./cases/params.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** What one side's process prints. */
export interface SideOut {
  result: Record<string, unknown>;
  peakRssMiB: number;
  childPeakRssMiB?: number;
}

/** A numeric field of a side's result. */
export const num = (x: unknown) => x as number;

// Our shim keeps freed CPU tensor memory mapped (native/cpu_cache.cpp); the
// nearest a stock PyTorch process gets is glibc's mmap threshold raised and
// trimming off (what the shim itself did before its caching allocator).
const TORCH_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(1 << 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 62),
};

/** The twins import bench/py/common.py and tests/py's helpers. */
const PYTHONPATH = `${join(ROOT, "bench/py")}:${join(ROOT, "tests/py")}`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export class Sides {
  constructor(
    readonly settings: {
      threads: number;
      ompWait: string;
      /** The PyTorch twin's interpreter (the shim's own libtorch line). */
      python: string;
      /** The twins with glibc malloc tuned as our shim tunes it. */
      torchMalloc: boolean;
    },
  ) {}

  async #run(cmd: string, args: string[], env: Record<string, string>): Promise<SideOut> {
    const { threads, ompWait } = this.settings;
    const out = await new Deno.Command(cmd, {
      args,
      cwd: ROOT,
      env: { OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: ompWait.toUpperCase(), ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    if (!out.success) {
      throw new Error(`${cmd} ${args[0]} failed:\n${dec.decode(out.stderr)}\n${stdout}`);
    }
    const last = stdout.trim().split("\n").pop()!;
    return JSON.parse(last) as SideOut;
  }

  /** Our side of bench case `name` (bench/cases/<name>.ts). */
  ours(name: string, p: CaseParams): Promise<SideOut> {
    return this.#run(Deno.execPath(), ["run", "-A", "bench/ours.ts", name, JSON.stringify(p)], {});
  }

  /** The PyTorch twin of bench case `name` (bench/py/<name>.py). */
  torch(name: string, p: Record<string, unknown>): Promise<SideOut> {
    return this.#run(this.settings.python, [`bench/py/${name}.py`, JSON.stringify(p)], {
      PYTHONPATH,
      ...(this.settings.torchMalloc ? TORCH_MALLOC_ENV : {}),
    });
  }

  /**
   * Runs `world` ranks of one side of the ddp benchmark (each with `perRank`
   * threads, Gloo on loopback); rank 0's JSON. Rank 1 prints nothing: the
   * JSON parse of its empty stdout throws, and that is dropped.
   */
  async ranks(
    side: "ours" | "torch",
    mode: string,
    world: number,
    perRank: number,
    p: Record<string, unknown>,
  ): Promise<SideOut> {
    const port = String(freePort());
    const json = JSON.stringify({ ...p, threads: perRank });
    const env = {
      OMP_NUM_THREADS: String(perRank),
      GLOO_SOCKET_IFNAME: "lo",
      ...(side === "torch" ? { PYTHONPATH } : {}),
    };
    const outs = await Promise.all(
      Array.from({ length: world }, (_, r) => {
        const rankArgs = [mode, String(r), String(world), port, json];
        return (side === "ours"
          ? this.#run(Deno.execPath(), ["run", "-A", "bench/ddp_rank.ts", ...rankArgs], env)
          : this.#run(this.settings.python, ["bench/py/ddp.py", ...rankArgs], env))
          .catch((e) => (r === 0 ? Promise.reject(e) : null));
      }),
    );
    return outs[0]!;
  }
}
