// stateDict / loadStateDict give an exact resume: 3 steps, save, load into a
// fresh optimizer over copies of the parameters, 2 more steps on both.
import { AdamW, LARS, type OptimizerStateDict, SGD } from "../../src/optim/mod.ts";
import { loadStateDictFile, saveStateDict } from "../../src/io/tensors.ts";
import { randn, type Tensor } from "../../mod.ts";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertBitExact } from "../helpers/assert.ts";
import { freshParams, problem, run } from "./_fixture.ts";

type Make = (params: Tensor[]) => SGD | AdamW | LARS;

const KINDS: Array<[string, Make]> = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ["AdamW", (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
  [
    "LARS",
    (ps) =>
      new LARS([{ params: ps.slice(0, 2) }, { params: ps.slice(2), lars: false }], {
        lr: 0.3,
        weightDecay: 1e-2,
      }),
  ],
];

/** Through a safetensors file and JSON, as a checkpoint would go. */
async function roundTrip(sd: OptimizerStateDict): Promise<OptimizerStateDict> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/opt.safetensors`;
    await saveStateDict(path, sd.tensors, { meta: JSON.stringify(sd.meta) });
    return { tensors: await loadStateDictFile(path), meta: JSON.parse(JSON.stringify(sd.meta)) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const [kind, make] of KINDS) {
  Deno.test(`${kind}: stateDict/loadStateDict resume is bit-identical`, async () => {
    const p = problem(41);
    const a = freshParams(p);
    using optA = make(a);
    run(optA, a, p, 0, 3);
    optA.setLr(optA.lr * 0.5); // a schedule moved the lr: it must come back too
    const b = a.map((t) => t.detach().clone().requiresGrad_());
    using optB = make(b);
    const before = Object.values(optB.stateDict().tensors);
    optB.loadStateDict(await roundTrip(optA.stateDict()));
    const after = Object.values(optB.stateDict().tensors);
    assertEquals(after.length, before.length);
    after.forEach((t, i) => assert(t === before[i], `state tensor ${i} is the same object`));
    assertEquals(optB.paramGroups.map((g) => g.lr), optA.paramGroups.map((g) => g.lr));
    assertEquals(optB.lr, optA.lr);
    run(optA, a, p, 3, 5);
    run(optB, b, p, 3, 5);
    a.forEach((t, i) => assertBitExact(b[i], t, `param ${i}`));
    const sa = optA.stateDict();
    const sb = optB.stateDict();
    assertEquals(sb.meta, sa.meta);
    for (const [k, t] of Object.entries(sa.tensors)) assertBitExact(sb.tensors[k], t, k);
  });
}

Deno.test("loadStateDict rejects another kind, other group sizes and other shapes, changing nothing", () => {
  const p = problem(42);
  const ps = freshParams(p);
  using sgd = new SGD(ps, { lr: 0.1, momentum: 0.9 });
  run(sgd, ps, p, 0, 2);
  const snapshot = Object.values(sgd.stateDict().tensors).map((t) => t.clone());
  using adam = new AdamW(freshParams(p));
  assertThrows(() => sgd.loadStateDict(adam.stateDict()), TypeError, "from AdamW");
  using split = new SGD([{ params: freshParams(p) }, { params: [randn([2])] }], { lr: 0.1 });
  assertThrows(() => sgd.loadStateDict(split.stateDict()), TypeError, "group sizes");
  const sd = sgd.stateDict();
  const bad = { ...sd, tensors: { ...sd.tensors, "0.momentum_buffer": randn([2, 2]) } };
  assertThrows(() => sgd.loadStateDict(bad), TypeError, "shape");
  const badMeta = { ...sd, meta: { ...sd.meta, inited: [1] } };
  assertThrows(() => sgd.loadStateDict(badMeta), TypeError, "inited");
  Object.values(sgd.stateDict().tensors).forEach((t, i) => assertBitExact(t, snapshot[i], "buf"));
  assertEquals(sgd.stateDict().meta.inited, [1, 1, 1, 1]);
});
