// The CPU memory policy (native/runtime.cpp tt_cpu_memory_caching), checked
// against the kernel's own count of minor page faults: with caching on, a
// large tensor allocated and freed again and again reuses mapped pages; with
// glibc's defaults, each allocation maps and faults in fresh ones.
import { assert } from "../helpers/asserts.ts";
import { setCpuMemoryCaching, tidy, zeros } from "../../mod.ts";

/** Minor page faults of this process so far (field 10 of /proc/self/stat). */
function minorFaults(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[7]);
}

// 32 MiB: `deno test` runs test modules off the main thread, in a glibc arena
// whose heaps are at most 64 MiB; larger blocks are always mmapped there.
// (`deno run` scripts such as the trainer allocate in the main arena.)
const PAGES = (32 << 20) / 4096; // one 32 MiB float32 tensor
const ROUNDS = 20;

function faultsOverRounds(): number {
  const before = minorFaults();
  for (let i = 0; i < ROUNDS; i++) tidy(() => zeros([8 << 20]).sum().item());
  return minorFaults() - before;
}

Deno.test({
  name:
    "memory caching keeps a 32 MiB tensor's pages mapped across steps; glibc's default refaults",
  ignore: Deno.build.os !== "linux",
  fn() {
    try {
      assert(setCpuMemoryCaching(false), "glibc's mallopt refused the default thresholds");
      faultsOverRounds(); // settle
      const off = faultsOverRounds();
      assert(setCpuMemoryCaching(true), "glibc's mallopt refused the caching thresholds");
      faultsOverRounds(); // the first allocation maps its pages once
      const on = faultsOverRounds();
      // Off: every round faults the whole tensor in again. On: nearly nothing.
      assert(off > ROUNDS * PAGES * 0.8, `default policy: ${off} faults over ${ROUNDS} rounds`);
      assert(on < PAGES * 0.5, `caching: ${on} faults over ${ROUNDS} rounds`);
    } finally {
      setCpuMemoryCaching(true); // the shim's default
    }
  },
});
