// Generator: torch.Generator's streams, state round trip, disposal.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertBitExact } from "../helpers/assert.ts";
import { reference } from "../helpers/reference.ts";
import { Generator } from "../../ffi/generator.ts";
import { TorchError } from "../../ffi/error.ts";
import { manualSeed } from "../../ffi/runtime.ts";
import { rand } from "../../ffi/creation.ts";

Deno.test("a seeded Generator draws torch.Generator().manual_seed(seed)'s numbers", async () => {
  using g = new Generator(1234);
  const u = g.rand([3, 5]);
  const n = g.randn([7]);
  const d = g.rand([4], { dtype: "float64" });
  const theirs = await reference(`
    g = torch.Generator().manual_seed(1234)
    out["u"] = torch.rand(3, 5, generator=g)
    out["n"] = torch.randn(7, generator=g)
    out["d"] = torch.rand(4, generator=g, dtype=torch.float64)
  `);
  assertBitExact(u, theirs.u, "rand");
  assertBitExact(n, theirs.n, "randn");
  assertBitExact(d, theirs.d, "rand float64");
});

Deno.test("Generator state round-trips and is independent of the global generator", () => {
  using g = new Generator(5);
  const state = g.getState();
  assertEquals(state.dtype, "uint8");
  const a = Array.from(g.rand([6]).toTypedArray(), Number);
  manualSeed(0);
  rand([100]); // the global stream does not move g
  g.setState(state);
  assertEquals(Array.from(g.rand([6]).toTypedArray(), Number), a);
  using h = new Generator(6);
  assert(Array.from(h.rand([6]).toTypedArray(), Number).some((v, i) => v !== a[i]));
  h.dispose();
  assert(h.isDisposed);
  assertThrows(() => h.rand([1]), TorchError, "disposed");
  assertThrows(() => new Generator(-1), TypeError, "seed");
  assertThrows(() => g.setState(rand([3])), TorchError);
});
