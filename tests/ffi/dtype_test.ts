// Round trips of each dtype are bit-exact; random draws equal PyTorch's for the same seed; the dtype
// table (ffi/dtype.ts) holds PyTorch's facts.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  arange,
  full,
  manualSeed,
  ones,
  rand,
  randint,
  randn,
  randperm,
  tensor,
  zeros,
} from "../../mod.ts";
import { fromBytes } from "../../ffi/creation.ts";
import { dtypeOfArray, DTYPES, newTypedArray } from "../../ffi/dtype.ts";
import { reference } from "../helpers/reference.ts";
import { python } from "../helpers/python.ts";
import { assertBitExact } from "../helpers/assert.ts";

Deno.test("typed-array round trips are bit-exact for every dtype", () => {
  const f32 = new Float32Array([1.5, -0, Infinity, NaN, 3.4e38, 1e-45]);
  assertEquals(new Uint8Array(tensor(f32).toTypedArray().buffer), new Uint8Array(f32.buffer));
  const f64 = new Float64Array([Math.PI, -1e308, 5e-324]);
  assertEquals(tensor(f64).toTypedArray(), f64);
  const i32 = new Int32Array([2147483647, -2147483648, 0]);
  assertEquals(tensor(i32).toTypedArray(), i32);
  const i64 = new BigInt64Array([9007199254740993n, -(2n ** 63n), 0n]);
  assertEquals(tensor(i64).toTypedArray(), i64);
  const u8 = new Uint8Array([0, 255, 128]);
  assertEquals(tensor(u8).toTypedArray(), u8);
  const b = tensor([true, false, true]);
  assertEquals(b.dtype, "bool");
  assertEquals(b.toArray(), [true, false, true]);
});

Deno.test("float16 and bfloat16 convert exactly for representable values", () => {
  const vals = [1, -2.5, 0.125, 65504, 0];
  for (const dt of ["float16", "bfloat16"] as const) {
    const t = tensor(vals, { dtype: dt });
    assertEquals(t.dtype, dt);
    assertEquals(
      Array.from(t.toTypedArray() as Float32Array),
      vals.map((v) => dt === "bfloat16" && v === 65504 ? 65536 : v),
    );
    const raw = t.toBytes();
    assertBitExact(fromBytes(raw, [5], dt), t, dt);
  }
  // bfloat16 bits of 1.0 are 0x3f80
  assertEquals(Array.from(tensor([1], { dtype: "bfloat16" }).toBytes()), [0x80, 0x3f]);
});

Deno.test("nested arrays: shape and values", () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assertEquals(t.shape, [2, 3]);
  assertEquals(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assertEquals(tensor(7).shape, []);
  assertEquals(tensor(7).item(), 7);
  assertEquals(tensor([1, 2], { dtype: "int64" }).toArray(), [1, 2]);
  assertEquals(zeros([2, 0]).shape, [2, 0]);
});

Deno.test("creation ops have their closed forms", () => {
  assertEquals(ones([2, 2]).toArray(), [[1, 1], [1, 1]]);
  assertEquals(full([3], 2.5).toArray(), [2.5, 2.5, 2.5]);
  assertEquals(arange(5).toArray(), [0, 1, 2, 3, 4]);
  assertEquals(arange(5).dtype, "int64");
  const p = randperm(10).toArray() as number[];
  assertEquals([...p].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const r = randint(3, 7, [1000]).toTypedArray() as BigInt64Array;
  assertEquals(Math.min(...Array.from(r, Number)), 3);
  assertEquals(Math.max(...Array.from(r, Number)), 6);
});

Deno.test("manualSeed gives the same draws as torch.manual_seed on the same libtorch", async () => {
  manualSeed(1234);
  const ours = { u: rand([5, 3]), n: randn([7]), i: randint(0, 100, [6]), p: randperm(8) };
  const theirs = await reference(`
    torch.manual_seed(1234)
    out['u'] = torch.rand(5, 3); out['n'] = torch.randn(7)
    out['i'] = torch.randint(0, 100, (6,)); out['p'] = torch.randperm(8)
  `);
  for (const k of Object.keys(ours) as (keyof typeof ours)[]) {
    assertBitExact(ours[k], theirs[k], k);
  }
});

Deno.test("the dtype table agrees with PyTorch (code, size, floating, safetensors name) and the shim", async () => {
  // PyTorch's facts of each dtype, and tests/py/st.py's safetensors name for it.
  const facts = JSON.parse(
    await python(`
import json, torch, st
out = {}
for name in ${JSON.stringify(DTYPES.map((d) => d.name))}:
    d = getattr(torch, name)
    out[name] = {"bytes": torch.empty(0, dtype=d).element_size(),
                 "floating": d.is_floating_point, "safetensors": st.NAMES[d]}
print(json.dumps(out))
`),
  );
  for (const d of DTYPES) {
    assertEquals(
      { bytes: d.bytes, floating: d.floating, safetensors: d.safetensors },
      facts[d.name],
      d.name,
    );
    assertEquals(d.array.BYTES_PER_ELEMENT, d.bytes, `${d.name}: array element size`);
    // The code reaches libtorch and comes back as the same name (tt_info).
    assertEquals(zeros([1], { dtype: d.name }).dtype, d.name);
    const a = newTypedArray(d.name, 3);
    assertEquals(a.length, 3);
    assert(a instanceof d.array, d.name);
  }
  assertEquals(dtypeOfArray(new Uint8Array(1)), "uint8");
  assertEquals(dtypeOfArray(new Uint16Array(1)), "float16");
  assertEquals(dtypeOfArray(new BigInt64Array(1)), "int64");
  assertThrows(
    () => dtypeOfArray(new Uint32Array(1) as unknown as Uint8Array),
    TypeError,
    "Uint32Array holds no dtype",
  );
});
