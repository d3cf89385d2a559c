// Feature extraction: uint8 -> [0, 1] -> per-channel normalisation, batched,
// under noGrad, with nothing left behind but the result.
import { assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertClose } from "../helpers/assert.ts";
import {
  isGradEnabled,
  liveTensorCount,
  manualSeed,
  randint,
  randn,
  type Tensor,
  tensor,
  tidy,
} from "../../mod.ts";
import { extractFeatures } from "../../src/eval/mod.ts";

const normalize = { mean: [0.5, 0.25, 0.1], std: [0.2, 0.3, 0.4] };

Deno.test("extractFeatures normalises per channel, batches, and runs under noGrad", () => {
  manualSeed(31);
  using images = randint(0, 256, [10, 3, 4, 5], { dtype: "uint8" });
  using w = randn([3, 6]).requiresGrad_();
  const seen: number[] = [];
  // A stand-in encoder: global average pool, then a linear map with a grad-requiring weight.
  const forward = (x: Tensor): Tensor => {
    seen.push(x.size(0));
    assertEquals(isGradEnabled(), false, "forward runs under noGrad");
    assertEquals(x.dtype, "float32");
    return x.mean({ dim: [2, 3] }).matmul(w);
  };
  const before = liveTensorCount();
  const f = extractFeatures(forward, images, { batchSize: 4, normalize });
  assertEquals(liveTensorCount(), before + 1, "only the features survive");
  assertEquals(seen, [4, 4, 2]);
  assertEquals([f.shape, f.dtype, f.requiresGrad], [[10, 6], "float32", false]);
  using want = tidy(() => {
    const mean = tensor(normalize.mean, { shape: [1, 3, 1, 1] });
    const std = tensor(normalize.std, { shape: [1, 3, 1, 1] });
    const x = images.float().div(255).sub(mean).div(std);
    return x.mean({ dim: [2, 3] }).matmul(w).detach();
  });
  assertClose(f, want, 1e-5, 1e-5, "features");
  f.dispose();
});

Deno.test("extractFeatures flattens (N, D, 1, 1) outputs and takes float images as [0, 1]", () => {
  using images = tensor([0, 0.5, 1, 1], { shape: [4, 1, 1, 1] });
  using f = extractFeatures((x) => x.clone(), images, {
    normalize: { mean: [0.5], std: [0.5] },
  });
  assertEquals(f.shape, [4, 1]);
  assertEquals(f.toArray(), [[-1], [0], [1], [1]]);
});

Deno.test("extractFeatures rejects bad shapes and statistics, and frees on a throwing forward", () => {
  using images = randint(0, 256, [5, 3, 2, 2], { dtype: "uint8" });
  using flat = randint(0, 256, [5, 12], { dtype: "uint8" });
  assertThrows(() => extractFeatures((x) => x, flat, { normalize }), TypeError, "(N, C, H, W)");
  assertThrows(
    () => extractFeatures((x) => x, images, { normalize: { mean: [0.5], std: [0.5] } }),
    RangeError,
    "3 means and stds",
  );
  assertThrows(
    () => extractFeatures((x) => x, images, { normalize: { ...normalize, std: [1, 0, 1] } }),
    RangeError,
    "std must be positive",
  );
  const before = liveTensorCount();
  let calls = 0;
  assertThrows(
    () =>
      extractFeatures(
        (x) => {
          if (++calls === 2) throw new Error("encoder failed");
          return x.flatten(1);
        },
        images,
        { batchSize: 2, normalize },
      ),
    Error,
    "encoder failed",
  );
  assertEquals(liveTensorCount(), before);
});
