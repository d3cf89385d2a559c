// Training plots: well-formed SVG with round, covering ticks; PNGs of the right size; run
// folders with a crash-truncated metrics.jsonl.
import { assert, assertEquals } from "../helpers/asserts.ts";
import {
  BUNDLED_FONT_URLS,
  formatTick,
  linearTicks,
  lineChartSvg,
  logTicks,
  movingAverage,
  type Point,
  stackedChartsSvg,
  svgToPng,
} from "../../src/report/mod.ts";
import { writeRunPlots } from "../../src/train/run_plots.ts";

// ---- minimal SVG inspection -----------------------------------------------------------------

interface Tag {
  name: string;
  attrs: Record<string, string>;
}

/** Checks tags balance and entities are sane; returns every opening tag in document order. */
function parseSvg(svg: string): Tag[] {
  const tags: Tag[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const between = svg.slice(last, m.index);
    assert(!between.includes("<") && !between.includes(">"), `stray markup: ${between}`);
    assert(!/&(?!(amp|lt|gt|quot|#\d+);)/.test(between), `bad entity in: ${between}`);
    last = re.lastIndex;
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assertEquals(stack.pop(), name, "unbalanced tags");
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    tags.push({ name, attrs });
    if (!selfClose) stack.push(name);
  }
  assert(svg.slice(last).trim() === "", "trailing content after the root");
  assertEquals(stack, [], "unclosed tags");
  assert(tags.length > 0 && tags[0].name === "svg", "root is <svg>");
  return tags;
}

function seriesCount(svg: string): number {
  return parseSvg(svg).filter((t) => t.name === "polyline" || t.name === "path").length;
}

/** The tick values of an axis ("y-ticks" or "x-ticks"), per panel. */
function tickValues(svg: string, axis: "x" | "y"): number[][] {
  const groups = svg.split(`<g class="${axis}-ticks"`).slice(1).map((g) =>
    g.slice(0, g.indexOf("</g>"))
  );
  return groups.map((g) => [...g.matchAll(/data-value="([^"]+)"/g)].map((m) => Number(m[1])));
}

function tickLabels(svg: string, axis: "x" | "y"): string[] {
  const g = svg.split(`<g class="${axis}-ticks"`)[1];
  return [...g.slice(0, g.indexOf("</g>")).matchAll(/>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** Round: multiples of a 1/2/5·10^k step, evenly spaced, covering [lo, hi]. */
function assertRoundCovering(ticks: number[], lo: number, hi: number): void {
  assert(ticks.length >= 2, `at least two ticks, got ${ticks}`);
  const step = ticks[1] - ticks[0];
  const mant = step / 10 ** Math.floor(Math.log10(step));
  assert([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-6), `step ${step} is 1/2/5 x 10^k`);
  for (let i = 0; i < ticks.length; i++) {
    const q = ticks[i] / step;
    assert(Math.abs(q - Math.round(q)) < 1e-6, `${ticks[i]} is a multiple of ${step}`);
    if (i > 0) assert(Math.abs(ticks[i] - ticks[i - 1] - step) < step * 1e-6, "even spacing");
  }
  assert(ticks[0] <= lo && ticks[ticks.length - 1] >= hi, `ticks ${ticks} cover [${lo}, ${hi}]`);
}

function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assertEquals([...png.slice(0, 8)], sig, "PNG signature");
  assertEquals(new TextDecoder().decode(png.slice(12, 16)), "IHDR");
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

const line = (n: number, f: (i: number) => number): Point[] =>
  Array.from({ length: n }, (_, i) => [i, f(i)]);

// ---- ticks ----------------------------------------------------------------------------------

Deno.test("linearTicks: round steps covering awkward ranges", () => {
  const cases: [number, number][] = [
    [0, 1],
    [0.0123, 0.0871],
    [-3.7, 12.2],
    [0.996, 1],
    [1e-5, 4.5e-4],
    [17, 9830],
    [-0.5, -0.1],
  ];
  for (const [lo, hi] of cases) {
    const t = linearTicks(lo, hi);
    assertRoundCovering(t.ticks, lo, hi);
    assertEquals(t.min, t.ticks[0]);
    assertEquals(t.max, t.ticks[t.ticks.length - 1]);
    assert(t.ticks.length <= 12, `not too many ticks for [${lo}, ${hi}]`);
  }
  // Constant data still gets a non-degenerate window around it.
  const c = linearTicks(3, 3);
  assert(c.min < 3 && c.max > 3);
  const z = linearTicks(0, 0);
  assert(z.min < 0 && z.max > 0);
});

Deno.test("logTicks: powers of ten or 1/2/5 per decade, covering the data", () => {
  const t = logTicks(3e-5, 0.4);
  assert(t.ticks[0] <= 3e-5 && t.ticks[t.ticks.length - 1] >= 0.4);
  for (const v of t.ticks) {
    const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
    assert([1, 2, 5].some((k) => Math.abs(m - k) < 1e-6), `${v} is 1/2/5 x 10^k`);
  }
  const wide = logTicks(1e-8, 1e4);
  assert(wide.ticks.length <= 14);
  assert(wide.ticks[0] <= 1e-8 && wide.ticks[wide.ticks.length - 1] >= 1e4);
});

Deno.test("formatTick: short labels", () => {
  assertEquals(formatTick(0.30000000000000004, 0.1), "0.3");
  assertEquals(formatTick(2000, 500), "2000");
  assertEquals(formatTick(0.997, 0.001), "0.997");
  assertEquals(formatTick(5e-5, 1e-5), "5e-5");
  assertEquals(formatTick(0), "0");
  assertEquals(formatTick(0, 0.5), "0.0");
  assertEquals(formatTick(-0, 1), "0");
  // One notation per axis: a 5e-4 step labels 0.001 in exponent form too.
  assertEquals(formatTick(0.001, 5e-4), "1e-3");
  assertEquals(formatTick(0, 5e-4), "0");
  assertEquals(formatTick(1.2e6, 2e5), "1.2e6");
  assertEquals(formatTick(0.001), "0.001");
  assertEquals(formatTick(2e6, 1e6), "2e6");
});

// ---- SVG ------------------------------------------------------------------------------------

Deno.test("lineChartSvg: well-formed, one polyline per series, legend, round covering ticks", () => {
  const a = line(50, (i) => 3.2 * Math.exp(-i / 10) + 0.13);
  const b = line(50, (i) => 0.5 + 0.01 * i);
  const svg = lineChartSvg({
    title: 'loss <&> "quoted"',
    xLabel: "step",
    yLabel: "loss",
    series: [{ name: "a & b", points: a }, { name: "b", points: b, color: "#123456" }],
    width: 640,
    height: 360,
  });
  const tags = parseSvg(svg);
  assertEquals(tags[0].attrs.width, "640");
  assertEquals(tags[0].attrs.height, "360");
  assertEquals(seriesCount(svg), 2);
  assert(svg.includes(`stroke="#123456"`), "explicit colour used");
  assert(svg.includes(`class="legend"`), "legend for several series");
  assert(svg.includes("loss &lt;&amp;&gt; &quot;quoted&quot;"), "title escaped");
  const ys = [...a, ...b].map((p) => p[1]);
  assertRoundCovering(tickValues(svg, "y")[0], Math.min(...ys), Math.max(...ys));
  assertRoundCovering(tickValues(svg, "x")[0], 0, 49);
  // Labels say what the values are.
  const labels = tickLabels(svg, "y").map(Number);
  assertEquals(labels, tickValues(svg, "y")[0]);
  // Every plotted coordinate lies inside the canvas.
  for (const t of tags.filter((t) => t.name === "polyline")) {
    for (const xy of t.attrs.points.split(" ")) {
      const [x, y] = xy.split(",").map(Number);
      assert(x >= 0 && x <= 640 && y >= 0 && y <= 360, `point ${xy} on canvas`);
    }
  }
});

Deno.test("lineChartSvg: single series has no legend", () => {
  const svg = lineChartSvg({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "only", points: line(10, (i) => i * i) }],
  });
  parseSvg(svg);
  assertEquals(seriesCount(svg), 1);
  assert(!svg.includes(`class="legend"`));
});

Deno.test("lineChartSvg: single point, constant, NaN/Infinity and empty series", () => {
  const single = lineChartSvg({
    title: "one",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "p", points: [[7, 0.42]] }],
  });
  assertEquals(seriesCount(single), 1);
  assert(parseSvg(single).some((t) => t.name === "circle"), "a lone point gets a dot");
  assertRoundCovering(tickValues(single, "y")[0], 0.42, 0.42);
  assertRoundCovering(tickValues(single, "x")[0], 7, 7);

  const constant = lineChartSvg({
    title: "flat",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "c", points: line(20, () => 0.996) }],
  });
  assertEquals(seriesCount(constant), 1);
  const ct = tickValues(constant, "y")[0];
  assertRoundCovering(ct, 0.996, 0.996);
  assert(ct[0] < 0.996 && ct[ct.length - 1] > 0.996, "constant value sits inside the axis");

  const gappy: Point[] = [[0, 1], [1, NaN], [2, Infinity], [3, 2], [NaN, 5], [4, -Infinity], [
    5,
    3,
  ]];
  const withGaps = lineChartSvg({
    title: "gaps",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "g", points: gappy }],
  });
  const poly = parseSvg(withGaps).find((t) => t.name === "polyline")!;
  assertEquals(poly.attrs.points.split(" ").length, 3, "only finite points drawn");
  assert(!withGaps.includes("NaN") && !withGaps.includes("Infinity"));
  assertRoundCovering(tickValues(withGaps, "y")[0], 1, 3);

  const empty = lineChartSvg({
    title: "nothing",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "e", points: [] }],
  });
  assertEquals(seriesCount(empty), 0);
  assert(empty.includes("no data"));
  assert(!empty.includes("NaN"));

  const noSeries = lineChartSvg({ title: "none", xLabel: "x", yLabel: "y", series: [] });
  assertEquals(seriesCount(noSeries), 0);

  const mixed = lineChartSvg({
    title: "mixed",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "full", points: line(5, (i) => i) }, { name: "hollow", points: [] }],
  });
  assertEquals(seriesCount(mixed), 1);
  assert(mixed.includes("hollow (no data)"), "empty series named in the legend");
});

Deno.test("lineChartSvg: yLog skips non-positive values and ticks cover the data", () => {
  const pts: Point[] = [[0, 0], [1, -1], [2, 3e-4], [3, 0.02], [4, 0.45]];
  const svg = lineChartSvg({
    title: "lr",
    xLabel: "step",
    yLabel: "lr",
    yLog: true,
    series: [{ name: "lr", points: pts }],
  });
  parseSvg(svg);
  const poly = parseSvg(svg).find((t) => t.name === "polyline")!;
  assertEquals(poly.attrs.points.split(" ").length, 3);
  const t = tickValues(svg, "y")[0];
  assert(t[0] <= 3e-4 && t[t.length - 1] >= 0.45, `log ticks ${t} cover the data`);
  assert(!svg.includes("NaN"));
});

Deno.test("stackedChartsSvg: panels stacked with their own axes", () => {
  const svg = stackedChartsSvg({
    width: 700,
    panelHeight: 250,
    panels: [
      {
        title: "lr",
        xLabel: "step",
        yLabel: "lr",
        series: [{ name: "lr", points: line(9, (i) => i / 10) }],
      },
      {
        title: "tau",
        xLabel: "step",
        yLabel: "tau",
        series: [{ name: "tau", points: line(9, (i) => 0.99 + i / 1000) }],
      },
    ],
  });
  const tags = parseSvg(svg);
  assertEquals(tags[0].attrs.height, "500");
  assertEquals(seriesCount(svg), 2);
  const [lr, tau] = tickValues(svg, "y");
  assertRoundCovering(lr, 0, 0.8);
  assertRoundCovering(tau, 0.99, 0.998);
  // Plot frames line up so the shared step axis reads straight down.
  const frames = tags.filter((t) => t.name === "rect" && t.attrs.stroke === "#888");
  assertEquals(frames.length, 2);
  assertEquals(frames[0].attrs.x, frames[1].attrs.x);
  assertEquals(frames[0].attrs.width, frames[1].attrs.width);
});

// ---- PNG ------------------------------------------------------------------------------------

Deno.test("svgToPng: PNG signature and the chart's width/height", async () => {
  const svg = lineChartSvg({
    title: "Size check",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "s", points: line(30, Math.sqrt) }],
    width: 523,
    height: 311,
  });
  const png = await svgToPng(svg);
  assertEquals(pngSize(png), { width: 523, height: 311 });
});

Deno.test("svgToPng: without a font it still renders, and warns once", async () => {
  const svg = lineChartSvg({
    title: "No font",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "s", points: line(5, (i) => i) }],
    width: 300,
    height: 200,
  });
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  let noText: Uint8Array;
  try {
    noText = await svgToPng(svg, { fontPaths: ["/nonexistent/DejaVuSans.ttf"] });
    await svgToPng(svg, { fontPaths: ["/also/missing.ttf"] });
  } finally {
    console.error = orig;
  }
  assertEquals(pngSize(noText), { width: 300, height: 200 });
  // Earlier renders used the bundled font without a word, so this is the first and only warning.
  assertEquals(errors.length, 1, errors.join("\n"));
  assert(errors[0].includes("without text") && errors[0].includes("/nonexistent/DejaVuSans.ttf"));
  const withText = await svgToPng(svg);
  assert(withText.length !== noText.length, "text changes the picture");
});

/** Pixels of a box that differ from white, in an RGBA PNG decoded by imagescript. */
async function inkIn(
  png: Uint8Array,
  box: { x0: number; y0: number; x1: number; y1: number },
): Promise<number> {
  const { Image } = await import("../../deps/imagescript.ts");
  const img = await Image.decode(png);
  let ink = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const i = (y * img.width + x) * 4;
      if (img.bitmap[i] < 250 || img.bitmap[i + 1] < 250 || img.bitmap[i + 2] < 250) ink++;
    }
  }
  return ink;
}

Deno.test("svgToPng: the bundled DejaVu Sans draws the text, no system font needed", async () => {
  const svg = lineChartSvg({
    title: "Bundled font",
    xLabel: "step",
    yLabel: "loss",
    series: [{ name: "s", points: line(20, (i) => 1 / (i + 1)) }],
    width: 400,
    height: 240,
  });
  // The title is centred with its baseline 27 px down; nothing else is drawn above y = 35.
  const title = { x0: 120, y0: 8, x1: 280, y1: 34 };
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" "));
  let bundledOnly: Uint8Array, byDefault: Uint8Array, none: Uint8Array;
  try {
    // Only the files in assets/fonts/: the system's DejaVu paths are not consulted.
    bundledOnly = await svgToPng(svg, { fontPaths: BUNDLED_FONT_URLS });
    byDefault = await svgToPng(svg);
    none = await svgToPng(svg, { fontPaths: [] });
  } finally {
    console.error = orig;
  }
  assertEquals(errors, [], "no font warning");
  for (const u of BUNDLED_FONT_URLS) assertEquals(u.protocol, "file:");
  assertEquals(await inkIn(none, title), 0, "no font: the title area is blank");
  const ink = await inkIn(bundledOnly, title);
  assert(ink > 200, `the bundled font draws the title (${ink} inked pixels)`);
  assertEquals(byDefault, bundledOnly, "the default render uses the bundled font");
});

// ---- run folder -----------------------------------------------------------------------------

function metricsLines(steps: number, knnEvery = 0): string[] {
  const out: string[] = [];
  for (let s = 0; s < steps; s++) {
    const rec: Record<string, number> = {
      step: s,
      epoch: Math.floor(s / 10),
      loss: 4 * Math.exp(-s / 30) + 0.05 * Math.sin(s),
      tau: 0.996 + 0.004 * (s / steps),
      lr: 0.3 * Math.min(1, s / 10),
      imagesPerSec: 1000 + s,
    };
    if (knnEvery && s % knnEvery === knnEvery - 1) rec.knnTop1 = 20 + s / 5;
    out.push(JSON.stringify(rec));
  }
  return out;
}

Deno.test("movingAverage: trailing window over finite values", () => {
  assertEquals(movingAverage([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5]);
  assertEquals(movingAverage([1, NaN, 3], 2), [1, 1, 3]);
  assertEquals(movingAverage([2, 4], 1), [2, 4]);
});

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("writeRunPlots: truncated last line, no kNN -> loss and schedules only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plots_test_" });
  try {
    const text = metricsLines(120).join("\n") + `\n{"step": 120, "epoch": 12, "lo`;
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, text);
    const written = await writeRunPlots(dir);
    assertEquals(
      written,
      ["loss.svg", "loss.png", "schedules.svg", "schedules.png"].map((f) => `${dir}/plots/${f}`),
    );
    assertEquals(await listDir(`${dir}/plots`), [
      "loss.png",
      "loss.svg",
      "schedules.png",
      "schedules.svg",
    ]);
    const loss = await Deno.readTextFile(`${dir}/plots/loss.svg`);
    assertEquals(seriesCount(loss), 2, "raw loss and its moving average");
    const xt = tickValues(loss, "x")[0];
    assertRoundCovering(xt, 0, 119);
    const sched = await Deno.readTextFile(`${dir}/plots/schedules.svg`);
    assertEquals(seriesCount(sched), 2, "lr and tau panels");
    assertEquals(pngSize(await Deno.readFile(`${dir}/plots/loss.png`)), {
      width: 800,
      height: 450,
    });
    assertEquals(pngSize(await Deno.readFile(`${dir}/plots/schedules.png`)), {
      width: 800,
      height: 600,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRunPlots: kNN lines add knn.svg/png by epoch; rerun overwrites", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plots_test_" });
  try {
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, metricsLines(60, 20).join("\n") + "\n");
    const first = await writeRunPlots(dir + "/");
    assertEquals(first.length, 6);
    assert(first.includes(`${dir}/plots/knn.svg`) && first.includes(`${dir}/plots/knn.png`));
    const knn = await Deno.readTextFile(`${dir}/plots/knn.svg`);
    const poly = parseSvg(knn).find((t) => t.name === "polyline")!;
    assertEquals(poly.attrs.points.split(" ").length, 3, "one point per evaluated epoch");
    assertRoundCovering(tickValues(knn, "x")[0], 1, 5);
    await writeRunPlots(dir);
    assertEquals((await listDir(`${dir}/plots`)).length, 6, "no temp files left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRunPlots: missing metrics.jsonl rejects", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plots_test_" });
  try {
    let threw = false;
    await writeRunPlots(dir).catch((e) => {
      threw = e instanceof Deno.errors.NotFound;
    });
    assert(threw, "NotFound for a folder without metrics");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
