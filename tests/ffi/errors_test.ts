// Errors a user can cause come back as clear TorchErrors, and the process keeps working.
import { assertEquals, assertThrows } from "../helpers/asserts.ts";
import { F, ones, randn, tensor, TorchError, zeros } from "../../mod.ts";

Deno.test("mismatched matmul shapes name both shapes", () => {
  assertThrows(() => ones([2, 3]).matmul(ones([4, 5])), TorchError, "(2x3 and 4x5)");
});

Deno.test("conv2d with the wrong channel count says what it expected", () => {
  const x = randn([1, 3, 8, 8]);
  const w = randn([4, 5, 3, 3]);
  assertThrows(() => F.conv2d(x, w), TorchError, "expected input[1, 3, 8, 8] to have 5 channels");
});

Deno.test("an unknown device or dtype is refused before reaching libtorch", () => {
  assertThrows(() => zeros([2], { device: "tpu" }), TypeError, 'options.device must be "cpu"');
  assertThrows(() => zeros([2], { dtype: "float8" as never }), TypeError, 'got "float8"');
  assertThrows(() => ones([2]).to({ device: "cuda:x" }), TypeError, "cuda:N");
});

Deno.test("use after dispose and double dispose raise; the process keeps working", () => {
  const t = ones([3]);
  t.dispose();
  assertThrows(() => t.add(1), TorchError, "disposed");
  assertThrows(() => t.dispose(), TorchError, "already disposed");
  t[Symbol.dispose](); // `using` after an explicit dispose is tolerated
  assertEquals(ones([2]).add(1).toArray(), [2, 2]);
});

Deno.test("bad shapes and ranges are TorchErrors, not crashes", () => {
  assertThrows(() => ones([6]).view(4, 2), TorchError, "shape '[4, 2]' is invalid");
  assertThrows(() => ones([2, 2]).sum({ dim: 5 }), TorchError, "Dimension out of range");
  assertThrows(() => ones([2]).item(), TorchError, "cannot be converted to Scalar");
  assertThrows(() => tensor([[1, 2], [3]]), TypeError, "ragged");
  assertThrows(() => tensor([1, 2, 3], { shape: [2, 2] }), TypeError, "does not hold 3 values");
  assertThrows(() => ones([2]).add(ones([3])), TorchError, "must match");
});

Deno.test("CUDA tensors fail cleanly where CUDA is absent", { ignore: false }, async () => {
  const { cuda } = await import("../../mod.ts");
  if (cuda.isAvailable()) return; // covered by the GPU checks
  assertThrows(() => ones([2], { device: "cuda" }), TorchError);
  assertEquals(ones([1]).item(), 1);
});

Deno.test("in-place arithmetic on integer tensors keeps them integer", () => {
  const t = tensor([1, 2, 3], { dtype: "int64" });
  t.add_(tensor([1, 1, 1], { dtype: "int64" }));
  t.add_(2);
  t.mul_(3);
  assertEquals(t.toArray(), [12, 15, 18]);
  assertEquals(t.dtype, "int64");
});
