// The embedding picture: UMAP keeps well separated clusters apart, the seed fixes the result,
// the sample is stratified, the SVG has a dot per point and a legend entry per class, the PNG
// has the SVG's size, and bad input fails with one clear message. The truth is the generated
// data's own labels, not a stored picture.
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import {
  classColor,
  type Embedding2d,
  embedding2d,
  embeddingChartSvg,
  embeddingSvg,
  mulberry32,
  stratifiedQuotas,
  writeEmbeddingPlot,
} from "../../src/report/mod.ts";

/** `perClass[c]` points of class c around K random centres in `dim`-D, rows shuffled. */
function clusters(
  perClass: number[],
  dim: number,
  seed: number,
  spread = 0.5,
): { features: Float32Array; labels: number[] } {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  // Centres 4 units per axis apart on average: far beyond the noise, in direction too.
  const centres = perClass.map(() => Array.from({ length: dim }, () => 4 * gauss()));
  const labels = perClass.flatMap((n, c) => Array<number>(n).fill(c));
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const features = new Float32Array(labels.length * dim);
  labels.forEach((c, i) => {
    for (let d = 0; d < dim; d++) features[i * dim + d] = centres[c][d] + spread * gauss();
  });
  return { features, labels };
}

/** Share of points whose k nearest 2-D neighbours all have the point's label. */
function knnPurity(e: Embedding2d, k: number): number {
  const p = e.points;
  let pure = 0;
  for (let i = 0; i < p.length; i++) {
    const near = p
      .map((q, j) => ({ j, d: (q.x - p[i].x) ** 2 + (q.y - p[i].y) ** 2 }))
      .filter((o) => o.j !== i)
      .sort((a, b) => a.d - b.d)
      .slice(0, k);
    if (near.every((o) => p[o.j].label === p[i].label)) pure++;
  }
  return pure / p.length;
}

function centroids(e: Embedding2d): Map<number, { x: number; y: number; rms: number }> {
  const out = new Map<number, { x: number; y: number; rms: number }>();
  for (const c of new Set(e.points.map((p) => p.label))) {
    const pts = e.points.filter((p) => p.label === c);
    const x = pts.reduce((s, p) => s + p.x, 0) / pts.length;
    const y = pts.reduce((s, p) => s + p.y, 0) / pts.length;
    const rms = Math.sqrt(
      pts.reduce((s, p) => s + (p.x - x) ** 2 + (p.y - y) ** 2, 0) / pts.length,
    );
    out.set(c, { x, y, rms });
  }
  return out;
}

function countBy<T>(xs: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

// Small and quick: 4 clusters of 80 in 32-D, 100 epochs.
const FAST = { nEpochs: 100 };

for (const metric of ["cosine", "euclidean"] as const) {
  Deno.test(`embedding2d (${metric}): separated 32-D clusters stay together and apart`, () => {
    const { features, labels } = clusters([80, 80, 80, 80], 32, 11);
    const e = embedding2d(features, labels, { ...FAST, metric, seed: 3 });
    assertEquals(e.points.length, 320);
    assertEquals(e.total, 320);
    assertEquals(e.dim, 32);
    // Each point is the row it says, with that row's label.
    assertEquals(e.points.map((p) => p.index), [...labels.keys()]);
    assert(e.points.every((p) => p.label === labels[p.index]), "labels follow their rows");
    const purity = knnPurity(e, 5);
    assert(purity > 0.95, `5-NN in 2-D share the label for ${(purity * 100).toFixed(1)}%`);
    // Centroids: pairwise further apart than the clusters are wide.
    const cs = [...centroids(e).values()];
    assertEquals(cs.length, 4);
    const widest = Math.max(...cs.map((c) => c.rms));
    for (let a = 0; a < cs.length; a++) {
      for (let b = a + 1; b < cs.length; b++) {
        const d = Math.hypot(cs[a].x - cs[b].x, cs[a].y - cs[b].y);
        assert(d > 2 * widest, `centroids ${a} and ${b} ${d.toFixed(2)} apart, rms ${widest}`);
      }
    }
  });
}

Deno.test("embedding2d: the same seed gives the same points, another seed others", () => {
  const { features, labels } = clusters([40, 40, 40], 16, 5);
  const opts = { ...FAST, nEpochs: 50 };
  const a = embedding2d(features, labels, { ...opts, seed: 7 });
  const b = embedding2d(features, labels, { ...opts, seed: 7 });
  const c = embedding2d(features, labels, { ...opts, seed: 8 });
  assertEquals(a.points, b.points);
  const moved = a.points.filter((p, i) => p.x !== c.points[i].x || p.y !== c.points[i].y);
  assert(moved.length > a.points.length / 2, `only ${moved.length} points moved with the seed`);
  // With a sample, the seed also picks the rows.
  const sa = embedding2d(features, labels, { ...opts, seed: 1, maxPoints: 60 });
  const sb = embedding2d(features, labels, { ...opts, seed: 1, maxPoints: 60 });
  const sc = embedding2d(features, labels, { ...opts, seed: 2, maxPoints: 60 });
  assertEquals(sa.points, sb.points);
  assert(
    sa.points.some((p, i) => p.index !== sc.points[i].index),
    "another seed draws other rows",
  );
});

Deno.test("embedding2d: maxPoints below N keeps that many, each class in proportion", () => {
  const sizes = [400, 300, 150, 100, 37, 13];
  const { features, labels } = clusters(sizes, 8, 9);
  const n = labels.length;
  const maxPoints = 137;
  const e = embedding2d(features, labels, { nEpochs: 20, maxPoints, seed: 4 });
  assertEquals(e.points.length, maxPoints);
  assertEquals(e.total, n);
  const idx = e.points.map((p) => p.index);
  assertEquals(new Set(idx).size, maxPoints, "no row twice");
  assert(idx.every((v, i) => i === 0 || v > idx[i - 1]), "rows in input order");
  assert(e.points.every((p) => p.label === labels[p.index]), "labels follow their rows");
  const got = countBy(e.points.map((p) => p.label));
  sizes.forEach((size, c) => {
    const share = (size * maxPoints) / n;
    const k = got.get(c) ?? 0;
    assert(k >= 1, `class ${c} present`);
    assert(Math.abs(k - share) <= 1, `class ${c}: ${k} points for a share of ${share}`);
  });
  assert(embeddingChartSvg(e).includes("137 of 1,000 points"), "subtitle says how many");
});

Deno.test("stratifiedQuotas: exact total, within one of each share, tiny classes kept", () => {
  const counts = new Map([[0, 980], [1, 10], [2, 10]]);
  const q = stratifiedQuotas(counts, 50);
  assertEquals([...q.values()].reduce((a, b) => a + b, 0), 50);
  for (const [c, n] of counts) {
    const share = (n * 50) / 1000;
    assert(q.get(c)! >= 1 && Math.abs(q.get(c)! - share) <= 1, `class ${c}: ${q.get(c)}`);
  }
  // When both cannot hold, presence wins: 49.5 -> 48 so that the two 0.25 shares get 1 each.
  assertEquals([...stratifiedQuotas(new Map([[0, 990], [1, 5], [2, 5]]), 50)], [
    [0, 48],
    [1, 1],
    [2, 1],
  ]);
  // Fewer places than classes: the largest shares get them.
  assertEquals([...stratifiedQuotas(new Map([[0, 5], [1, 50], [2, 45]]), 2)], [
    [0, 0],
    [1, 1],
    [2, 1],
  ]);
  // Everything fits: every row kept.
  assertEquals([...stratifiedQuotas(counts, 5000)], [...counts]);
});

/** The tags and attributes of an SVG, after checking the markup balances. */
function tags(svg: string): { name: string; attrs: Record<string, string>; inside: string[] }[] {
  const out: { name: string; attrs: Record<string, string>; inside: string[] }[] = [];
  const stack: { name: string; cls: string }[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const between = svg.slice(last, m.index);
    assert(!between.includes("<") && !between.includes(">"), `stray markup: ${between}`);
    assert(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(between), `bad entity in: ${between}`);
    last = re.lastIndex;
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assertEquals(stack.pop()?.name, name, "unbalanced tags");
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push({ name, attrs, inside: stack.map((s) => s.cls) });
    if (!selfClose) stack.push({ name, cls: attrs.class ?? "" });
  }
  assertEquals(stack, [], "unclosed tags");
  return out;
}

Deno.test("embeddingSvg: a dot per point in its class colour, a legend entry per class", () => {
  // 12 classes: past the 10 of the base palette, still one colour each.
  const { features, labels } = clusters(Array(12).fill(20), 16, 21);
  const classNames = Array.from({ length: 12 }, (_, c) => c === 3 ? `<b> & "c"` : `class ${c}`);
  const r = embeddingSvg(features, labels, { ...FAST, classNames, title: "Test <split>" });
  const t = tags(r.svg);
  assertEquals(t[0].name, "svg");
  const dots = t.filter((x) => x.name === "circle" && x.inside.includes("points"));
  assertEquals(dots.length, r.points.length);
  assertEquals(r.points.length, 240);
  // Each point has its own dot, in its class's colour, where one scale for both axes (y up)
  // puts it: the scale from the larger extent, the picture centred on the data's middle.
  const cxs = dots.map((d) => Number(d.attrs.cx));
  const cys = dots.map((d) => Number(d.attrs.cy));
  const mid = (v: number[]) => (Math.min(...v) + Math.max(...v)) / 2;
  const extent = (v: number[]) => Math.max(...v) - Math.min(...v);
  const xs = r.points.map((p) => p.x);
  const ys = r.points.map((p) => p.y);
  const s = Math.max(extent(cxs), extent(cys)) / Math.max(extent(xs), extent(ys));
  const unmatched = new Set(dots.keys());
  for (const p of r.points) {
    const at = [mid(cxs) + (p.x - mid(xs)) * s, mid(cys) - (p.y - mid(ys)) * s];
    const hit = [...unmatched].find((i) =>
      Math.abs(cxs[i] - at[0]) < 0.05 && Math.abs(cys[i] - at[1]) < 0.05 &&
      dots[i].attrs.fill === classColor(p.label)
    );
    assert(hit !== undefined, `no ${classColor(p.label)} dot at ${at} for row ${p.index}`);
    unmatched.delete(hit);
  }
  const entries = t.filter((x) => x.name === "g" && x.attrs.class === "legend-entry");
  assertEquals(entries.map((x) => Number(x.attrs["data-label"])), [...Array(12).keys()]);
  assertEquals(new Set(entries.map((_, c) => classColor(c))).size, 12, "12 distinct colours");
  const legendDots = t.filter((x) => x.name === "circle" && x.inside.includes("legend-entry"));
  assertEquals(legendDots.map((d) => d.attrs.fill), entries.map((_, c) => classColor(c)));
  for (const name of classNames.map((s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;"))) {
    assert(r.svg.includes(`>${name.replace(/>/g, "&gt;").replace(/"/g, "&quot;")}</text>`), name);
  }
  assert(r.svg.includes(">Test &lt;split&gt;</text>"), "title escaped");
  assert(r.svg.includes("all 240 points"), "subtitle");
  // Equal aspect: every dot inside the square plot frame.
  const frame = t.find((x) => x.name === "rect" && x.attrs.stroke === "#ccc")!;
  const [fx, fy, fs] = ["x", "y", "width"].map((k) => Number(frame.attrs[k]));
  assertEquals(Number(frame.attrs.height), fs);
  for (const d of dots) {
    const [cx, cy] = [Number(d.attrs.cx), Number(d.attrs.cy)];
    assert(cx >= fx && cx <= fx + fs && cy >= fy && cy <= fy + fs, `dot at ${cx},${cy}`);
  }
});

Deno.test("embeddingChartSvg: equal scales on both axes", () => {
  // A 4 x 1 strip of points: drawn 4 times wider than high, not stretched to the square.
  const points = [[0, 0], [4, 0], [0, 1], [4, 1]].map(([x, y], index) => ({
    x,
    y,
    label: index % 2,
    index,
  }));
  const e: Embedding2d = {
    points,
    total: 4,
    dim: 2,
    seed: 0,
    nNeighbors: 15,
    minDist: 0.1,
    nEpochs: 10,
    metric: "cosine",
  };
  const dots = tags(embeddingChartSvg(e)).filter((x) =>
    x.name === "circle" && x.inside.includes("points")
  );
  const xs = dots.map((d) => Number(d.attrs.cx));
  const ys = dots.map((d) => Number(d.attrs.cy));
  const w = Math.max(...xs) - Math.min(...xs);
  const h = Math.max(...ys) - Math.min(...ys);
  assert(Math.abs(w / h - 4) < 0.02, `drawn ${w} x ${h}`);
});

Deno.test("writeEmbeddingPlot: embedding.svg and a PNG of the SVG's size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { features, labels } = clusters([30, 30, 30], 16, 2);
    const out = await writeEmbeddingPlot(`${dir}/plots`, features, labels, {
      ...FAST,
      classNames: ["a", "b", "c"],
    });
    assertEquals(out.svgPath, `${dir}/plots/embedding.svg`);
    assertEquals(out.pngPath, `${dir}/plots/embedding.png`);
    const svg = await Deno.readTextFile(out.svgPath);
    assertEquals(svg, out.svg);
    const root = tags(svg)[0].attrs;
    const { Image } = await import("../../deps/imagescript.ts");
    const img = await Image.decode(await Deno.readFile(out.pngPath));
    assertEquals([img.width, img.height], [Number(root.width), Number(root.height)]);
    assert(img.width > 500 && img.height > 500, `${img.width} x ${img.height}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("embedding2d: bad input fails with one clear message each", () => {
  const { features, labels } = clusters([10, 10], 4, 1);
  assertThrows(
    () => embedding2d(features.subarray(0, 10 * 4), labels.slice(0, 10)),
    RangeError,
    "too few points: UMAP with nNeighbors 15 needs at least 17 rows, got 10",
  );
  assertThrows(
    () => embedding2d(features, labels, { maxPoints: 12 }),
    RangeError,
    "too few points: maxPoints 12 is below the 17 rows",
  );
  assertThrows(
    () => embedding2d(features, labels.slice(0, 19), { dim: 4 }),
    RangeError,
    "labels length mismatch: features is 20 x 4 but there are 19 labels",
  );
  assertThrows(
    () => embedding2d(features, labels.slice(0, 19)),
    RangeError,
    "labels length mismatch: 19 labels for 80 feature values",
  );
  for (const bad of [2.5, -1, NaN]) {
    const l = [...labels];
    l[7] = bad;
    assertThrows(
      () => embedding2d(features, l),
      RangeError,
      `labels must be non-negative integer class indices, but labels[7] is ${bad}`,
    );
  }
  const f = features.slice();
  f[4 * 3 + 1] = NaN;
  assertThrows(() => embedding2d(f, labels), RangeError, "features must be finite, but row 3");
  assertThrows(
    () => embeddingSvg(features, labels, { classNames: ["only one"] }),
    RangeError,
    "label 1 has no name: classNames has 1 entries",
  );
});
