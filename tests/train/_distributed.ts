// Shared by the distributed training tests: a tiny run's flags, the trainer
// started as one process, through the launcher, or as ranks by hand (the
// environment torchrun gives), each child with a hard deadline and killed at
// the end; free loopback ports; the losses of a run folder.
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const TRAIN = join(ROOT, "scripts/train.ts");

/**
 * 256 images, batch 32 over the ranks, a narrow convnet, 1 thread per rank, float32, on the
 * CPU (Gloo): `--device auto` would put each rank on a GPU where the shim has NCCL, and the
 * comparisons with a 1-rank run assume the CPU's kernels (tests/device_pinning_test.ts).
 */
export const TINY = [
  "--limit",
  "256",
  "--epochs",
  "2",
  "--batch-size",
  "32",
  "--width",
  "4",
  "--hidden-dim",
  "32",
  "--projection-dim",
  "16",
  "--log-every",
  "1",
  "--knn-every",
  "0",
  "--no-evaluate",
  "--precision",
  "32",
  "--threads",
  "1",
  "--checkpoint-every",
  "2",
  "--device",
  "cpu",
];

// A free loopback port, chosen at run time (the distributed tests' helper).
export { freePort } from "../distributed/_ranks.ts";

export interface Finished {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A child process with captured output, SIGKILLed (with its own children) after `deadlineMs`. */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly started = performance.now();
  stdout = "";
  stderr = "";
  readonly #done: Promise<Finished>;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; cwd?: string; deadlineMs?: number } = {},
  ) {
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd ?? ROOT,
      env: { NO_COLOR: "1", GLOO_SOCKET_IFNAME: "lo", ...opts.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#timer = setTimeout(() => this.killTree("SIGKILL"), opts.deadlineMs ?? 60_000);
    const read = async (s: ReadableStream<Uint8Array>, to: "stdout" | "stderr") => {
      const dec = new TextDecoder();
      for await (const c of s) this[to] += dec.decode(c, { stream: true });
    };
    const io = Promise.all([read(this.child.stdout, "stdout"), read(this.child.stderr, "stderr")]);
    const child = this.child;
    const timer = this.#timer;
    this.#done = (async () => {
      const st = await child.status;
      await io;
      clearTimeout(timer);
      return {
        code: st.code,
        signal: st.signal,
        stdout: this.stdout,
        stderr: this.stderr,
        ms: performance.now() - this.started,
      };
    })();
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The pids of this process's children (Linux /proc). */
  children(): number[] {
    try {
      const t = Deno.readTextFileSync(`/proc/${this.pid}/task/${this.pid}/children`).trim();
      return t === "" ? [] : t.split(/\s+/).map(Number);
    } catch {
      return [];
    }
  }

  /** Signals the children first, then this process. */
  killTree(sig: Deno.Signal): void {
    for (const c of this.children()) {
      try {
        Deno.kill(c, sig);
      } catch { /* gone */ }
    }
    try {
      this.child.kill(sig);
    } catch { /* gone */ }
  }

  done(): Promise<Finished> {
    return this.#done;
  }
}

/** The value of `name` in the environment of process `pid`. */
export function envOf(pid: number, name: string): string | undefined {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/environ`);
    const hit = raw.split("\0").find((kv) => kv.startsWith(name + "="));
    return hit?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/** `deno run -A scripts/train.ts ARGS` (the launcher when ARGS ask for several processes). */
export function train(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; deadlineMs?: number } = {},
): Proc {
  return new Proc(Deno.execPath(), ["run", "-A", TRAIN, ...args], opts);
}

/** Rank `rank` of `world` started by hand, with the environment torchrun gives. */
export function rank(
  rank: number,
  world: number,
  port: number,
  args: string[],
  deadlineMs = 60_000,
): Proc {
  return train(args, {
    deadlineMs,
    env: {
      RANK: String(rank),
      LOCAL_RANK: String(rank),
      WORLD_SIZE: String(world),
      LOCAL_WORLD_SIZE: String(world),
      GROUP_RANK: "0",
      MASTER_ADDR: "127.0.0.1",
      MASTER_PORT: String(port),
      OMP_NUM_THREADS: "1",
    },
  });
}

/** step -> loss of a run folder's metrics.jsonl. */
export function losses(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of Deno.readTextFileSync(join(runDir, "metrics.jsonl")).split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (typeof r.loss === "number") m.set(r.step, r.loss);
  }
  return m;
}

/** Waits until `pred()` holds, polling every 100 ms, for at most `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The step-N folders of a run, oldest first. */
export function checkpoints(runDir: string): string[] {
  try {
    return [...Deno.readDirSync(join(runDir, "checkpoints"))].filter((e) =>
      /^step-\d+$/.test(e.name)
    ).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * How close a run on several ranks comes to one on a single process, loss by
 * loss (relative): the ranks' reductions (gradient all-reduce, SyncBatchNorm's
 * float64 statistics) add in another order than one process's kernels.
 * docs/DISTRIBUTED.md states it.
 */
export const LOSS_RTOL = 1e-4;

/** Relative difference of two losses. */
export function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
}
