// Run by ffi_calls_test.ts in a process of its own (the count is process-wide,
// and `deno test --parallel` runs other test files in this process): makes
// known sequences of shim calls and prints the count's change over each as JSON.
import { copyList, fillScalars, lerpList, TensorList, zeroGradList } from "../../ffi/lists.ts";
import { ffiCalls, full, isGradEnabled, randn, type Tensor } from "../../mod.ts";
import { AdamW, LARS, SGD } from "../../src/optim/mod.ts";

const out: Record<string, number> = {};
function count(name: string, fn: () => void): void {
  const before = ffiCalls();
  fn();
  out[name] = ffiCalls() - before;
}

const la = new TensorList([randn([3])]);
const lb = new TensorList([randn([3])]);
const lc = new TensorList([randn([4])]);
const w = new TensorList([full([], 0.5)]);

count("nothing", () => {});
count("ffiCalls", () => ffiCalls());
count("five list calls", () => {
  lerpList(la, lb, 0.5);
  copyList(la, lb);
  zeroGradList(la, true);
  fillScalars(w, new Float64Array([0.25]));
  isGradEnabled();
});
// Fails in the shim (shapes [3] and [4]): counted once; tt_last_error is not counted.
count("failed call", () => {
  try {
    lerpList(la, lc, 0.5);
  } catch (_) {
    return;
  }
  throw new Error("lerpList of [3] and [4] should have failed");
});

// Optimizers over two groups: one call per group and step, one per setLr.
const params = [randn([4, 3]), randn([3]), randn([2, 2]), randn([5])].map((t) => t.requiresGrad_());
const groups = (
  ps: Tensor[],
) => [{ params: ps.slice(0, 2) }, { params: ps.slice(2), lrScale: 0.5 }];
for (const capturable of [false, true]) {
  const opts = [
    new SGD(groups(params), { lr: 0.1, momentum: 0.9, capturable }),
    new AdamW(groups(params), { capturable }),
    new LARS(groups(params), { lr: 0.1, capturable }),
  ];
  for (const opt of opts) {
    const name = `${opt.constructor.name}${capturable ? " capturable" : ""}`;
    params.forEach((p) => p.grad = randn(p.shape));
    count(`${name} step`, () => opt.step());
    count(`${name} second step`, () => opt.step());
    count(`${name} setLr`, () => opt.setLr(0.05));
    opt.dispose();
  }
}
console.log(JSON.stringify(out));
