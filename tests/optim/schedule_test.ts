// Schedules: closed-form values at the landmarks.
import { cosineTau, warmupCosine } from "../../src/optim/mod.ts";
import { assertAlmostEquals, assertThrows } from "../helpers/asserts.ts";

Deno.test("warmupCosine: 0 at step 0, baseLr at the end of warm-up, midpoint, finalLr at the end", () => {
  const f = warmupCosine({ baseLr: 0.4, warmupSteps: 10, totalSteps: 110, finalLr: 0.004 });
  assertAlmostEquals(f(0), 0, 1e-15);
  assertAlmostEquals(f(5), 0.2, 1e-15);
  assertAlmostEquals(f(10), 0.4, 1e-15);
  assertAlmostEquals(f(60), (0.4 + 0.004) / 2, 1e-15);
  assertAlmostEquals(f(35), 0.004 + 0.396 * 0.5 * (1 + Math.cos(Math.PI / 4)), 1e-15);
  assertAlmostEquals(f(110), 0.004, 1e-15);
  assertAlmostEquals(f(500), 0.004, 1e-15);
});

Deno.test("warmupCosine: start value, no warm-up, floor 0 by default", () => {
  const g = warmupCosine({ baseLr: 1, warmupSteps: 4, totalSteps: 8, startLr: 0.2 });
  assertAlmostEquals(g(0), 0.2, 1e-15);
  assertAlmostEquals(g(2), 0.6, 1e-15);
  assertAlmostEquals(g(8), 0, 1e-15);
  const h = warmupCosine({ baseLr: 2, warmupSteps: 0, totalSteps: 100 });
  assertAlmostEquals(h(0), 2, 1e-15);
  assertAlmostEquals(h(50), 1, 1e-15);
  assertThrows(() => warmupCosine({ baseLr: 1, warmupSteps: 10, totalSteps: 5 }), RangeError);
});

Deno.test("cosineTau: tauBase at 0, (1 + tauBase) / 2 at K/2, 1 at K", () => {
  assertAlmostEquals(cosineTau(0, 1000, 0.996), 0.996, 1e-15);
  assertAlmostEquals(cosineTau(500, 1000, 0.996), (1 + 0.996) / 2, 1e-15);
  assertAlmostEquals(cosineTau(1000, 1000, 0.996), 1, 1e-15);
  assertAlmostEquals(cosineTau(2000, 1000, 0.99), 1, 1e-15);
  assertAlmostEquals(cosineTau(250, 1000, 0.99), 1 - 0.01 * (Math.SQRT1_2 + 1) / 2, 1e-15);
});
