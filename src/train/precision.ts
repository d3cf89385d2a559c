// --precision: what `auto` resolves to, and the probe behind it on the CPU.
// On CUDA, auto is bf16-mixed where the GPU has native bfloat16. On a CPU,
// bf16 autocast pays only with native bf16 (AMX or AVX512-BF16) and not for
// every model (a ResNet with the ImageNet stem on small images ran 2x slower),
// so auto times a few real BYOL steps each way on a throwaway copy of the run
// and keeps bf16-mixed only when it is faster.
import { autocast, cuda, getRngState, setRngState } from "../../ffi/runtime.ts";
import type { TrainConfig } from "./settings.ts";

export type Precision = "32" | "bf16-mixed";

/**
 * Runs `fn` in `precision` on `device` (a run's or a tensor's device): bf16-mixed
 * is bf16 autocast there (convolutions, linear layers and matmuls in bf16, the
 * rest autocast's policy), 32 runs it as it is. The step and the kNN monitor
 * both go through here.
 */
export function inPrecision<T>(precision: Precision, device: string, fn: () => T): T {
  if (precision !== "bf16-mixed") return fn();
  return autocast(fn, { device: device.startsWith("cuda") ? "cuda" : "cpu", dtype: "bfloat16" });
}

/** The CPU flags that mean native bfloat16 compute. */
export const BF16_CPU_FLAGS = ["amx_bf16", "avx512_bf16"] as const;

/** The flags of the first processor in /proc/cpuinfo (empty where unreadable). */
export function readCpuFlags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      return [];
    }
  }
  const line = text.split("\n").find((l) => /^flags\s*:/.test(l));
  return line ? line.slice(line.indexOf(":") + 1).trim().split(/\s+/) : [];
}

/** The native-bf16 flags among `flags`. */
export function bf16Flags(flags: readonly string[]): string[] {
  return BF16_CPU_FLAGS.filter((f) => flags.includes(f));
}

/**
 * The warning for bf16-mixed asked for (or resumed) on a CPU without native
 * bf16, or null: there oneDNN emulates bf16 and a step runs tens of times
 * slower than in 32 (an AMD EPYC with AVX2 only: 10 image pairs/s against
 * about 300), so the user must hear it before the run, not at its end.
 */
export function emulatedBf16Warning(
  precision: string,
  device: string,
  cpuFlags: readonly string[] = readCpuFlags(),
): string | null {
  if (precision !== "bf16-mixed" || device.startsWith("cuda")) return null;
  if (bf16Flags(cpuFlags).length > 0) return null;
  return `warning: this CPU has no native bf16 (neither ${BF16_CPU_FLAGS.join(" nor ")} in its ` +
    "flags), so bf16-mixed is emulated and runs many times slower than 32; " +
    "use --precision auto or 32 (a resumed run keeps its precision: start a new run)";
}

/** bf16-mixed must be this much faster (ms per step) to be chosen: 5%, above the probe's noise. */
export const PROBE_MARGIN = 0.95;

/** The probe's rule: bf16-mixed when its fastest step beats float32's by the margin. */
export function chooseByTimings(fp32Ms: number, bf16Ms: number): Precision {
  return Number.isFinite(bf16Ms) && bf16Ms <= PROBE_MARGIN * fp32Ms ? "bf16-mixed" : "32";
}

/** What the probe measured (stored in the run folder's precision.json). */
export interface ProbeRecord {
  requested: string;
  chosen: Precision;
  device: string;
  reason: string;
  cpuFlags?: string[];
  /** The fastest timed step of each precision (ms), and every timed step. */
  fp32Ms?: number;
  bf16Ms?: number;
  fp32Steps?: number[];
  bf16Steps?: number[];
}

export interface ResolveInput {
  cfg: TrainConfig;
  device: string;
  /** The CPU's flags (default: /proc/cpuinfo): injectable for tests. */
  cpuFlags?: readonly string[];
  /** Times `steps` steps in a precision on a throwaway copy of the run: ms each. */
  probe?: (precision: Precision, steps: number) => number[];
  /** Whether the CUDA device has native bf16 (default: ask the driver). */
  cudaBf16?: () => boolean | null;
}

/**
 * Timed rounds (one step each way) after the warm-up, for a first step of
 * `stepMs`: as many as fit about 8 s, at least 2 and at most 5.
 */
export function probeRounds(stepMs: number): number {
  return Math.max(2, Math.min(5, Math.floor(8000 / (2 * Math.max(stepMs, 1)))));
}

/** Resolves `cfg.precision` on `device`; an explicit precision is kept as it is. */
export function resolvePrecision(inp: ResolveInput): ProbeRecord {
  const { cfg, device } = inp;
  const requested = cfg.precision;
  if (requested !== "auto") {
    return { requested, chosen: requested, device, reason: `--precision ${requested}` };
  }
  if (device.startsWith("cuda")) {
    const ok = (inp.cudaBf16 ?? (() => cuda.bf16Supported(device)))();
    return ok ? { requested, chosen: "bf16-mixed", device, reason: "the GPU has native bf16" } : {
      requested,
      chosen: "32",
      device,
      reason: ok === null
        ? "cannot tell whether the GPU has native bf16"
        : "the GPU has no native bf16 (compute capability < 8.0)",
    };
  }
  const flags = inp.cpuFlags ?? readCpuFlags();
  const native = bf16Flags(flags);
  if (native.length === 0) {
    return {
      requested,
      chosen: "32",
      device,
      cpuFlags: native,
      reason: `the CPU has no native bf16 (neither ${BF16_CPU_FLAGS.join(" nor ")} in its flags)`,
    };
  }
  if (!inp.probe) {
    return { requested, chosen: "32", device, cpuFlags: native, reason: "no probe given" };
  }
  // One warm-up step each way (oneDNN builds its kernels), then alternate
  // timed steps so a change in the machine's load hits both alike, and
  // compare each side's fastest step: on a shared machine a step is only
  // ever slowed by the others' work, so the minimum is the estimate least
  // moved by it (a single pair of steps once picked 32 at 0.66x on a loaded
  // machine where bf16 is 1.8x faster).
  const warm32 = inp.probe("32", 1)[0];
  if (warm32 > 4000) {
    return {
      requested,
      chosen: "32",
      device,
      cpuFlags: native,
      reason: `a step takes ${(warm32 / 1000).toFixed(1)} s, too long to probe; ` +
        "give --precision bf16-mixed to use bf16",
    };
  }
  inp.probe("bf16-mixed", 1);
  const rounds = probeRounds(warm32);
  const fp32Steps: number[] = [];
  const bf16Steps: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fp32Steps.push(...inp.probe("32", 1));
    bf16Steps.push(...inp.probe("bf16-mixed", 1));
  }
  const fp32Ms = Math.min(...fp32Steps);
  const bf16Ms = Math.min(...bf16Steps);
  const chosen = chooseByTimings(fp32Ms, bf16Ms);
  return {
    requested,
    chosen,
    device,
    cpuFlags: native,
    fp32Ms,
    bf16Ms,
    fp32Steps,
    bf16Steps,
    reason: `probe: ${fp32Ms.toFixed(0)} ms/step in 32, ${bf16Ms.toFixed(0)} ms/step in ` +
      `bf16-mixed (${(fp32Ms / bf16Ms).toFixed(2)}x)`,
  };
}

/** Runs `fn` and puts libtorch's CPU generator back as it was (a probe leaves no trace). */
export function keepingCpuRng<T>(fn: () => T): T {
  const state = getRngState("cpu");
  try {
    return fn();
  } finally {
    setRngState(state, "cpu");
    state.dispose();
  }
}
