// The jsonl logger: metrics.jsonl in the run folder, one line per logged step
// (metrics.ts's format). Always on: the plots, evaluate and resume read it.
import type { Callback, TrainContext } from "../callbacks.ts";
import type { MetricsRecord } from "../metrics.ts";
import type { MetricsWriter } from "../metrics.ts";

export default class JsonlLogger implements Callback {
  #writer: MetricsWriter | null = null;

  async onTrainStart(ctx: TrainContext): Promise<void> {
    this.#writer = await ctx.folder.openMetrics();
  }

  async onLog(m: MetricsRecord): Promise<void> {
    await this.#writer?.write(m);
  }

  close(): void {
    this.#writer?.close();
    this.#writer = null;
  }
}
