/**
 * The embedding picture: a 2-D UMAP projection of features (e.g. the test split's, at the end of
 * a run), one dot per sample coloured by its label, as SVG and PNG.
 *
 * UMAP in JavaScript costs about a second per thousand 256-D points plus a few ms per epoch, so
 * at most `maxPoints` rows (default 2000) are projected: a stratified sample, each class in
 * proportion to its share, drawn with the seed. Everything random (the sample, UMAP's
 * neighbour search and initial layout, the drawing order) comes from PRNGs derived from `seed`,
 * so the same features, labels and options give the same points and the same picture.
 */
import { UMAP } from "../../deps/umap.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import {
  FONT_SIZE,
  PALETTE,
  type PngOptions,
  r2,
  svgDoc,
  svgToPng,
  text,
  textWidth,
  TITLE_SIZE,
} from "./plots.ts";

export interface EmbeddingOptions {
  /**
   * Features per row. When omitted it is `features.length / labels.length`, which must then
   * divide exactly; give it to have a wrong `labels` length reported as such.
   */
  dim?: number;
  /** Integer seed of the sample, the projection and the drawing order (default 0). */
  seed?: number;
  /** Most rows projected and drawn (default 2000); more are subsampled, stratified by label. */
  maxPoints?: number;
  /** UMAP's neighbourhood size (default 15); needs at least nNeighbors + 2 points. */
  nNeighbors?: number;
  /** UMAP's minimum distance between embedded points (default 0.1). */
  minDist?: number;
  /** UMAP's optimisation epochs (default 200, a few ms each for 2000 points). */
  nEpochs?: number;
  /**
   * "cosine" (default: rows are L2-normalised first, as for the kNN monitor) or "euclidean"
   * (the raw features).
   */
  metric?: "cosine" | "euclidean";
}

export interface EmbeddingPoint {
  /** UMAP coordinates (arbitrary units). */
  x: number;
  y: number;
  label: number;
  /** The row of `features` this point is. */
  index: number;
}

export interface Embedding2d {
  /** The projected rows, in the order of `features`. */
  points: EmbeddingPoint[];
  /** Rows in the input (points.length of them are shown). */
  total: number;
  dim: number;
  seed: number;
  nNeighbors: number;
  minDist: number;
  nEpochs: number;
  metric: "cosine" | "euclidean";
}

export interface EmbeddingChartOptions {
  /** Name of class i (default: the index). */
  classNames?: readonly string[];
  /** Default "Feature embedding (UMAP)". */
  title?: string;
  /** Side of the square plot area in px (default 560). */
  size?: number;
}

export type EmbeddingSvgOptions = EmbeddingOptions & EmbeddingChartOptions;

const DEFAULTS = { seed: 0, maxPoints: 2000, nNeighbors: 15, minDist: 0.1, nEpochs: 200 };

/**
 * PALETTE (Tableau 10), then its light variants (Tableau 20's second half): 20 distinct colours,
 * reused from the start past that.
 */
export const CLASS_COLORS: readonly string[] = [
  ...PALETTE,
  "#aec7e8",
  "#ffbb78",
  "#98df8a",
  "#ff9896",
  "#c5b0d5",
  "#c49c94",
  "#f7b6d2",
  "#c7c7c7",
  "#dbdb8d",
  "#9edae5",
];

/** The colour of class `label`. */
export function classColor(label: number): string {
  return CLASS_COLORS[label % CLASS_COLORS.length];
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream per purpose: the seed and the stream number mixed (splitmix32's end). */
function stream(seed: number, which: number): () => number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(which + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return mulberry32((h ^ (h >>> 15)) >>> 0);
}

const SAMPLE_STREAM = 1;
const UMAP_STREAM = 2;
const DRAW_STREAM = 3;

function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// Checks and sampling

function positiveInt(name: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) {
    throw new RangeError(`embedding: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/** Rows and width of `features`, from `dim` or from the number of labels. */
function shapeOf(features: Float32Array, nLabels: number, dim?: number): [number, number] {
  if (dim !== undefined) {
    positiveInt("dim", dim);
    if (features.length % dim !== 0) {
      throw new RangeError(
        `embedding: features has ${features.length} values, not a whole number of rows of ${dim}`,
      );
    }
    const n = features.length / dim;
    if (n !== nLabels) {
      throw new RangeError(
        `embedding: labels length mismatch: features is ${n} x ${dim} but there are ` +
          `${nLabels} labels (one per row needed)`,
      );
    }
    return [n, dim];
  }
  if (nLabels === 0 || features.length === 0 || features.length % nLabels !== 0) {
    throw new RangeError(
      `embedding: labels length mismatch: ${nLabels} labels for ${features.length} feature ` +
        `values, which is not N x D with N = ${nLabels} (one label per row; pass dim to check)`,
    );
  }
  return [nLabels, features.length / nLabels];
}

/**
 * How many rows of each class to keep so that `k` are kept in all (every row when k >= the
 * total): each class's share (count * k / total) rounded down, the places left to the largest
 * remainders; then each class that got none takes one from the class furthest above its share.
 * Every class ends within one of its share and, when k is at least the number of classes,
 * present; where both cannot hold (a class of 990 and two of 5, k = 50: 48, 1, 1), presence wins.
 */
export function stratifiedQuotas(
  counts: ReadonlyMap<number, number>,
  k: number,
): Map<number, number> {
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const quota = new Map<number, number>();
  if (k >= n) {
    for (const c of classes) quota.set(c, counts.get(c)!);
    return quota;
  }
  const share = (c: number) => (counts.get(c)! * k) / n;
  let given = 0;
  for (const c of classes) {
    const q = Math.floor(share(c));
    quota.set(c, q);
    given += q;
  }
  const byRemainder = [...classes].sort((a, b) =>
    (share(b) - quota.get(b)!) - (share(a) - quota.get(a)!) || a - b
  );
  for (let i = 0; given < k; i++, given++) {
    const c = byRemainder[i % byRemainder.length];
    quota.set(c, quota.get(c)! + 1);
  }
  for (const c of classes) {
    if (quota.get(c)! > 0 || counts.get(c)! === 0) continue;
    let donor = -1;
    let excess = -Infinity;
    for (const d of classes) {
      const e = quota.get(d)! - share(d);
      if (quota.get(d)! > 1 && e > excess) [donor, excess] = [d, e];
    }
    if (donor < 0) break;
    quota.set(donor, quota.get(donor)! - 1);
    quota.set(c, 1);
  }
  return quota;
}

/** The rows to project: all of them, or `k` drawn per class by stratifiedQuotas; ascending. */
function sampleRows(labels: Int32Array, k: number, random: () => number): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const rows = byClass.get(labels[i]);
    if (rows) rows.push(i);
    else byClass.set(labels[i], [i]);
  }
  if (k >= labels.length) return labels.length ? [...labels.keys()] : [];
  const counts = new Map([...byClass].map(([c, rows]) => [c, rows.length]));
  const quota = stratifiedQuotas(counts, k);
  const keep: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    keep.push(...shuffle(byClass.get(c)!, random).slice(0, quota.get(c)!));
  }
  return keep.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Projection

/**
 * Projects `features` (row-major N x D float32, one row per label, e.g. `Tensor.toTypedArray()`
 * of an (N, D) feature tensor) to 2-D with UMAP. `labels` are class indices (non-negative
 * integers). At most `maxPoints` rows are projected (a stratified, seeded sample); the result
 * lists them in input order. Synchronous: 2-3 s for 2000 x 256-D on one core of an EPYC.
 */
export function embedding2d(
  features: Float32Array,
  labels: ArrayLike<number>,
  opts: EmbeddingOptions = {},
): Embedding2d {
  const seed = opts.seed ?? DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`embedding: seed must be an integer, got ${seed}`);
  }
  const maxPoints = positiveInt("maxPoints", opts.maxPoints ?? DEFAULTS.maxPoints);
  const nNeighbors = positiveInt("nNeighbors", opts.nNeighbors ?? DEFAULTS.nNeighbors);
  if (nNeighbors < 2) throw new RangeError(`embedding: nNeighbors must be at least 2, got 1`);
  const nEpochs = positiveInt("nEpochs", opts.nEpochs ?? DEFAULTS.nEpochs);
  const minDist = opts.minDist ?? DEFAULTS.minDist;
  if (!(Number.isFinite(minDist) && minDist >= 0)) {
    throw new RangeError(`embedding: minDist must be a finite number >= 0, got ${minDist}`);
  }
  const metric = opts.metric ?? "cosine";
  if (metric !== "cosine" && metric !== "euclidean") {
    throw new RangeError(`embedding: metric must be "cosine" or "euclidean", got ${metric}`);
  }

  const [n, dim] = shapeOf(features, labels.length, opts.dim);
  const labs = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= 0 && l <= 0x7fffffff)) {
      throw new RangeError(
        `embedding: labels must be non-negative integer class indices, but labels[${i}] is ${l}`,
      );
    }
    labs[i] = l;
  }
  const minPoints = nNeighbors + 2;
  const shown = Math.min(n, maxPoints);
  if (shown < minPoints) {
    throw new RangeError(
      n < minPoints
        ? `embedding: too few points: UMAP with nNeighbors ${nNeighbors} needs at least ` +
          `${minPoints} rows, got ${n} (lower nNeighbors for a smaller set)`
        : `embedding: too few points: maxPoints ${maxPoints} is below the ${minPoints} rows ` +
          `UMAP with nNeighbors ${nNeighbors} needs`,
    );
  }

  const rows = sampleRows(labs, maxPoints, stream(seed, SAMPLE_STREAM));
  const X: number[][] = rows.map((r) => {
    const row = Array.from(features.subarray(r * dim, (r + 1) * dim));
    let norm = 0;
    for (const v of row) {
      if (!Number.isFinite(v)) {
        throw new RangeError(`embedding: features must be finite, but row ${r} holds ${v}`);
      }
      norm += v * v;
    }
    if (metric === "cosine" && norm > 0) {
      const s = 1 / Math.sqrt(norm);
      for (let j = 0; j < dim; j++) row[j] *= s;
    }
    return row;
  });

  const umap = new UMAP({
    nComponents: 2,
    nNeighbors,
    minDist,
    nEpochs,
    random: stream(seed, UMAP_STREAM),
  });
  const Y = umap.fit(X);
  const points = rows.map((r, i) => ({ x: Y[i][0], y: Y[i][1], label: labs[r], index: r }));
  if (points.some((p) => !Number.isFinite(p.x) || !Number.isFinite(p.y))) {
    throw new Error(
      "embedding: UMAP gave non-finite coordinates (are many feature rows identical or zero?)",
    );
  }
  return { points, total: n, dim, seed, nNeighbors, minDist, nEpochs, metric };
}

// ---------------------------------------------------------------------------------------------
// Drawing

function thousands(v: number): string {
  return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "2,000 of 10,000 points (stratified sample) · UMAP: 15 neighbours, min dist 0.1, ..." */
export function embeddingSubtitle(e: Embedding2d): string {
  const shown = e.points.length === e.total
    ? `all ${thousands(e.total)} points`
    : `${thousands(e.points.length)} of ${thousands(e.total)} points (stratified sample)`;
  return `${shown} · UMAP: ${e.nNeighbors} neighbours, min dist ${e.minDist}, ${e.metric}, ` +
    `seed ${e.seed}`;
}

/**
 * Draws a projection: one `<circle>` per point in `<g class="points">` (in a seeded random
 * order, so no class always paints over another), coloured by class (CLASS_COLORS), equal
 * scales on both axes and no ticks (UMAP's coordinates mean nothing), a title, a subtitle
 * saying how many of how many points are shown, and a legend of the classes present.
 */
export function embeddingChartSvg(e: Embedding2d, opts: EmbeddingChartOptions = {}): string {
  const names = opts.classNames;
  const classes = [...new Set(e.points.map((p) => p.label))].sort((a, b) => a - b);
  if (names) {
    const missing = classes.find((c) => c >= names.length);
    if (missing !== undefined) {
      throw new RangeError(
        `embedding: label ${missing} has no name: classNames has ${names.length} entries`,
      );
    }
  }
  const nameOf = (c: number) => (names ? names[c] : String(c));
  const size = Math.round(opts.size ?? 560);
  const margin = 16;
  const top = 12 + TITLE_SIZE + 8 + FONT_SIZE + 14;
  const left = margin;

  // Legend: rows of (dot, name) beside the plot, in as many columns as the height needs.
  const rowH = FONT_SIZE + 8;
  const perCol = Math.max(1, Math.floor((size - 16) / rowH));
  const cols = Math.max(1, Math.ceil(classes.length / perCol));
  const colW = 10 + 6 + Math.max(0, ...classes.map((c) => textWidth(nameOf(c)))) + 16;
  const legendX = left + size + 20;
  const subtitle = embeddingSubtitle(e);
  const width = Math.round(
    Math.max(legendX + cols * colW + margin, textWidth(subtitle) + 2 * margin),
  );
  const height = top + size + margin;

  // Equal scales: the larger data range fills the square, less a margin for the dots.
  const pad = 10;
  const xs = e.points.map((p) => p.x);
  const ys = e.points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0);
  const scale = span > 0 ? (size - 2 * pad) / span : 1;
  const cx = left + size / 2;
  const cy = top + size / 2;
  const sx = (x: number) => cx + (x - (x0 + x1) / 2) * scale;
  // SVG's y grows downwards; flip so the picture reads like a plot.
  const sy = (y: number) => cy - (y - (y0 + y1) / 2) * scale;
  const radius = Math.min(4, Math.max(1.5, 110 / Math.sqrt(Math.max(1, e.points.length))));

  const out: string[] = [];
  out.push(
    text(width / 2, 12 + TITLE_SIZE, opts.title ?? "Feature embedding (UMAP)", {
      "text-anchor": "middle",
      "font-size": TITLE_SIZE,
      "font-weight": "bold",
      fill: "#222",
    }),
  );
  out.push(
    text(width / 2, 12 + TITLE_SIZE + 8 + FONT_SIZE, subtitle, {
      class: "subtitle",
      "text-anchor": "middle",
      "font-size": FONT_SIZE,
      fill: "#555",
    }),
  );
  out.push(
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#ccc" stroke-width="1"/>`,
  );
  const order = shuffle([...e.points.keys()], stream(e.seed, DRAW_STREAM));
  out.push(`<g class="points" fill-opacity="0.75" stroke="none">`);
  for (const i of order) {
    const p = e.points[i];
    out.push(
      `<circle cx="${r2(sx(p.x))}" cy="${r2(sy(p.y))}" r="${r2(radius)}" fill="${
        classColor(p.label)
      }"/>`,
    );
  }
  out.push(`</g>`);

  out.push(`<g class="legend" font-size="${FONT_SIZE}" fill="#222">`);
  classes.forEach((c, i) => {
    const x = legendX + Math.floor(i / perCol) * colW;
    const y = top + 8 + (i % perCol) * rowH + rowH / 2;
    out.push(
      `<g class="legend-entry" data-label="${c}"><circle cx="${r2(x + 5)}" cy="${
        r2(y)
      }" r="5" fill="${classColor(c)}"/>${text(x + 16, y + FONT_SIZE * 0.35, nameOf(c))}</g>`,
    );
  });
  out.push(`</g>`);
  return svgDoc(width, height, out.join("\n"));
}

/** embedding2d, then embeddingChartSvg: the picture and the points it shows. */
export function embeddingSvg(
  features: Float32Array,
  labels: ArrayLike<number>,
  opts: EmbeddingSvgOptions = {},
): { svg: string } & Embedding2d {
  // Checked before the (slow) projection, so a bad name list fails at once.
  if (opts.classNames) {
    const names = opts.classNames.length;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= names) {
        throw new RangeError(
          `embedding: label ${labels[i]} has no name: classNames has ${names} entries`,
        );
      }
    }
  }
  const e = embedding2d(features, labels, opts);
  return { svg: embeddingChartSvg(e, opts), ...e };
}

export interface EmbeddingPlotFiles extends Embedding2d {
  svg: string;
  svgPath: string;
  pngPath: string;
}

/**
 * Writes `<dir>/embedding.svg` and `<dir>/embedding.png` (or `<name>.svg/.png`), each
 * atomically, creating `dir` if needed; e.g. dir = `<runDir>/plots` beside the run's other
 * charts. Returns the paths, the SVG and the projection.
 */
export async function writeEmbeddingPlot(
  dir: string,
  features: Float32Array,
  labels: ArrayLike<number>,
  opts: EmbeddingSvgOptions & PngOptions & { name?: string } = {},
): Promise<EmbeddingPlotFiles> {
  const result = embeddingSvg(features, labels, opts);
  const base = dir.replace(/\/+$/, "") || "/";
  const name = opts.name ?? "embedding";
  await Deno.mkdir(base, { recursive: true });
  const svgPath = `${base}/${name}.svg`;
  const pngPath = `${base}/${name}.png`;
  await writeFileAtomic(svgPath, result.svg);
  await writeFileAtomic(pngPath, await svgToPng(result.svg, { fontPaths: opts.fontPaths }));
  return { ...result, svgPath, pngPath };
}
