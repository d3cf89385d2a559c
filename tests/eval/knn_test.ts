// The weighted kNN classifier: a hand-computed case, known answers on
// synthetic features, and agreement with a plain PyTorch implementation.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { reference } from "../helpers/reference.ts";
import { liveTensorCount, manualSeed, randn, type Tensor, tensor } from "../../mod.ts";
import { knnEvaluate, knnEvaluateMany, knnPredict } from "../../src/eval/mod.ts";
import { binomialBand, clusters, noise } from "./_synthetic.ts";

// Four bank points on the unit circle: A at 0 deg (class 0), B and C at +-60 deg
// (class 1), D at 180 deg (class 2). Query 1 points at A, query 2 at D (both
// unnormalised, so the classifier must normalise them).
//  q1, k = 3: A (sim 1) votes e^(1/T) for 0; B, C (sim 0.5) vote 2 e^(0.5/T) for 1.
//    Class 0 wins iff T < 0.5 / ln 2 = 0.72.
//  q2, k = 3: D (sim 1) votes e^(1/T) for 2; B, C (sim -0.5) vote 2 e^(-0.5/T) for 1.
//    Class 2 wins iff T < 1.5 / ln 2 = 2.16.
const S = Math.sqrt(3) / 2;
const bank = () => tensor([[1, 0], [0.5, S], [0.5, -S], [-1, 0]]);
const bankLabels = () => tensor([0, 1, 1, 2], { dtype: "int64" });
const queries = () => tensor([[2, 0], [-3, 0]]);
const queryLabels = () => tensor([0, 2], { dtype: "int64" });

Deno.test("hand-computed kNN: a near neighbour outweighs two far ones at small T, not at large T", () => {
  using b = bank();
  using l = bankLabels();
  using q = queries();
  // Ranked classes per query; the class without a vote ranks last.
  using cold = knnPredict(b, l, q, { k: 3, temperature: 0.1, topn: 3 });
  assertEquals(cold.toArray(), [[0, 1, 2], [2, 1, 0]]);
  using hot = knnPredict(b, l, q, { k: 3, temperature: 10, topn: 3 });
  assertEquals(hot.toArray(), [[1, 0, 2], [1, 2, 0]]);
  // Either side of the q1 threshold T = 0.72 (q2 keeps class 2 below 2.16).
  using below = knnPredict(b, l, q, { k: 3, temperature: 0.7, topn: 1 });
  assertEquals(below.toArray(), [[0], [2]]);
  using above = knnPredict(b, l, q, { k: 3, temperature: 0.75, topn: 1 });
  assertEquals(above.toArray(), [[1], [2]]);
  // k = 1: the nearest neighbour alone decides, whatever T.
  using one = knnPredict(b, l, q, { k: 1, temperature: 10, topn: 1 });
  assertEquals(one.toArray(), [[0], [2]]);
  // k beyond the bank uses the whole bank: at T = 10, q1's class 1 (2 e^0.05)
  // beats class 0 (e^0.1) and class 2 (e^-0.1).
  using all = knnPredict(b, l, q, { k: 200, temperature: 10, topn: 3 });
  assertEquals((all.toArray() as number[][])[0], [1, 0, 2]);
});

Deno.test("hand-computed kNN accuracies, several k in one pass", () => {
  using b = bank();
  using l = bankLabels();
  using q = queries();
  using y = queryLabels();
  assertEquals(knnEvaluate(b, l, q, y, { k: 3, temperature: 0.1 }), {
    k: 3,
    top1: 100,
    top5: 100,
  });
  // Three classes, so "top-5" holds every class.
  assertEquals(knnEvaluateMany(b, l, q, y, { ks: [1, 3], temperature: 10 }), [
    { k: 1, top1: 100, top5: 100 },
    { k: 3, top1: 0, top5: 100 },
  ]);
  // Tiny temperatures would overflow exp(sim / T) in float32 without the max shift.
  assertEquals(knnEvaluate(b, l, q, y, { k: 3, temperature: 1e-3 }).top1, 100);
});

Deno.test("well-separated clusters: 100% top-1 for k = 20 and 200", () => {
  manualSeed(11);
  using centres = randn([10, 32]).mul(10);
  const train = clusters(centres, 3000);
  const test = clusters(centres, 500);
  const res = knnEvaluateMany(train.x, train.y, test.x, test.y, { ks: [20, 200] });
  for (const r of res) {
    assertEquals(r.top1, 100, `k=${r.k}`);
    assertEquals(r.top5, 100, `k=${r.k}`);
  }
  for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
});

Deno.test("labels independent of the features: chance accuracy within a binomial band", () => {
  manualSeed(12);
  const c = 10;
  const m = 3000;
  const train = noise(4000, 32, c);
  const test = noise(m, 32, c);
  const res = knnEvaluateMany(train.x, train.y, test.x, test.y, { ks: [20, 200] });
  for (const r of res) {
    assertAlmostEquals(r.top1, 10, binomialBand(m, 0.1), `top-1, k=${r.k}`);
    assertAlmostEquals(r.top5, 50, binomialBand(m, 0.5), `top-5, k=${r.k}`);
    assert(r.top5 >= r.top1, "top-5 >= top-1");
  }
  for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
});

Deno.test("kNN predictions equal a plain PyTorch implementation (one-hot votes, no chunking)", async () => {
  manualSeed(13);
  const c = 10;
  const train = noise(3000, 64, c);
  const test = noise(700, 64, c);
  const ks = [20, 200];
  const ref = await reference(
    `
    bank, labels, q = inp['bank'], inp['bank_labels'], inp['queries']
    sim = F.normalize(q, dim=1) @ F.normalize(bank, dim=1).T
    for k in (20, 200):
        w, idx = sim.topk(k, dim=1)
        votes = F.one_hot(labels[idx], ${c}).float() * (w / 0.1).exp().unsqueeze(-1)
        out[f'pred{k}'] = votes.sum(1).topk(5, dim=1).indices
    `,
    { bank: train.x, bank_labels: train.y, queries: test.x },
  );
  for (const k of ks) {
    // chunkSize 128 does not divide 700: the last chunk is partial.
    using ours = knnPredict(train.x, train.y, test.x, { k, temperature: 0.1, chunkSize: 128 });
    const want = ref[`pred${k}`];
    assertEquals(ours.shape, [700, 5]);
    assertEquals(column(ours, 0), column(want, 0), `top-1 predictions, k=${k}`);
    // k = 200 votes for every class, so the whole ranking is tie-free.
    if (k === 200) assertEquals(ours.toArray(), want.toArray(), "top-5 ranking, k=200");
  }
  // The accuracies follow from the same predictions.
  const res = knnEvaluateMany(train.x, train.y, test.x, test.y, { ks, chunkSize: 256 });
  const truth = test.y.toArray() as number[];
  for (const [i, k] of ks.entries()) {
    const p = column(ref[`pred${k}`], 0);
    const hits = p.filter((v, j) => v === truth[j]).length;
    assertAlmostEquals(res[i].top1, (100 * hits) / 700, 1e-9, `top-1 accuracy, k=${k}`);
  }
  for (const t of [train.x, train.y, test.x, test.y, ...Object.values(ref)]) t.dispose();
});

Deno.test("kNN frees everything but its result, whatever the chunk size", () => {
  manualSeed(14);
  const train = noise(500, 16, 4);
  const test = noise(50, 16, 4);
  const before = liveTensorCount();
  knnEvaluateMany(train.x, train.y, test.x, test.y, { ks: [5, 50], chunkSize: 7 });
  assertEquals(liveTensorCount(), before);
  const p1 = knnPredict(train.x, train.y, test.x, { k: 10, chunkSize: 7 });
  const p2 = knnPredict(train.x, train.y, test.x, { k: 10, chunkSize: 1000 });
  assertEquals(liveTensorCount(), before + 2);
  assertEquals(p1.toArray(), p2.toArray());
  for (const t of [p1, p2, train.x, train.y, test.x, test.y]) t.dispose();
});

Deno.test("kNN rejects mismatched shapes and bad options", () => {
  using b = bank();
  using l = bankLabels();
  using q = queries();
  using y = queryLabels();
  using q3 = tensor([[1, 0, 0]]);
  assertThrows(() => knnPredict(b, l, q3), TypeError, "queries must be (M, 2)");
  assertThrows(() => knnEvaluate(b, y, q, y), TypeError, "bankLabels must be 1-D with 4");
  assertThrows(() => knnEvaluate(b, l, q, l), TypeError, "queryLabels must be 1-D with 2");
  assertThrows(() => knnEvaluate(b, l, q, y, { k: 0 }), RangeError, "k must be");
  assertThrows(() => knnEvaluate(b, l, q, y, { temperature: 0 }), RangeError, "temperature");
});

function column(t: Tensor, j: number): number[] {
  return (t.toArray() as number[][]).map((row) => row[j]);
}
