// The TF32 policy setters, as PyTorch's: torch.set_float32_matmul_precision and
// torch.backends.cudnn.allow_tf32. Both are process-wide: each test puts back
// what it found.
import { assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  cudnnAllowTf32,
  type Float32MatmulPrecision,
  getFloat32MatmulPrecision,
  setCudnnAllowTf32,
  setFloat32MatmulPrecision,
} from "../../mod.ts";

Deno.test("setFloat32MatmulPrecision / getFloat32MatmulPrecision round-trip every mode", () => {
  const prev = getFloat32MatmulPrecision();
  try {
    for (const p of ["medium", "high", "highest", "high"] as Float32MatmulPrecision[]) {
      setFloat32MatmulPrecision(p);
      assertEquals(getFloat32MatmulPrecision(), p);
    }
  } finally {
    setFloat32MatmulPrecision(prev);
  }
  assertEquals(getFloat32MatmulPrecision(), prev);
});

Deno.test("setCudnnAllowTf32 / cudnnAllowTf32 round-trip", () => {
  const prev = cudnnAllowTf32();
  try {
    for (const on of [!prev, prev, false, true]) {
      setCudnnAllowTf32(on);
      assertEquals(cudnnAllowTf32(), on);
    }
  } finally {
    setCudnnAllowTf32(prev);
  }
  assertEquals(cudnnAllowTf32(), prev);
});

Deno.test("the TF32 setters check their argument and change nothing on a bad one", () => {
  const prevP = getFloat32MatmulPrecision();
  const prevC = cudnnAllowTf32();
  assertThrows(
    () => setFloat32MatmulPrecision("low" as never),
    TypeError,
    'setFloat32MatmulPrecision(precision): precision must be one of "highest", "high", "medium", got "low"',
  );
  assertThrows(
    () => setCudnnAllowTf32(1 as never),
    TypeError,
    "setCudnnAllowTf32(on): on must be a boolean (true or false), got 1",
  );
  assertEquals([getFloat32MatmulPrecision(), cudnnAllowTf32()], [prevP, prevC]);
});
