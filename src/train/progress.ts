// Progress: a live bar on a TTY (cli-progress), plain periodic lines on
// stderr otherwise. Results go to stdout elsewhere.
import cliProgress from "../../deps/cli_progress.ts";
import type { MetricsRecord } from "./metrics.ts";

export class Progress {
  readonly #tty = Deno.stderr.isTerminal();
  #bar: cliProgress.SingleBar | null = null;
  #lastLine = 0;
  #payload: Record<string, string> = { epoch: "-", loss: "-", ips: "-" };
  readonly #total: number;

  constructor(total: number, start: number) {
    this.#total = total;
    if (this.#tty) {
      this.#bar = new cliProgress.SingleBar({
        format:
          "epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | {ips} img/s | ETA {eta_formatted}",
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      this.#bar.start(total, start, this.#payload);
    }
  }

  update(m: MetricsRecord): void {
    if (this.#bar) {
      this.#payload = {
        epoch: m.epoch.toFixed(2),
        loss: m.loss.toFixed(4),
        ips: m.imagesPerSec.toFixed(0),
      };
      this.#bar.update(m.step, this.#payload);
      return;
    }
    const now = Date.now();
    if (now - this.#lastLine >= 10_000 || m.step === this.#total) {
      this.#lastLine = now;
      console.error(
        `step ${m.step}/${this.#total} epoch ${m.epoch.toFixed(2)} loss ${m.loss.toFixed(4)} ` +
          `lr ${m.lr.toExponential(2)}${m.tau !== undefined ? ` tau ${m.tau.toFixed(5)}` : ""} ` +
          `${m.imagesPerSec.toFixed(0)} img/s`,
      );
    }
  }

  /** A message line that does not tear the bar. */
  note(line: string): void {
    if (this.#bar) {
      this.#bar.stop();
      console.error(line);
      const v = (this.#bar as unknown as { value: number }).value;
      this.#bar.start(this.#total, v, this.#payload);
    } else console.error(line);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}
