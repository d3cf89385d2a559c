// Learning-rate and EMA schedules as functions of the step.

export interface WarmupCosineOptions {
  /** The lr at the end of warm-up. */
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** The floor the cosine decays to at totalSteps (default 0). */
  finalLr?: number;
  /** The lr at step 0 (default 0). */
  startLr?: number;
}

/**
 * Linear warm-up from startLr to baseLr over warmupSteps, then a cosine from
 * baseLr to finalLr at totalSteps (BYOL's schedule); constant at finalLr after.
 */
export function warmupCosine(
  { baseLr, warmupSteps, totalSteps, finalLr = 0, startLr = 0 }: WarmupCosineOptions,
): (step: number) => number {
  if (!(warmupSteps >= 0 && totalSteps >= warmupSteps)) {
    throw new RangeError(
      `warmupCosine: need 0 <= warmupSteps <= totalSteps, got ${warmupSteps}, ${totalSteps}`,
    );
  }
  return (step) => {
    if (step < warmupSteps) return startLr + (baseLr - startLr) * (step / warmupSteps);
    const span = totalSteps - warmupSteps;
    const t = span === 0 ? 1 : Math.min((step - warmupSteps) / span, 1);
    return finalLr + (baseLr - finalLr) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/** BYOL's target decay: tau = 1 - (1 - tauBase) * (cos(pi k / K) + 1) / 2, k clamped to [0, K]. */
export function cosineTau(step: number, totalSteps: number, tauBase: number): number {
  const k = Math.min(Math.max(step, 0), totalSteps);
  const t = totalSteps > 0 ? k / totalSteps : 1;
  return 1 - (1 - tauBase) * (Math.cos(Math.PI * t) + 1) / 2;
}
