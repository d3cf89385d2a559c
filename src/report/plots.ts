/**
 * Charts: hand-drawn SVG line charts (no plotting dependency) and PNG rendering through
 * resvg-wasm. A run's own charts (from its metrics.jsonl) are src/train/run_plots.ts.
 */
import { initWasm, Resvg, resvgWasmUrl } from "../../deps/resvg.ts";

export type Point = [number, number];

export interface Series {
  name: string;
  points: Point[];
  color?: string;
  /** Stroke width in px (default 2). */
  strokeWidth?: number;
  /** Stroke opacity in [0, 1] (default 1). */
  opacity?: number;
  /** Draw a dot at every point (useful for sparse series such as periodic evaluations). */
  markers?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yLog?: boolean;
}

/** One panel of a stacked chart: a chart without its own size. */
export type PanelOptions = Omit<ChartOptions, "width" | "height">;

export interface StackedOptions {
  panels: PanelOptions[];
  width?: number;
  /** Height of each panel. */
  panelHeight?: number;
}

// Tableau-10: distinguishable, colour-blind tolerable, prints fine.
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
const FONT_FAMILY = "'DejaVu Sans', Helvetica, Arial, sans-serif";
export const FONT_SIZE = 12;
export const TITLE_SIZE = 15;
// DejaVu Sans averages ~0.6 em per glyph for digits; used to size margins and the legend.
const CHAR_W = 0.6;

// ---------------------------------------------------------------------------------------------
// Ticks

/** Rounds `x` to 1, 2, 5 or 10 times a power of ten (Heckbert's "nice numbers"). */
function niceNum(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/** Removes float noise such as 0.30000000000000004 so labels and tests see round values. */
function clean(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

export interface Ticks {
  /** Axis domain; always covers the data and starts/ends on a tick. */
  min: number;
  max: number;
  ticks: number[];
  step: number;
}

/** Linear ticks at multiples of a 1/2/5·10^k step, with the domain snapped outward to ticks. */
export function linearTicks(lo: number, hi: number, target = 6): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    // A constant series: open a window around the value so it sits mid-chart.
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  // Among nearby 1/2/5 steps, prefer the one whose tick-snapped domain wastes the least width
  // (plain Heckbert can stretch 0..12k to 0..15k), keeping the tick count near the target.
  const intervals = Math.max(2, target - 1);
  const base = niceNum(niceNum(hi - lo, false) / intervals, true);
  let best = { step: base, min: 0, max: 0, score: Infinity };
  for (const f of [0.2, 0.4, 0.5, 1, 2, 2.5, 5]) {
    const step = clean(base * f);
    const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    if (![1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-6)) continue;
    const min = Math.floor(lo / step + 1e-9) * step;
    const max = Math.ceil(hi / step - 1e-9) * step;
    const n = Math.round((max - min) / step);
    if (n < 2 || n > intervals * 1.6 + 1) continue;
    const score = (max - min) / (hi - lo) + 0.25 * Math.abs(n - intervals) / intervals;
    if (score < best.score - 1e-9) best = { step, min, max, score };
  }
  if (!Number.isFinite(best.score)) {
    best.min = Math.floor(lo / base + 1e-9) * base;
    best.max = Math.ceil(hi / base - 1e-9) * base;
  }
  const { step, min, max } = best;
  const ticks: number[] = [];
  const n = Math.round((max - min) / step);
  for (let i = 0; i <= n; i++) ticks.push(clean(min + i * step));
  return { min: clean(min), max: clean(max), ticks, step: clean(step) };
}

/** Log ticks: decades, or 1/2/5 per decade when the data spans less than ~3 decades. */
export function logTicks(lo: number, hi: number): Ticks {
  if (!(lo > 0) || !Number.isFinite(lo)) lo = 1;
  if (!(hi > 0) || !Number.isFinite(hi)) hi = lo;
  if (lo > hi) [lo, hi] = [hi, lo];
  let e0 = Math.floor(Math.log10(lo) + 1e-9);
  let e1 = Math.ceil(Math.log10(hi) - 1e-9);
  if (e0 === e1) e1 = e0 + 1;
  const decades = e1 - e0;
  const mults = decades <= 3 ? [1, 2, 5] : [1];
  // Decade stride keeps long ranges at ~8 labels.
  const stride = Math.max(1, Math.ceil(decades / 8));
  e0 = Math.floor(e0 / stride) * stride;
  const candidates: number[] = [];
  for (let e = e0; e <= e1; e += stride) {
    for (const m of mults) candidates.push(clean(m * 10 ** e));
  }
  // Snap the domain to the tightest candidates that still contain the data.
  const min = [...candidates].reverse().find((t) => t <= lo * (1 + 1e-9)) ?? candidates[0];
  const max = candidates.find((t) => t >= hi * (1 - 1e-9)) ?? candidates[candidates.length - 1];
  const ticks = candidates.filter((t) => t >= min && t <= max);
  return { min, max, ticks, step: stride };
}

/** Short label: plain decimals for everyday magnitudes, exponent form for tiny/huge ones. */
export function formatTick(v: number, step?: number): string {
  const a = Math.abs(v);
  if (a === 0) {
    return step !== undefined && step >= 1e-3 && step < 1e5 ? v.toFixed(decimalsOf(step)) : "0";
  }
  // Decide per axis (by step) when there is one, so one axis never mixes the two notations.
  const useExp = step !== undefined && step > 0 ? step < 1e-3 || step >= 1e5 : a >= 1e6 || a < 1e-3;
  if (useExp) {
    const [m, e] = v.toExponential().split("e");
    return `${Number(Number(m).toPrecision(3))}e${Number(e)}`;
  }
  // Same decimals on every label of an axis ("0.0", "0.5", "1.0").
  if (step !== undefined && step > 0) return v.toFixed(decimalsOf(step));
  return String(clean(v));
}

function decimalsOf(step: number): number {
  return Math.min(10, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

// ---------------------------------------------------------------------------------------------
// SVG drawing (the small helpers are shared with embedding.ts, not part of report/mod.ts)

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

export function r2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function text(
  x: number,
  y: number,
  s: string,
  attrs: Record<string, string | number> = {},
): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${esc(String(v))}"`).join("");
  return `<text x="${r2(x)}" y="${r2(y)}"${a}>${esc(s)}</text>`;
}

export function textWidth(s: string, size = FONT_SIZE): number {
  return s.length * size * CHAR_W;
}

/** Finite points only; on a log axis, non-positive y values cannot be placed either. */
function drawable(points: Point[], yLog: boolean): Point[] {
  return points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!yLog || y > 0));
}

let clipCounter = 0;

interface Frame {
  /** Lower bound for the plot area's left edge (to align stacked panels). */
  minLeft?: number;
  /** Upper bound for the plot area's right edge. */
  maxRight?: number;
}

/** Draws one chart into the box (ox, oy, w, h); returns the fragment and its plot-area edges. */
function panel(
  opts: PanelOptions,
  ox: number,
  oy: number,
  w: number,
  h: number,
  frame: Frame = {},
): { svg: string; left: number; right: number } {
  const yLog = opts.yLog ?? false;
  const series = opts.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length],
    pts: drawable(s.points, yLog),
  }));
  const all = series.flatMap((s) => s.pts);
  const hasData = all.length > 0;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const minOf = (v: number[]) => v.reduce((a, b) => Math.min(a, b), Infinity);
  const maxOf = (v: number[]) => v.reduce((a, b) => Math.max(a, b), -Infinity);

  const top = oy + 12 + TITLE_SIZE + 12;
  const bottom = oy + h - (FONT_SIZE * 3 + 14);
  const plotH = Math.max(10, bottom - top);
  const yt = yLog
    ? logTicks(hasData ? minOf(ys) : 1, hasData ? maxOf(ys) : 10)
    : linearTicks(hasData ? minOf(ys) : 0, hasData ? maxOf(ys) : 1, Math.max(3, plotH / 45));
  const yLabels = yt.ticks.map((t) => formatTick(t, yLog ? undefined : yt.step));
  const left = Math.max(
    frame.minLeft ?? -Infinity,
    ox + 14 + FONT_SIZE + 8 + Math.max(...yLabels.map((l) => textWidth(l))) + 8,
  );
  const xt = linearTicks(
    hasData ? minOf(xs) : 0,
    hasData ? maxOf(xs) : 1,
    Math.max(3, (ox + w - 20 - left) / 90),
  );
  // The last x label is centred on the right edge: leave room for its half.
  const right = Math.min(
    frame.maxRight ?? Infinity,
    ox + w - Math.max(20, textWidth(formatTick(xt.max, xt.step)) / 2 + 8),
  );
  const plotW = Math.max(10, right - left);

  const sx = (x: number) => left + ((x - xt.min) / (xt.max - xt.min)) * plotW;
  const ty = (y: number) => (yLog ? Math.log10(y) : y);
  const sy = (y: number) => bottom - ((ty(y) - ty(yt.min)) / (ty(yt.max) - ty(yt.min))) * plotH;

  const out: string[] = [];
  out.push(`<g class="panel">`);
  out.push(
    text(ox + w / 2, oy + 12 + TITLE_SIZE, opts.title, {
      "text-anchor": "middle",
      "font-size": TITLE_SIZE,
      "font-weight": "bold",
      fill: "#222",
    }),
  );

  // Grid and tick labels.
  out.push(`<g class="grid" stroke="#e3e3e3" stroke-width="1">`);
  for (const t of yt.ticks) {
    const y = r2(sy(t));
    out.push(`<line x1="${r2(left)}" y1="${y}" x2="${r2(right)}" y2="${y}"/>`);
  }
  for (const t of xt.ticks) {
    const x = r2(sx(t));
    out.push(`<line x1="${x}" y1="${r2(top)}" x2="${x}" y2="${r2(bottom)}"/>`);
  }
  out.push(`</g>`);
  out.push(`<g class="y-ticks" font-size="${FONT_SIZE}" fill="#444" text-anchor="end">`);
  yt.ticks.forEach((t, i) => {
    out.push(text(left - 6, sy(t) + FONT_SIZE * 0.35, yLabels[i], { "data-value": t }));
  });
  out.push(`</g>`);
  out.push(`<g class="x-ticks" font-size="${FONT_SIZE}" fill="#444" text-anchor="middle">`);
  for (const t of xt.ticks) {
    out.push(text(sx(t), bottom + FONT_SIZE + 6, formatTick(t, xt.step), { "data-value": t }));
  }
  out.push(`</g>`);

  // Axes: a frame reads cleaner than two lone lines once the grid is light.
  out.push(
    `<rect x="${r2(left)}" y="${r2(top)}" width="${r2(plotW)}" height="${
      r2(plotH)
    }" fill="none" stroke="#888" stroke-width="1"/>`,
  );
  out.push(
    text(left + plotW / 2, oy + h - 10, opts.xLabel, {
      "text-anchor": "middle",
      "font-size": FONT_SIZE + 1,
      fill: "#222",
    }),
  );
  const ylx = ox + 14 + FONT_SIZE * 0.5;
  const yly = top + plotH / 2;
  out.push(
    text(ylx, yly, opts.yLabel, {
      "text-anchor": "middle",
      "font-size": FONT_SIZE + 1,
      fill: "#222",
      transform: `rotate(-90 ${r2(ylx)} ${r2(yly)})`,
    }),
  );

  // Series, clipped near the plot area so nothing paints over the labels; the few px of slack
  // keep strokes and dots that sit exactly on the (tick-snapped) domain edge whole.
  const clipId = `plot-clip-${++clipCounter}`;
  const slack = 5;
  out.push(
    `<clipPath id="${clipId}"><rect x="${r2(left - slack)}" y="${r2(top - slack)}" width="${
      r2(plotW + 2 * slack)
    }" height="${r2(plotH + 2 * slack)}"/></clipPath>`,
  );
  out.push(`<g clip-path="url(#${clipId})" fill="none" stroke-linejoin="round">`);
  for (const s of series) {
    if (s.pts.length === 0) continue;
    const pts = s.pts.map(([x, y]) => `${r2(sx(x))},${r2(sy(y))}`).join(" ");
    const width = s.strokeWidth ?? 2;
    const opacity = s.opacity ?? 1;
    out.push(
      `<polyline class="series" data-name="${esc(s.name)}" points="${pts}" stroke="${
        esc(s.color)
      }" stroke-width="${width}" stroke-opacity="${opacity}"/>`,
    );
    // A lone point has no line to show, so it always gets a dot.
    if (s.markers || s.pts.length === 1) {
      for (const [x, y] of s.pts) {
        out.push(
          `<circle cx="${r2(sx(x))}" cy="${r2(sy(y))}" r="${Math.max(3, width + 1)}" fill="${
            esc(s.color)
          }" fill-opacity="${opacity}" stroke="none"/>`,
        );
      }
    }
  }
  out.push(`</g>`);

  if (!hasData) {
    out.push(
      text(left + plotW / 2, top + plotH / 2, "no data", {
        "text-anchor": "middle",
        "font-size": FONT_SIZE + 2,
        fill: "#999",
      }),
    );
  }

  // Legend only when it disambiguates something; top-right inside the plot on a white card.
  if (series.length > 1) {
    const rowH = FONT_SIZE + 6;
    const labels = series.map((s) => (s.pts.length ? s.name : `${s.name} (no data)`));
    const lw = 24 + 6 + Math.max(...labels.map((l) => textWidth(l))) + 12;
    const lh = rowH * series.length + 8;
    const lx = right - lw - 8;
    const ly = top + 8;
    out.push(`<g class="legend" font-size="${FONT_SIZE}" fill="#222">`);
    out.push(
      `<rect x="${r2(lx)}" y="${r2(ly)}" width="${r2(lw)}" height="${
        r2(lh)
      }" rx="3" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    series.forEach((s, i) => {
      const cy = ly + 4 + rowH * i + rowH / 2;
      out.push(
        `<line x1="${r2(lx + 8)}" y1="${r2(cy)}" x2="${r2(lx + 32)}" y2="${r2(cy)}" stroke="${
          esc(s.color)
        }" stroke-width="${Math.max(2, s.strokeWidth ?? 2)}" stroke-opacity="${
          Math.max(0.6, s.opacity ?? 1)
        }"/>`,
      );
      out.push(text(lx + 38, cy + FONT_SIZE * 0.35, labels[i]));
    });
    out.push(`</g>`);
  }
  out.push(`</g>`);
  return { svg: out.join("\n"), left, right };
}

export function svgDoc(width: number, height: number, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    body,
    `</svg>`,
    "",
  ].join("\n");
}

/** A self-contained SVG line chart (one `<polyline class="series">` per non-empty series). */
export function lineChartSvg(opts: ChartOptions): string {
  const width = Math.round(opts.width ?? 800);
  const height = Math.round(opts.height ?? 450);
  return svgDoc(width, height, panel(opts, 0, 0, width, height).svg);
}

/** Charts stacked vertically in one SVG, e.g. the lr and tau schedules over the same steps. */
export function stackedChartsSvg(opts: StackedOptions): string {
  const width = Math.round(opts.width ?? 800);
  const ph = Math.round(opts.panelHeight ?? 300);
  // Draw twice: the first pass measures each panel's margins, the second aligns the plot areas
  // so panels sharing an x axis (steps) read straight down.
  const draft = opts.panels.map((p, i) => panel(p, 0, i * ph, width, ph));
  const frame = {
    minLeft: Math.max(...draft.map((d) => d.left)),
    maxRight: Math.min(...draft.map((d) => d.right)),
  };
  const body = opts.panels.map((p, i) => panel(p, 0, i * ph, width, ph, frame).svg).join("\n");
  return svgDoc(width, Math.max(1, ph * opts.panels.length), body);
}

// ---------------------------------------------------------------------------------------------
// PNG rendering

let wasmReady: Promise<void> | undefined;

function ensureWasm(): Promise<void> {
  // initWasm throws if called twice, so every caller shares one initialisation.
  wasmReady ??= Deno.readFile(resvgWasmUrl()).then((bytes) => initWasm(bytes));
  return wasmReady;
}

/**
 * DejaVu Sans as shipped with the library in `assets/fonts/` (Debian's fonts-dejavu-core 2.37-6,
 * Bitstream Vera licence), so PNG charts have text on a machine with no system fonts. File URLs
 * when the library is loaded from disk; fetched when it is loaded over http(s).
 */
export const BUNDLED_FONT_URLS: readonly URL[] = [
  new URL("../../assets/fonts/DejaVuSans.ttf", import.meta.url),
  new URL("../../assets/fonts/DejaVuSans-Bold.ttf", import.meta.url),
];

/** Where Debian/Ubuntu, Fedora and Arch put DejaVu Sans: used only when the bundled files fail. */
export const DEFAULT_FONT_PATHS = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
];

/** A font file's bytes: read from disk for a path or a file: URL, fetched for any other URL. */
async function readFont(src: string | URL): Promise<Uint8Array> {
  if (typeof src === "string" || src.protocol === "file:") return await Deno.readFile(src);
  const res = await fetch(src, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status} ${res.statusText}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

interface LoadedFonts {
  fonts: Uint8Array[];
  /** `source: reason` for each source that could not be had. */
  failed: string[];
}

async function loadFonts(sources: readonly (string | URL)[]): Promise<LoadedFonts> {
  const fonts: Uint8Array[] = [];
  const failed: string[] = [];
  const names = new Set<string>();
  for (const src of sources) {
    // The same face under two distro layouts would only waste memory.
    const s = String(src);
    const name = s.slice(s.lastIndexOf("/") + 1);
    if (names.has(name)) continue;
    try {
      fonts.push(await readFont(src));
      names.add(name);
    } catch (err) {
      failed.push(`${s}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { fonts, failed };
}

let warnedNoFont = false;

function warnNoFont(looked: string): void {
  if (warnedNoFont) return;
  warnedNoFont = true;
  console.error(
    `plots: no DejaVu Sans font found (${looked}); PNG charts are rendered without text ` +
      `(restore assets/fonts/ from the repository, or install fonts-dejavu-core)`,
  );
}

/** The bundled DejaVu Sans; the system's only when the bundled files cannot be read. */
async function defaultFonts(): Promise<Uint8Array[]> {
  const bundled = await loadFonts(BUNDLED_FONT_URLS);
  if (bundled.fonts.length > 0) return bundled.fonts;
  const system = await loadFonts(DEFAULT_FONT_PATHS);
  if (system.fonts.length === 0) {
    warnNoFont(`bundled: ${bundled.failed[0]}; system: looked in ${DEFAULT_FONT_PATHS.join(", ")}`);
  }
  return system.fonts;
}

/** Exactly the fonts asked for; an empty list means no text, deliberately, so no warning. */
async function explicitFonts(sources: readonly (string | URL)[]): Promise<Uint8Array[]> {
  const { fonts } = await loadFonts(sources);
  if (fonts.length === 0 && sources.length > 0) {
    warnNoFont(`looked in ${sources.map(String).join(", ")}`);
  }
  return fonts;
}

const fontCache = new Map<string, Promise<Uint8Array[]>>();

export interface PngOptions {
  /**
   * TTF files to load, as paths or URLs, and only these. By default: the bundled DejaVu Sans
   * (`BUNDLED_FONT_URLS`), then `DEFAULT_FONT_PATHS` if the bundled files cannot be read.
   */
  fontPaths?: readonly (string | URL)[];
}

/** Renders an SVG to PNG bytes at its own width/height on a white background. */
export async function svgToPng(svg: string, opts: PngOptions = {}): Promise<Uint8Array> {
  await ensureWasm();
  const paths = opts.fontPaths;
  // "\0" cannot start a path or URL, so the default never shares an explicit list's entry.
  const key = paths ? paths.map(String).join("\n") : "\0default";
  let fonts = fontCache.get(key);
  if (!fonts) fontCache.set(key, fonts = paths ? explicitFonts(paths) : defaultFonts());
  const fontBuffers = await fonts;
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "original" },
    font: {
      fontBuffers,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
      defaultFontSize: FONT_SIZE,
    },
  });
  try {
    const img = resvg.render();
    try {
      return img.asPng();
    } finally {
      img.free();
    }
  } finally {
    resvg.free();
  }
}

// ---------------------------------------------------------------------------------------------
// Run folder

/** Trailing moving average over the last `window` finite values (non-finite ones are ignored). */
export function movingAverage(values: number[], window: number): number[] {
  const w = Math.max(1, Math.floor(window));
  const out: number[] = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      sum += values[i];
      count++;
    }
    const j = i - w;
    if (j >= 0 && Number.isFinite(values[j])) {
      sum -= values[j];
      count--;
    }
    out.push(count > 0 ? sum / count : NaN);
  }
  return out;
}

/** ~1/20 of the run, so the trend shows without lagging far behind the raw curve. */
export function smoothingWindow(n: number): number {
  return Math.max(1, Math.min(500, Math.round(n / 20)));
}
