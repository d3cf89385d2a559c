// The fused list calls of ffi/lists.ts against the same arithmetic done with
// tensor ops, over the layouts the trainer uses: NCHW, channels-last, and a
// mixed pair (whose elements do not pair up in memory order).
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertClose } from "../helpers/assert.ts";
import { copyList, lerpList, TensorList } from "../../ffi/lists.ts";
import { manualSeed, randn, type Tensor, tidy } from "../../mod.ts";

Deno.test("lerpList and copyList equal tensor ops on NCHW, channels-last and mixed layouts", () => {
  manualSeed(5);
  tidy(() => {
    const shape = [4, 3, 5, 6];
    const nchw = () => randn(shape);
    const cl = () => randn(shape).contiguous("channelsLast");
    const pairs: [Tensor, Tensor][] = [
      [nchw(), nchw()],
      [cl(), cl()],
      [nchw(), cl()], // mixed: the shim must not pair them by memory order
      [randn([7]), randn([7])],
    ];
    assertEquals(pairs[1][0].memoryFormat, "channelsLast");
    const w = 0.3;
    const expected = pairs.map(([d, s]) => d.add(s.sub(d).mul(w)));
    lerpList(new TensorList(pairs.map((p) => p[0])), new TensorList(pairs.map((p) => p[1])), w);
    pairs.forEach(([d], i) => assertClose(d, expected[i], 1e-6, 1e-6, `lerp pair ${i}`));
    // The channels-last destination keeps its layout.
    assertEquals(pairs[1][0].memoryFormat, "channelsLast");

    copyList(new TensorList(pairs.map((p) => p[0])), new TensorList(pairs.map((p) => p[1])));
    pairs.forEach(([d, s], i) => assertEquals(d.toArray(), s.toArray(), `copy pair ${i}`));
  });
});

Deno.test("list calls refuse lists of different lengths", () => {
  tidy(() => {
    const a = new TensorList([randn([2]), randn([2])]);
    const b = new TensorList([randn([2])]);
    const e = assertThrows(() => lerpList(a, b, 0.5), TypeError);
    assert(e.message.includes("different lengths (2,1)"), e.message);
    assertThrows(() => copyList(b, a), TypeError);
  });
});
