// The fused list calls of ffi/lists.ts against the same arithmetic done with
// tensor ops, over the layouts the trainer uses: NCHW, channels-last, and a
// mixed pair (whose elements do not pair up in memory order).
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertLerpClose, EPS_F32 } from "../helpers/assert.ts";
import {
  adamwStep,
  adamwStepCapturable,
  copyList,
  fillScalars,
  larsStep,
  larsStepCapturable,
  lerpList,
  lerpListTensor,
  readScalars,
  sgdStep,
  sgdStepCapturable,
  TensorList,
  zeroGradList,
} from "../../ffi/lists.ts";
import { assignData } from "../../ffi/tensor.ts";
import { full, manualSeed, randn, type Tensor, tidy, TorchError, zeros } from "../../mod.ts";

const EPS_F64 = 2 ** -52;

/**
 * lerpList's tolerance, in units of EPS_F32 = 2^-23 = 2u (float32's unit roundoff u = 2^-24).
 * The fused lerp may evaluate a + w (b - a) in three roundings (or two, with an FMA), or, as
 * ATen's lerp_ does for |w| >= 0.5, b - (1 - w)(b - a), where 1 - w is exact (Sterbenz) and two
 * roundings and the final subtraction remain; the weight itself is rounded to float32 once (w
 * (1 + e0), the reference here takes the double). To first order in u, with d = b - a and the
 * exact x = a + w d: one-sided, |ours - x| <= u |w d| (e0) + 2u |w d| (b - a, the product)
 * + u |x| (the sum) <= u (|a| + 4 |w| |d|); two-sided (1/2 <= w <= 1, so |1 - w| <= |w|),
 * 2u |1 - w| |d| + u |w d| + u |x| <= u (|a| + 4 |w| |d|) as well. So 4u = 2 EPS_F32 times
 * (|a| + |w| |d|) bounds every element; the O(u^2) terms are 2^-22 of that. A wrong weight
 * (off by 1e-6) or pairing the mixed layouts by memory order gives errors far above it.
 */
const LERP_K = 2;

Deno.test("lerpList and copyList equal tensor ops on NCHW, channels-last and mixed layouts", () => {
  manualSeed(5);
  // 0.3 takes ATen's a + w (b - a) branch, 0.75 its b - (1 - w)(b - a) one.
  for (const w of [0.3, 0.75]) {
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
      const before = pairs.map(([d]) => d.clone());
      lerpList(new TensorList(pairs.map((p) => p[0])), new TensorList(pairs.map((p) => p[1])), w);
      pairs.forEach(([d, s], i) =>
        assertLerpClose(d, before[i], s, w, LERP_K, `lerp pair ${i}, w ${w}`)
      );
      // The channels-last destination keeps its layout.
      assertEquals(pairs[1][0].memoryFormat, "channelsLast");

      copyList(new TensorList(pairs.map((p) => p[0])), new TensorList(pairs.map((p) => p[1])));
      pairs.forEach(([d, s], i) => assertEquals(d.toArray(), s.toArray(), `copy pair ${i}`));
    });
  }
});

Deno.test("lerpListTensor (a device weight) equals lerpList on NCHW, channels-last and mixed layouts", () => {
  manualSeed(6);
  for (const w of [0.3, 0.75]) {
    tidy(() => {
      const shape = [4, 3, 5, 6];
      const make = () => [
        randn(shape),
        randn(shape).contiguous("channelsLast"),
        randn(shape),
        randn([7]).to("float64"), // the float32 weight is cast to the dst's dtype
      ];
      const dst = make();
      dst[2] = dst[2].contiguous("channelsLast"); // mixed with src[2] (NCHW)
      const src = make();
      const before = dst.map((t) => t.clone());
      const viaList = dst.map((t) => t.clone());
      lerpList(new TensorList(viaList), new TensorList(src), w);
      const weight = full([], w); // float32, 0-dim
      lerpListTensor(new TensorList(dst), new TensorList(src), weight);
      dst.forEach((d, i) => {
        // float64 pair: LERP_K's bound holds a fortiori (w rounded to float32 once, as lerpList's).
        assertLerpClose(d, before[i], src[i], Math.fround(w), LERP_K, `pair ${i}, w ${w}`);
        assertLerpClose(viaList[i], before[i], src[i], w, LERP_K, `lerpList pair ${i}, w ${w}`);
        assertEquals(d.dtype, before[i].dtype);
      });
      assertEquals(dst[1].memoryFormat, "channelsLast");
      assertEquals(weight.item(), Math.fround(w), "the weight is not written");
    });
  }
});

Deno.test("fillScalars writes and readScalars reads one-element tensors", () => {
  tidy(() => {
    const ts = [zeros([]), zeros([1]), zeros([], { dtype: "float64" }), zeros([1, 1])];
    const list = new TensorList(ts);
    fillScalars(list, new Float64Array([1.5, -2, 1 / 3, 1e-3]));
    assertEquals(ts.map((t) => t.item()), [1.5, -2, 1 / 3, Math.fround(1e-3)]);
    assertEquals(Array.from(readScalars(list, new Float64Array(4))), [
      1.5,
      -2,
      1 / 3,
      Math.fround(1e-3),
    ]);
    assertEquals(ts.map((t) => t.shape), [[], [1], [], [1, 1]]);
    const e = assertThrows(() => fillScalars(list, new Float64Array(3)), TypeError);
    assert(e.message.includes("3 per-parameter entries for 4 tensors"), e.message);
    assertThrows(
      () => fillScalars(list, [1, 2, 3, 4] as never),
      TypeError,
      "fillScalars(list, values): values must be a Float64Array, got [1, 2, 3, 4]",
    );
    assertThrows(() => readScalars(new TensorList([zeros([2])]), new Float64Array(1)), TorchError);
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

// ---- no freed handle reaches the shim (issue 11) ----

const SGD_O = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
const ADAMW_O = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
const LARS_O = { lr: 0.1, momentum: 0.9, weightDecay: 0, trustCoefficient: 1e-3, nesterov: false };

/** Each fused call with the number of lists it takes. */
const CALLS: [string, number, (ls: TensorList[]) => void][] = [
  ["lerpList", 2, ([d, s]) => lerpList(d, s, 0.5)],
  ["copyList", 2, ([d, s]) => copyList(d, s)],
  ["zeroGradList", 1, ([l]) => zeroGradList(l, true)],
  ["sgdStep", 2, ([p, b]) => sgdStep(p, b, new Uint8Array(3), SGD_O)],
  ["adamwStep", 3, ([p, m, v]) => adamwStep(p, m, v, new BigInt64Array(3), ADAMW_O)],
  ["larsStep", 2, ([p, b]) => larsStep(p, b, new Uint8Array(3), LARS_O)],
  ["lerpListTensor", 2, ([d, s]) => lerpListTensor(d, s, full([], 0.5))],
  ["fillScalars", 1, ([l]) => fillScalars(l, new Float64Array(3))],
  ["readScalars", 1, ([l]) => readScalars(l, new Float64Array(3))],
  [
    "sgdStepCapturable",
    2,
    ([p, b]) => sgdStepCapturable(p, b, new Uint8Array(3), full([], 0.1), SGD_O),
  ],
  [
    "adamwStepCapturable",
    4,
    ([p, m, v, s]) => adamwStepCapturable(p, m, v, s, full([], 0.1), ADAMW_O),
  ],
  [
    "larsStepCapturable",
    2,
    ([p, b]) => larsStepCapturable(p, b, new Uint8Array(3), full([], 0.1), LARS_O),
  ],
];

for (const [call, nLists, fn] of CALLS) {
  Deno.test(`${call} throws a TorchError naming the list when one of its tensors was disposed`, () => {
    for (let k = 0; k < nLists; k++) {
      tidy(() => {
        const ts = Array.from({ length: nLists }, () => {
          const l = [randn([3]), randn([2, 2]), randn([4])];
          l.forEach((t) => t.requiresGrad_(true));
          return l;
        });
        const lists = ts.map((l, i) => new TensorList(l, { label: `list ${i}`, item: "param" }));
        ts[k][1].dispose();
        const e = assertThrows(() => fn(lists), TorchError);
        assert(e.message.startsWith(`${call}: param 1 of list ${k} was disposed`), e.message);
        assert(e.message.includes("keep()"), e.message);
      });
    }
  });
}

/** Values of a float tensor as doubles, in logical (row-major) order. */
function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as Float32Array | Float64Array);
}

Deno.test("lerpList and copyList follow tensors whose data was swapped (float64, channels-last)", () => {
  manualSeed(8);
  tidy(() => {
    const make = () => [randn([4, 3, 5, 6]), randn([7]), randn([2, 3])];
    const d = make();
    const s = make();
    const dl = new TensorList(d);
    const sl = new TensorList(s);
    const d0 = d.map(values);
    const s0 = s.map(values);
    // Move after the lists were packed, as Module.to() / channelsLast() do.
    for (const l of [d, s]) {
      assignData(l[0], l[0].contiguous("channelsLast"));
      assignData(l[1], l[1].to("float64"));
    }
    assertEquals(d[0].memoryFormat, "channelsLast");
    assertEquals(d[1].dtype, "float64");
    const w = 0.25;
    lerpList(dl, sl, w);
    d.forEach((t, i) => {
      const got = values(t);
      // LERP_K's bound in the tensor's own epsilon, plus the float64 reference's own three
      // roundings here (<= 3 u64 (|a| + |w| |d|) < 2 EPS_F64 (...)).
      const eps = (t.dtype === "float64" ? EPS_F64 : EPS_F32) * LERP_K + 2 * EPS_F64;
      d0[i].forEach((a, j) => {
        const want = a + w * (s0[i][j] - a);
        const bound = eps * (Math.abs(a) + Math.abs(w) * Math.abs(s0[i][j] - a));
        assert(
          Math.abs(got[j] - want) <= bound,
          `lerp ${i}[${j}]: ${got[j]} vs ${want}, bound ${bound}`,
        );
      });
    });
    assertEquals(d[0].memoryFormat, "channelsLast");
    copyList(dl, sl);
    d.forEach((t, i) => assertEquals(values(t), s0[i], `copy ${i}`));
  });
});

Deno.test("zeroGradList follows a swapped tensor (its new data's grad is dropped)", () => {
  tidy(() => {
    const a = randn([3]).requiresGrad_(true);
    const list = new TensorList([a]);
    const b = randn([3]).to("float64").requiresGrad_(true);
    assignData(a, b);
    assert(b.isDisposed, "the source of a data swap is disposed");
    a.sum().backward();
    assert(a.grad !== null);
    zeroGradList(list, true);
    assertEquals(a.grad, null);
  });
});
