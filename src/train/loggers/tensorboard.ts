// The TensorBoard logger (--logger tensorboard): event files under
// <run>/tensorboard that `tensorboard --logdir runs/` reads. Scalars: the
// method's loss and metrics (train/*), the lr, images/s, and the monitor's kNN
// and online-probe accuracies (monitor/*); at the start, a grid of augmented
// views (original, view 1, view 2 per row). A resumed run writes a new event
// file in the same folder; TensorBoard merges them.
import { join } from "node:path";
import { Generator } from "../../../ffi/generator.ts";
import { tidy } from "../../../ffi/memory.ts";
import { EventFileWriter } from "../../io/tfevents.ts";
import { viewsGrid, viewsGridPng } from "../../augment/views_grid.ts";
import type { Callback, TrainContext } from "../callbacks.ts";
import type { MetricsRecord } from "../metrics.ts";

/** Rows of the views grid. */
const GRID_ROWS = 8;

/** The TensorBoard tag of a metrics field. */
export function tensorboardTag(field: string): string {
  const snake = field.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  if (field === "knnTop1" || field === "probeTop1") return `monitor/${snake}`;
  if (field === "imagesPerSec") return "perf/images_per_sec";
  return `train/${snake}`;
}

export default class TensorBoardLogger implements Callback {
  #writer: EventFileWriter | null = null;

  /** The folder of the run's event files. */
  static dir(runDir: string): string {
    return join(runDir, "tensorboard");
  }

  async onTrainStart(ctx: TrainContext): Promise<void> {
    if (!ctx.folder.writer) return;
    this.#writer = await EventFileWriter.open(TensorBoardLogger.dir(ctx.folder.dir));
    // A resumed run logs again from the step after its checkpoint's (a crash
    // may have logged some of them): TensorBoard drops the earlier file's
    // points from there on (a session start), so none doubles.
    if (ctx.startStep > 0) await this.#writer.addSessionStart(ctx.startStep + 1);
    else await this.#writeViews(ctx);
  }

  /** The augmentation at work on the first images of epoch 0, from its own generator. */
  async #writeViews(ctx: TrainContext): Promise<void> {
    const { run } = ctx;
    using gen = new Generator(run.cfg.seed + 2, { device: run.device });
    const grid = tidy(() => {
      const batch = run.loader.batch(0, 0);
      const rows = Math.min(GRID_ROWS, batch.images.size(0));
      return viewsGrid(batch.images.narrow(0, 0, rows), run.augment, gen);
    });
    const png = await viewsGridPng(grid);
    await this.#writer!.addImage("views/augmented", png, grid.height, grid.width, 4, 0);
  }

  async onLog(m: MetricsRecord): Promise<void> {
    if (this.#writer === null) return;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) {
      if (k !== "step" && v !== undefined) values[tensorboardTag(k)] = v;
    }
    await this.#writer.addScalars(m.step, values);
  }

  async close(): Promise<void> {
    await this.#writer?.close();
    this.#writer = null;
  }
}
