// The launcher behind `deno task train --nproc-per-node N`: starts N local
// workers (scripts/train.ts with the same arguments minus the launcher's)
// under torchrun's environment contract, so a worker cannot tell it from
// torchrun: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK,
// ROLE_RANK, ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, OMP_NUM_THREADS.
// Several machines: run it on each with --nnodes M --node-rank K
// --master-addr H (--master-port P), as torchrun.
//
// It forwards SIGINT (the workers agree on a step, rank 0 checkpoints), and
// when a worker fails it stops the others and exits non-zero naming the rank.
// Rank 0's output passes through as it is; the other ranks' lines are
// prefixed with "[rank K] ".
import { readConfigFile, resolveConfig } from "../train/config.ts";
import { ConfigError, kebab, type TrainConfig, validate } from "../train/settings.ts";

/** The settings only the launcher reads; workers get everything else. */
export const LAUNCH_KEYS = [
  "nprocPerNode",
  "nnodes",
  "nodeRank",
  "masterAddr",
  "masterPort",
] as const satisfies readonly (keyof TrainConfig)[];

export type LaunchSettings = Pick<TrainConfig, (typeof LAUNCH_KEYS)[number]>;

/** torchrun's default port when several machines take part. */
export const DEFAULT_MULTI_NODE_PORT = 29500;

/** True when the settings ask for more than this one process. */
export function wantsLaunch(s: LaunchSettings): boolean {
  return s.nprocPerNode > 1 || s.nnodes > 1;
}

/** The command-line arguments without the launcher's flags (both `--flag v` and `--flag=v`). */
export function workerArgs(args: readonly string[]): string[] {
  const names = new Set(LAUNCH_KEYS.map((k) => `--${kebab(k)}`));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    if (eq > 0 && names.has(a.slice(0, eq))) continue;
    if (names.has(a)) {
      i++; // and its value
      continue;
    }
    out.push(a);
  }
  return out;
}

export interface WorkerPlan {
  rank: number;
  localRank: number;
  env: Record<string, string>;
}

/**
 * The environment of each local worker (torchrun's contract). `port` is used
 * when --master-port is 0; `cores` is split between the workers for
 * OMP_NUM_THREADS unless `threads` (per worker) is given.
 */
export function planWorkers(
  s: LaunchSettings,
  opts: { port: number; cores: number; threads?: number; baseEnv?: Record<string, string> },
): WorkerPlan[] {
  if (s.nodeRank >= s.nnodes) {
    throw new ConfigError(
      `--node-rank ${s.nodeRank} is outside 0..${s.nnodes - 1} (--nnodes ${s.nnodes}); ` +
        "number the machines 0 to nnodes-1",
    );
  }
  const n = s.nprocPerNode;
  const world = n * s.nnodes;
  const port = s.masterPort !== 0 ? s.masterPort : opts.port;
  const threads = opts.threads && opts.threads > 0
    ? opts.threads
    : Math.max(1, Math.floor(opts.cores / n));
  const base = opts.baseEnv ?? {};
  const plans: WorkerPlan[] = [];
  for (let local = 0; local < n; local++) {
    const rank = s.nodeRank * n + local;
    const env: Record<string, string> = {
      RANK: String(rank),
      LOCAL_RANK: String(local),
      WORLD_SIZE: String(world),
      LOCAL_WORLD_SIZE: String(n),
      GROUP_RANK: String(s.nodeRank),
      GROUP_WORLD_SIZE: String(s.nnodes),
      ROLE_RANK: String(rank),
      ROLE_WORLD_SIZE: String(world),
      MASTER_ADDR: s.masterAddr,
      MASTER_PORT: String(port),
      OMP_NUM_THREADS: base.OMP_NUM_THREADS ?? String(threads),
    };
    // One machine: every rank talks over loopback (Gloo's default device is
    // the host name's address, which need not be reachable).
    if (s.nnodes === 1 && base.GLOO_SOCKET_IFNAME === undefined) env.GLOO_SOCKET_IFNAME = "lo";
    plans.push({ rank, localRank: local, env });
  }
  return plans;
}

/** A free TCP port on `host`, chosen now (rank 0's store binds it right after). */
export function freePort(host = "127.0.0.1"): number {
  const l = Deno.listen({ hostname: host, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface LaunchOptions {
  /** The training script the workers run. */
  script: string;
  /** Its arguments (the launcher's flags are removed). */
  args: readonly string[];
  settings: LaunchSettings;
  /** Threads per worker, when --threads was given. */
  threads?: number;
  /** Seconds the others get to exit on their own after one fails (default 3). */
  graceS?: number;
}

function writeAll(file: typeof Deno.stdout, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** Copies a worker's stream to ours, line by line, with `prefix`. */
async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  to: typeof Deno.stdout,
  prefix: string,
): Promise<void> {
  const enc = new TextEncoder();
  if (prefix === "") {
    for await (const chunk of stream) writeAll(to, chunk);
    return;
  }
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      writeAll(to, enc.encode(prefix + buf.slice(0, nl + 1)));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf !== "") writeAll(to, enc.encode(prefix + buf + "\n"));
}

function say(line: string) {
  writeAll(Deno.stderr, new TextEncoder().encode(`launcher: ${line}\n`));
}

function describe(st: Deno.CommandStatus): string {
  return st.signal !== null ? `was killed by ${st.signal}` : `exited with code ${st.code}`;
}

/**
 * Starts the local workers and waits for them. Returns the exit code: 0 when
 * all succeeded, rank 0's after an interrupt, else the failed rank's (1 when
 * it was killed by a signal).
 */
export async function launch(o: LaunchOptions): Promise<number> {
  const s = o.settings;
  const port = s.masterPort !== 0
    ? s.masterPort
    : s.nnodes > 1
    ? DEFAULT_MULTI_NODE_PORT
    : freePort(s.masterAddr);
  const plans = planWorkers(s, {
    port,
    cores: navigator.hardwareConcurrency || 1,
    threads: o.threads,
    baseEnv: Deno.env.toObject(),
  });
  const world = s.nprocPerNode * s.nnodes;
  const first = plans[0].rank;
  say(
    `starting ranks ${first}..${first + plans.length - 1} of ${world} on this machine ` +
      `(node ${s.nodeRank} of ${s.nnodes}; rank 0's store at ${s.masterAddr}:${port}; ` +
      `${plans[0].env.OMP_NUM_THREADS} thread(s) each)`,
  );
  const args = workerArgs(o.args);
  const children = plans.map((p) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", o.script, ...args],
      env: p.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const prefix = p.rank === 0 ? "" : `[rank ${p.rank}] `;
    const io = Promise.all([
      pipeLines(child.stdout, Deno.stdout, prefix),
      pipeLines(child.stderr, Deno.stderr, prefix),
    ]);
    return { plan: p, child, io, status: null as Deno.CommandStatus | null };
  });
  const signal = (sig: Deno.Signal) => {
    for (const c of children) {
      if (c.status !== null) continue;
      try {
        c.child.kill(sig);
      } catch {
        // it exited meanwhile
      }
    }
  };
  const onSigint = () => signal("SIGINT");
  const onSigterm = () => signal("SIGTERM");
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigterm);
  let failed: { rank: number; status: Deno.CommandStatus } | null = null;
  const timers: ReturnType<typeof setTimeout>[] = [];
  try {
    await Promise.all(children.map(async (c) => {
      const st = await c.child.status;
      c.status = st;
      if (st.success || failed !== null) return;
      // An interrupted worker exits 130 after the ranks agreed to stop (rank 0
      // checkpoints): not a failure, whoever got the SIGINT.
      if (st.code === 130) return;
      failed = { rank: c.plan.rank, status: st };
      const left = children.filter((x) => x.status === null).length;
      if (left === 0) return;
      say(`rank ${c.plan.rank} ${describe(st)}; stopping the other ${left} worker(s)`);
      // The others usually fail on their next collective by themselves, with
      // their own line; then they are terminated, then killed.
      const grace = (o.graceS ?? 3) * 1000;
      timers.push(setTimeout(() => signal("SIGTERM"), grace));
      timers.push(setTimeout(() => signal("SIGKILL"), grace + 5000));
    }));
    await Promise.all(children.map((c) => c.io));
  } finally {
    for (const t of timers) clearTimeout(t);
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
  if (failed !== null) {
    const f = failed as { rank: number; status: Deno.CommandStatus };
    say(`error: rank ${f.rank} ${describe(f.status)}; all workers stopped`);
    return f.status.signal !== null || f.status.code === 0 ? 1 : f.status.code;
  }
  const rank0 = children.find((c) => c.plan.rank === 0);
  return rank0?.status?.code ?? 0;
}

/**
 * The launch a command line asks for: a new run's flags over its config file
 * and preset, or on --resume the flags alone (a run may resume on any number
 * of processes; its saved launch does not count). Also the per-worker
 * threads when --threads was given.
 */
export async function launchRequest(
  flags: Record<string, unknown>,
  opts: { configFile?: string; resume?: string },
): Promise<{ settings: LaunchSettings; threads: number }> {
  let cfg: TrainConfig;
  if (opts.resume === undefined) {
    const file = opts.configFile ? await readConfigFile(opts.configFile) : undefined;
    cfg = resolveConfig(file, flags);
  } else {
    const only = Object.fromEntries(
      [...LAUNCH_KEYS, "threads"].filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]),
    );
    cfg = validate(only);
  }
  const settings = Object.fromEntries(LAUNCH_KEYS.map((k) => [k, cfg[k]])) as LaunchSettings;
  return { settings, threads: cfg.threads };
}
