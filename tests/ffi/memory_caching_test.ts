// The CPU memory policy (native/runtime.cpp tt_cpu_memory_caching), checked
// against the kernel's own count of minor page faults: with caching on, a
// large tensor allocated and freed again and again reuses mapped pages; with
// glibc's defaults, each allocation maps and faults in fresh ones.
//
// The measurement runs in its own `deno run` child (tests/helpers/
// page_faults_child.ts): alone, single-threaded and in glibc's main arena, as
// the trainer allocates; in the test process other files' work, worker
// threads and a thread arena's 64 MiB heaps made the counts depend on the
// machine and the run.
import { assert } from "../helpers/asserts.ts";

const CHILD = new URL("../helpers/page_faults_child.ts", import.meta.url).pathname;

interface Faults {
  okOff: boolean;
  okOn: boolean;
  off: number;
  on: number;
  pages: number;
  rounds: number;
}

async function measure(): Promise<Faults> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, "32", "20"],
    env: { TORCH_SHIM_MALLOC: "" }, // the shim's own policy, whatever the parent's
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`page-fault child failed:\n${new TextDecoder().decode(out.stderr)}${stdout}`);
  }
  return JSON.parse(stdout.trim().split("\n").pop()!) as Faults;
}

Deno.test({
  name:
    "memory caching keeps a 32 MiB tensor's pages mapped across steps; glibc's default refaults",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const f = await measure();
    assert(f.okOff, "glibc's mallopt refused the default thresholds");
    assert(f.okOn, "glibc's mallopt refused the caching thresholds");
    // Off: every round faults the whole tensor in again. On: nearly nothing.
    assert(
      f.off > f.rounds * f.pages * 0.8,
      `default policy: ${f.off} faults over ${f.rounds} rounds`,
    );
    assert(f.on < f.pages * 0.5, `caching: ${f.on} faults over ${f.rounds} rounds`);
  },
});
