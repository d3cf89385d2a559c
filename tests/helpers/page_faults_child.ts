// Child process of tests/ffi/memory_caching_test.ts: measures minor page faults
// over rounds of allocating and freeing one large tensor, with the CPU memory
// caching off and then on, and prints them as JSON. It runs under `deno run`,
// alone and on the main thread, so its allocations use glibc's main arena as
// the trainer's do, and no other test's work lands in its fault counts.
import { setCpuMemoryCaching, setNumThreads, tidy, zeros } from "../../mod.ts";

const MIB = Number(Deno.args[0] ?? "32");
const ROUNDS = Number(Deno.args[1] ?? "20");
const ELEMS = (MIB << 20) / 4; // float32

/** Minor page faults of this process so far (field 10 of /proc/self/stat). */
function minorFaults(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[7]);
}

function faultsOverRounds(): number {
  const before = minorFaults();
  for (let i = 0; i < ROUNDS; i++) tidy(() => zeros([ELEMS]).sum().item());
  return minorFaults() - before;
}

setNumThreads(1); // no thread pool starting (and faulting its stacks) mid-measurement
const okOff = setCpuMemoryCaching(false);
faultsOverRounds(); // settle: code pages, JIT, the first mappings
const off = faultsOverRounds();
const okOn = setCpuMemoryCaching(true);
faultsOverRounds(); // the first allocation maps its pages once
const on = faultsOverRounds();
console.log(JSON.stringify({ okOff, okOn, off, on, pages: (MIB << 20) / 4096, rounds: ROUNDS }));
