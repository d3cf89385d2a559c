// --precision: auto's rule (CPU flags, the probe's timings), the --amp alias
// and the migration of runs saved before --precision. No assertion depends on
// this machine's speed: the probe is given timings.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  bf16Flags,
  chooseByTimings,
  emulatedBf16Warning,
  type Precision,
  probeRounds,
  readCpuFlags,
  resolvePrecision,
} from "../../src/train/precision.ts";
import { ConfigError, resolveConfig, resumeConfig } from "../../src/train/config.ts";
import { DEFAULTS } from "../../src/train/settings.ts";

const AMX = "fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile".split(" ");
const PLAIN = "fpu sse avx2 avx512f".split(" ");

Deno.test("the probe's rule: bf16-mixed only when at least 5% faster", () => {
  assertEquals(chooseByTimings(366, 173), "bf16-mixed");
  assertEquals(chooseByTimings(100, 94), "bf16-mixed");
  assertEquals(chooseByTimings(100, 97), "32");
  assertEquals(chooseByTimings(100, 100), "32");
  assertEquals(chooseByTimings(100, 210), "32");
  assertEquals(chooseByTimings(100, NaN), "32");
});

Deno.test("CPU flags come from /proc/cpuinfo's flags line; amx_bf16 and avx512_bf16 count", () => {
  const info = "processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx512_bf16 amx_bf16\n\n" +
    "processor\t: 1\nflags\t\t: fpu\n";
  assertEquals(readCpuFlags(info), ["fpu", "avx512_bf16", "amx_bf16"]);
  assertEquals(bf16Flags(AMX), ["amx_bf16", "avx512_bf16"]);
  assertEquals(bf16Flags(PLAIN), []);
});

function probeWith(ms: Record<Precision, number>) {
  const calls: Precision[] = [];
  return {
    calls,
    probe: (p: Precision, steps: number) => {
      calls.push(p);
      return Array.from({ length: steps }, () => ms[p]);
    },
  };
}

Deno.test("auto on a CPU without native bf16 picks 32, says why, and does not probe", () => {
  const { calls, probe } = probeWith({ "32": 100, "bf16-mixed": 10 });
  const r = resolvePrecision({ cfg: DEFAULTS, device: "cpu", cpuFlags: PLAIN, probe });
  assertEquals(r.chosen, "32");
  assert(/no native bf16/.test(r.reason) && /amx_bf16/.test(r.reason), r.reason);
  assertEquals(calls, []);
});

Deno.test("explicit bf16-mixed on a CPU without native bf16 is kept, with a warning that says so", () => {
  const w = emulatedBf16Warning("bf16-mixed", "cpu", PLAIN);
  assert(w !== null && /no native bf16/.test(w) && /--precision auto or 32/.test(w), String(w));
  assertEquals(emulatedBf16Warning("bf16-mixed", "cpu", AMX), null);
  assertEquals(emulatedBf16Warning("bf16-mixed", "cpu", ["avx512_bf16"]), null);
  assertEquals(emulatedBf16Warning("32", "cpu", PLAIN), null);
  assertEquals(emulatedBf16Warning("bf16-mixed", "cuda:0", PLAIN), null);
});

Deno.test("auto on a CPU with AMX follows the probe, both ways, and records the figures", () => {
  const fast = probeWith({ "32": 366, "bf16-mixed": 173 });
  const a = resolvePrecision({ cfg: DEFAULTS, device: "cpu", cpuFlags: AMX, probe: fast.probe });
  assertEquals(a.chosen, "bf16-mixed");
  assertEquals([a.fp32Ms, a.bf16Ms], [366, 173]);
  assertEquals(a.cpuFlags, ["amx_bf16", "avx512_bf16"]);
  assert(fast.calls.includes("32") && fast.calls.includes("bf16-mixed"));
  const slow = probeWith({ "32": 100, "bf16-mixed": 208 });
  const b = resolvePrecision({ cfg: DEFAULTS, device: "cpu", cpuFlags: AMX, probe: slow.probe });
  assertEquals(b.chosen, "32");
  assert(/probe/.test(b.reason), b.reason);
});

Deno.test("the probe alternates at least two rounds and keeps each side's fastest step", () => {
  // A loaded machine: the first timed bf16 step is slowed 3x by other work.
  const steps: Record<Precision, number[]> = {
    "32": [1400, 1500, 1450, 1480],
    "bf16-mixed": [800, 2400, 790, 820],
  };
  const seen: Precision[] = [];
  const probe = (p: Precision, n: number) => {
    seen.push(p);
    return Array.from({ length: n }, () => steps[p].shift()!);
  };
  const r = resolvePrecision({ cfg: DEFAULTS, device: "cpu", cpuFlags: AMX, probe });
  assertEquals(r.chosen, "bf16-mixed");
  assertEquals([r.fp32Ms, r.bf16Ms], [1450, 790]);
  assertEquals([r.fp32Steps, r.bf16Steps], [[1500, 1450], [2400, 790]]);
  // Warm-ups, then alternating 32 / bf16 rounds: as many as fit ~8 s, 2 to 5.
  assertEquals(seen, ["32", "bf16-mixed", "32", "bf16-mixed", "32", "bf16-mixed"]);
  assertEquals([probeRounds(4000), probeRounds(1400), probeRounds(500), probeRounds(10)], [
    2,
    2,
    5,
    5,
  ]);
});

Deno.test("auto on CUDA: bf16-mixed when the GPU has native bf16; explicit values are kept", () => {
  const at = (ok: boolean | null) =>
    resolvePrecision({ cfg: DEFAULTS, device: "cuda", cudaBf16: () => ok }).chosen;
  assertEquals([at(true), at(false), at(null)], ["bf16-mixed", "32", "32"]);
  const cfg = { ...DEFAULTS, precision: "bf16-mixed" as const };
  assertEquals(resolvePrecision({ cfg, device: "cpu", cpuFlags: PLAIN }).chosen, "bf16-mixed");
});

Deno.test("--amp is --precision bf16-mixed; with --precision 32 it is refused", () => {
  const c = resolveConfig(undefined, { amp: true });
  assertEquals([c.precision, c.amp], ["bf16-mixed", false]);
  assertEquals(resolveConfig(undefined, {}).precision, "auto");
  assertThrows(() => resolveConfig(undefined, { amp: true, precision: "32" }), ConfigError);
  assertThrows(() => resolveConfig(undefined, { precision: "16" }), ConfigError, "--precision");
});

Deno.test("runs saved before --precision resume as they trained; precision cannot change", () => {
  const old = { ...DEFAULTS } as Record<string, unknown>;
  delete old.precision;
  const at = (o: Record<string, unknown>) => resumeConfig(o, {}, "/tmp/x").precision;
  assertEquals(at({ ...old, amp: false }), "32");
  assertEquals(at({ ...old, amp: true, device: "cpu" }), "32"); // --amp did nothing on the CPU
  assertEquals(at({ ...old, amp: true, device: "cuda" }), "bf16-mixed");
  const saved = { ...DEFAULTS, precision: "32" };
  assertThrows(
    () => resumeConfig(saved, { precision: "bf16-mixed" }, "/tmp/x"),
    ConfigError,
    "cannot change on --resume",
  );
});
