// One small op through the shim: a.add(b) on 1-element tensors, the result
// freed at once (dispose), and the same inside tidy (batched frees).
import { tensor, tidy } from "../../mod.ts";
import { timeReps } from "../lib.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { nsDispose: number; nsTidy: number; n: number } {
  const n = p.n as number;
  using a = tensor([1]);
  using b = tensor([2]);
  const dispose = timeReps(() => {
    for (let i = 0; i < n; i++) a.add(b).dispose();
  }, p);
  // Scopes of 1000 ops: the frees go out in batches (tt_free_list).
  const tidied = timeReps(() => {
    for (let i = 0; i < n; i += 1000) {
      tidy(() => {
        for (let j = 0; j < 1000; j++) a.add(b);
      });
    }
  }, p);
  return { nsDispose: (dispose.ms * 1e6) / n, nsTidy: (tidied.ms * 1e6) / n, n };
}
