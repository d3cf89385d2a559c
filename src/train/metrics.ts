// metrics.jsonl: one JSON line per logged step, written and read only here.
// A step's line carries everything known about that step (its loss, and the
// kNN accuracy when an evaluation ran after it). Reading merges lines by step,
// later fields over earlier ones, so a resumed run that replays steps from its
// checkpoint, or a line a crash cut short, never yields two points for a step.

export interface MetricsRecord {
  /** Optimizer steps done. */
  step: number;
  epoch: number;
  /** The method's loss (mean over the step's batches). */
  loss: number;
  lr: number;
  imagesPerSec: number;
  /** Percent; only on steps after which the kNN monitor ran. */
  knnTop1?: number;
  /** Percent: the online probe's test accuracy, on the monitor's steps (--online-probe). */
  probeTop1?: number;
  /** The online probe's training loss (--online-probe). */
  probeLoss?: number;
  /** BYOL's EMA decay at the step. */
  tau?: number;
  /** Any other metric a method reports (Method.afterStep), by its name. */
  [metric: string]: number | undefined;
}

/** The fields every record has; any other numeric field is a method's or the monitor's. */
export const CORE_FIELDS = ["step", "epoch", "loss", "lr", "imagesPerSec"] as const;

/**
 * Parses metrics.jsonl text: unparsable lines (a crash mid-write leaves a
 * truncated last line) and lines without a numeric step are skipped; lines of
 * the same step merge, later fields winning. Sorted by step.
 */
export function parseMetrics(content: string): MetricsRecord[] {
  const byStep = new Map<number, Record<string, unknown>>();
  for (const line of content.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      continue;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) continue;
    const rec = obj as Record<string, unknown>;
    if (typeof rec.step !== "number" || !Number.isFinite(rec.step)) continue;
    byStep.set(rec.step, { ...byStep.get(rec.step), ...rec });
  }
  // JSON has no NaN: writers emit null for it, which becomes NaN here (skipped in charts).
  const num = (v: unknown) => (typeof v === "number" ? v : NaN);
  return [...byStep.values()].map((rec) => {
    const r: MetricsRecord = {
      step: rec.step as number,
      epoch: num(rec.epoch),
      loss: num(rec.loss),
      lr: num(rec.lr),
      imagesPerSec: num(rec.imagesPerSec),
    };
    // Every other field as written: numbers, and null (a NaN) as NaN.
    for (const [k, v] of Object.entries(rec)) {
      if ((CORE_FIELDS as readonly string[]).includes(k)) continue;
      if (typeof v === "number" || v === null) r[k] = num(v);
    }
    return r;
  }).sort((a, b) => a.step - b.step);
}

/** Reads a run's metrics.jsonl, one record per step. */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  return parseMetrics(await Deno.readTextFile(path));
}

/** Appends one line per step. Each line is written whole with one write call. */
export class MetricsWriter {
  readonly path: string;
  #file: Deno.FsFile | null = null;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Opens `path` for appending (created if missing). A last line a crash cut
   * short is ended first, so the next record starts on a line of its own.
   */
  static async open(path: string): Promise<MetricsWriter> {
    const file = await Deno.open(path, { read: true, append: true, create: true });
    const size = (await file.stat()).size;
    if (size > 0) {
      const last = new Uint8Array(1);
      await file.seek(size - 1, Deno.SeekMode.Start);
      await file.read(last);
      if (last[0] !== 0x0a) await file.write(new Uint8Array([0x0a]));
    }
    return new MetricsWriter(path, file);
  }

  async write(rec: MetricsRecord): Promise<void> {
    if (this.#file === null) throw new Error(`metrics writer for ${this.path} is closed`);
    const bytes = new TextEncoder().encode(JSON.stringify(rec) + "\n");
    try {
      for (let off = 0; off < bytes.length;) off += await this.#file.write(bytes.subarray(off));
    } catch (e) {
      throw new Error(
        `cannot write ${this.path}: ${(e as Error).message}; check free space and permissions`,
        { cause: e },
      );
    }
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
