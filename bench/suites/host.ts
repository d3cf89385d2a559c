// host: what the host pays per training step on a tiny model (bench/cases/host.ts):
// FFI calls and microseconds per step, eager and, on CUDA, captured in a CUDA
// graph (the goal: at most 10 calls a captured step). Ours only: the row
// compares our two modes (captured against eager); without CUDA it shows the
// eager figures and says the captured ones need a GPU (scripts/gpu_check.sh).
import type { BenchContext } from "../context.ts";
import { log } from "../log.ts";
import { loadavg } from "../machine.ts";
import type { HostMode } from "../cases/host.ts";

export async function run(ctx: BenchContext): Promise<void> {
  log(`host: tiny trainer step (convnet width 4, batch 2) (load ${loadavg()})`);
  const o = await ctx.sides.ours("host", { ...ctx.base });
  const r = o.result as { device: string; eager: HostMode; captured: HostMode | null };
  ctx.details.host = r;
  const cap = r.captured;
  const note = cap === null
    ? `${r.device}: captured needs CUDA graphs (a CUDA device); eager ${
      r.eager.callsPerStep.toFixed(1)
    } calls/step`
    : `${r.device}: captured ${cap.callsPerStep.toFixed(1)} calls/step, eager ${
      r.eager.callsPerStep.toFixed(1)
    }`;
  ctx.rows.add(
    "host: FFI calls per trainer step, tiny: captured (1st column) vs eager (2nd)",
    "calls",
    cap?.callsPerStep ?? NaN,
    r.eager.callsPerStep,
    "lower",
    null,
    "captured <= 10",
    note,
  );
  ctx.rows.add(
    "host: us per trainer step, tiny: captured (1st column) vs eager (2nd)",
    "us",
    cap?.usPerStep ?? NaN,
    r.eager.usPerStep,
    "lower",
    null,
    "",
    `${r.device}: eager ${r.eager.usPerStep.toFixed(0)} us/step`,
  );
}
