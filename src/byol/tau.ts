// The target network's decay rate: tau_k = 1 - (1 - tau_base)(cos(pi k/K) + 1)/2,
// rising from tau_base at k = 0 to 1 at k = K (BYOL, section 3.2).

export type TauSchedule = "cosine" | "constant";

export function tauAt(
  step: number,
  totalSteps: number,
  tauBase: number,
  schedule: TauSchedule = "cosine",
): number {
  if (schedule === "constant") return tauBase;
  if (!(totalSteps > 0)) throw new RangeError(`totalSteps must be > 0, got ${totalSteps}`);
  const k = Math.min(Math.max(step, 0), totalSteps);
  return 1 - (1 - tauBase) * (Math.cos((Math.PI * k) / totalSteps) + 1) / 2;
}
