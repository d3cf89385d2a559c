// The machine a bench run measures on, as its report's header and the
// results JSON's "machine" record it.
import { BF16_CPU_FLAGS, readCpuFlags } from "../src/train/precision.ts";
import { readShimInfo } from "../ffi/shim_path.ts";

export interface Machine {
  cpu: string;
  cores: number;
  /** The CPU's native bf16 flags (amx_bf16, avx512_bf16): what bf16-mixed rows depend on. */
  bf16Flags: string[];
  threads: number;
  ompWaitPolicy: string;
  deno: string;
  /** Both sides' libtorch: the shim's build (the twin's Python is on the same line). */
  libtorch: string;
  /** The PyTorch twin's interpreter. */
  python: string;
  date: string;
  loadAtStart: string;
  quick: boolean;
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg writes them. */
export function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

/** This machine now (lscpu's model name, the date, the load) with the run's settings. */
export async function describeMachine(run: {
  threads: number;
  ompWait: string;
  python: string;
  quick: boolean;
}): Promise<Machine> {
  const lscpu = await sh("lscpu", []);
  const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "m").exec(lscpu)?.[1]?.trim() ?? "?";
  return {
    cpu: field("Model name"),
    cores: navigator.hardwareConcurrency,
    bf16Flags: BF16_CPU_FLAGS.filter((f) => readCpuFlags().includes(f)),
    threads: run.threads,
    ompWaitPolicy: run.ompWait,
    deno: Deno.version.deno,
    libtorch: readShimInfo()?.torchVersion ?? "?",
    python: run.python,
    date: new Date().toISOString(),
    loadAtStart: loadavg(),
    quick: run.quick,
  };
}
