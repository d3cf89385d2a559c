// Weighted k-nearest-neighbour classifier on frozen features: the kNN monitor
// of InstDisc (Wu et al. 2018), solo-learn and BYOL-style training loops.
//
// Features are L2-normalised, so similarity is cosine similarity. Each query
// takes its k most similar bank entries; neighbour j votes for its class with
// weight exp(sim_j / T); the class scores are the summed weights, ranked for
// top-1 and top-5 accuracy. Queries run in chunks (a chunk x N similarity
// matrix at a time) so 10k queries against a 60k bank stay in bounded memory.
// Everything runs on the features' device; the host reads the final counts only.
import { zeros } from "../../ffi/creation.ts";
import { normalize } from "../../ffi/functional.ts";
import { tidy } from "../../ffi/memory.ts";
import { noGrad } from "../../ffi/runtime.ts";
import type { Tensor } from "../../ffi/tensor.ts";

export interface KnnOptions {
  /** Neighbours per query (default 200); clamped to the bank size. */
  k?: number;
  /** Temperature T of the vote weights exp(sim / T) (default 0.1). */
  temperature?: number;
  /** Number of classes; default max label + 1 (one host read). */
  numClasses?: number;
  /** Queries per similarity matrix (default 256). */
  chunkSize?: number;
}

export interface KnnResult {
  k: number;
  /** Accuracies in percent. */
  top1: number;
  top5: number;
}

interface Scan {
  ks: number[];
  temperature: number;
  numClasses: number;
  chunkSize: number;
}

/**
 * Top-1 and top-5 accuracy (percent) of the weighted kNN classifier with one
 * k. `bankLabels` and `queryLabels` hold class indices (any integer dtype).
 */
export function knnEvaluate(
  bank: Tensor,
  bankLabels: Tensor,
  queries: Tensor,
  queryLabels: Tensor,
  opts: KnnOptions = {},
): KnnResult {
  const { k, ...rest } = opts;
  return knnEvaluateMany(bank, bankLabels, queries, queryLabels, { ...rest, ks: [k ?? 200] })[0];
}

/**
 * Like knnEvaluate for several k in one pass: the similarity matrix and the
 * top-max(k) neighbours are computed once, then scored for each k (default
 * [20, 200]). Results come in the order of `ks`.
 */
export function knnEvaluateMany(
  bank: Tensor,
  bankLabels: Tensor,
  queries: Tensor,
  queryLabels: Tensor,
  opts: Omit<KnnOptions, "k"> & { ks?: number[] } = {},
): KnnResult[] {
  checkLabels(queryLabels, queries.size(0), "queryLabels");
  const scan = scanOptions(bank, bankLabels, queryLabels, opts.ks ?? [20, 200], opts);
  const ranks = Math.min(5, scan.numClasses);
  const device = queries.device;
  const counts = tidy(() =>
    noGrad(() => {
      // counts[i] = [top-1 hits, top-5 hits] for ks[i], accumulated on the device
      // (float64: exact for any count, and the shim's in-place add takes a float alpha).
      const acc = zeros([scan.ks.length, 2], { dtype: "float64", device });
      const labels = queryLabels.to({ dtype: "int64", device });
      knnScan(bank, bankLabels, queries, scan, (start, len, i, scores) => {
        const want = labels.narrow(0, start, len).view(len, 1);
        const hit = scores.topk(ranks, { dim: 1 }).indices.eq(want);
        const row = acc.select(0, i);
        row.select(0, 0).add_(hit.select(1, 0).sum());
        row.select(0, 1).add_(hit.sum());
      });
      return acc;
    })
  );
  const c = counts.toTypedArray();
  counts.dispose();
  const m = queries.size(0);
  return scan.ks.map((k, i) => ({
    k,
    top1: (100 * Number(c[2 * i])) / m,
    top5: (100 * Number(c[2 * i + 1])) / m,
  }));
}

/**
 * The ranked class predictions of each query, int64 (M, min(topn, C)): column 0
 * is the kNN prediction. For tests and for per-sample analysis.
 */
export function knnPredict(
  bank: Tensor,
  bankLabels: Tensor,
  queries: Tensor,
  opts: KnnOptions & { topn?: number } = {},
): Tensor {
  const scan = scanOptions(bank, bankLabels, null, [opts.k ?? 200], opts);
  const ranks = Math.min(opts.topn ?? 5, scan.numClasses);
  return tidy(() =>
    noGrad(() => {
      const out = zeros([queries.size(0), ranks], { dtype: "int64", device: queries.device });
      knnScan(bank, bankLabels, queries, scan, (start, len, _i, scores) => {
        out.narrow(0, start, len).copy_(scores.topk(ranks, { dim: 1 }).indices);
      });
      return out;
    })
  );
}

function checkLabels(labels: Tensor, n: number, what: string): void {
  if (labels.ndim !== 1 || labels.size(0) !== n) {
    throw new TypeError(`${what} must be 1-D with ${n} entries, got [${labels.shape}]`);
  }
}

/** The largest label (a host read). */
export function maxLabel(labels: Tensor): number {
  using m = labels.max();
  return m.item();
}

function scanOptions(
  bank: Tensor,
  bankLabels: Tensor,
  queryLabels: Tensor | null,
  ks: number[],
  opts: KnnOptions,
): Scan {
  if (bank.ndim !== 2 || bank.size(0) === 0) {
    throw new TypeError(`bank must be a non-empty (N, D) tensor, got [${bank.shape}]`);
  }
  checkLabels(bankLabels, bank.size(0), "bankLabels");
  if (ks.length === 0 || ks.some((k) => !(Number.isInteger(k) && k > 0))) {
    throw new RangeError(`k must be positive integers, got [${ks}]`);
  }
  const temperature = opts.temperature ?? 0.1;
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const chunkSize = opts.chunkSize ?? 256;
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) {
    throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  }
  let numClasses = opts.numClasses;
  if (numClasses === undefined) {
    numClasses = maxLabel(bankLabels) + 1;
    if (queryLabels !== null && queryLabels.numel > 0) {
      numClasses = Math.max(numClasses, maxLabel(queryLabels) + 1);
    }
  }
  return { ks, temperature, numClasses, chunkSize };
}

/**
 * The shared loop: for each chunk of queries and each k, calls `visit` with
 * the (len, C) class scores. Tensors made in `visit` are freed per chunk.
 */
function knnScan(
  bank: Tensor,
  bankLabels: Tensor,
  queries: Tensor,
  scan: Scan,
  visit: (start: number, len: number, kIndex: number, scores: Tensor) => void,
): void {
  const [n, d] = bank.shape;
  if (queries.ndim !== 2 || queries.size(1) !== d) {
    throw new TypeError(`queries must be (M, ${d}), got [${queries.shape}]`);
  }
  const m = queries.size(0);
  const device = queries.device;
  const kmax = Math.min(Math.max(...scan.ks), n);
  tidy(() => {
    const bankT = normalize(bank.float(), { dim: 1 }).T.contiguous();
    const labels = bankLabels.to({ dtype: "int64", device });
    for (let start = 0; start < m; start += scan.chunkSize) {
      const len = Math.min(scan.chunkSize, m - start);
      tidy(() => {
        const q = normalize(queries.narrow(0, start, len).float(), { dim: 1 });
        const { values, indices } = q.matmul(bankT).topk(kmax, { dim: 1 });
        const nnLabels = labels.indexSelect(0, indices.flatten()).view(len, kmax);
        // exp((s - s_max) / T): a per-query factor that ranks the same as
        // exp(s / T) and cannot overflow float32 at small T.
        const weights = values.sub(values.narrow(1, 0, 1)).div(scan.temperature).exp();
        scan.ks.forEach((k, i) => {
          const kk = Math.min(k, n);
          const scores = zeros([len, scan.numClasses], { device }).scatterAdd(
            1,
            nnLabels.narrow(1, 0, kk),
            weights.narrow(1, 0, kk),
          );
          visit(start, len, i, scores);
        });
      });
    }
  });
}
