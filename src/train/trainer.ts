// The training loop behind `deno task train`: steps (step.ts) over a built run
// (run.ts), with the cadences of logging, the kNN monitor and checkpoints,
// one metrics record per logged step (metrics.ts), and a stop request
// (SIGINT) honoured between steps. The loop decides when; its subscribers
// (callbacks.ts) write: the checkpointer (checkpointer.ts), then the loggers,
// then a script's own.
import { getNumThreads } from "../../ffi/runtime.ts";
import { type Checkpoint, decodeState, disposeCheckpoint } from "./checkpoint.ts";
import type { MetricsRecord } from "./metrics.ts";
import { type LabelledImages, monitorScores, uploadLabelled } from "./monitor.ts";
import { type Callback, type CheckpointDue, emit, type MonitorScores } from "./callbacks.ts";
import { Checkpointer, writeCheckpoint } from "./checkpointer.ts";
import { createLoggers } from "./loggers/registry.ts";
import { methodTitle } from "./methods.ts";
import {
  buildRun,
  configureRuntime,
  disposeRun,
  prepareData,
  resolveDevice,
  restoreState,
  type Run,
} from "./run.ts";
import { probeSteps } from "./probe.ts";
import { emulatedBf16Warning, type ProbeRecord, resolvePrecision } from "./precision.ts";
import { RunFolder } from "./run_folder.ts";
import { checkBatchFits } from "./data_defaults.ts";
import { encoderMetadata, encoderSpec } from "./encoder_registry.ts";
import type { TrainConfig } from "./settings.ts";
import { createStepRunner, type StepRunner } from "./graph_step.ts";
import { anyRank, broadcastText, collective, SOLO, type World } from "../distributed/world.ts";

/** The loop's events (callbacks.ts); kept under its earlier name. */
export type TrainEvents = Callback;

export interface TrainResult {
  runDir: string;
  steps: number;
  interrupted: boolean;
  lastLoss: number;
  encoderPath: string;
}

export interface TrainerOptions {
  /** Continue from this checkpoint (its run's settings must be `cfg`). */
  resumeFrom?: Checkpoint;
  /** The run folder; default: a new one for `cfg` (--out or runs/<date>-<preset>). */
  folder?: RunFolder;
  /**
   * The processes training together (joinWorld); default this one alone. With
   * several, only rank 0's folder should be the writer.
   */
  world?: World;
}

/** A BYOL run: `create()` loads the data and builds it, `run()` trains. */
export class Trainer {
  readonly parts: Run;
  readonly folder: RunFolder;
  /** The settings chosen from the data (channels, augment, view size), one line each. */
  readonly notes: string[];
  step = 0;
  #stop = false;
  #testSet: LabelledImages | null = null;
  /** The step object (eager or CUDA-graph), made when the loop starts, after any resume. */
  #stepper: StepRunner | null = null;

  private constructor(parts: Run, folder: RunFolder, notes: string[]) {
    this.parts = parts;
    this.folder = folder;
    this.notes = notes;
  }

  get cfg(): TrainConfig {
    return this.parts.cfg;
  }
  get runDir(): string {
    return this.folder.dir;
  }
  get totalSteps(): number {
    return this.parts.schedule.totalSteps;
  }
  get stepsPerEpoch(): number {
    return this.parts.schedule.stepsPerEpoch;
  }

  /** Loads the data, completes the settings from it, builds the run (fresh, or from `resumeFrom`). */
  static async create(cfg: TrainConfig, opts: TrainerOptions = {}): Promise<Trainer> {
    const world = opts.world ?? SOLO;
    const device = world.worldSize > 1 ? world.device : resolveDevice(cfg.device);
    const prepared = await prepareData(cfg);
    // Training needs a whole batch; evaluating the same data does not.
    checkBatchFits(prepared.cfg, prepared.data.train.length, prepared.data.description);
    configureRuntime(prepared.cfg, device);
    const folder = opts.folder ?? RunFolder.forNewRun(prepared.cfg);
    const run = buildRun(prepared.cfg, prepared.data, device, { world });
    const notes = [...prepared.notes];
    let probe: ProbeRecord | null = null;
    if (run.cfg.precision === "auto") {
      // Resolved before config.json is written, so a resume trains the same way.
      // Several ranks: rank 0 probes (one process, no collectives) and the
      // others take its choice, so every rank trains the same way.
      if (world.rank === 0) {
        const p = probeSteps(run);
        try {
          probe = resolvePrecision({ cfg: run.cfg, device, probe: p.probe });
        } finally {
          p.dispose();
        }
      }
      const chosen = broadcastText(
        world,
        probe?.chosen ?? "",
        "the precision broadcast",
      ) as ProbeRecord["chosen"];
      run.cfg = { ...run.cfg, precision: chosen };
      run.precision = chosen;
      prepared.cfg = run.cfg;
      if (probe !== null) {
        const flags = probe.cpuFlags
          ? `; CPU bf16 flags: ${probe.cpuFlags.join(" ") || "none"}`
          : "";
        notes.push(`precision ${probe.chosen} (auto: ${probe.reason}${flags})`);
      } else notes.push(`precision ${chosen} (auto: chosen by rank 0)`);
    } else if (world.rank === 0) {
      const warning = emulatedBf16Warning(run.cfg.precision, device);
      if (warning !== null) notes.push(`precision ${run.cfg.precision}: ${warning}`);
    }
    const t = new Trainer(run, folder, notes);
    if (opts.resumeFrom) {
      await folder.reopen();
      try {
        t.step = restoreState(t.parts, decodeState(opts.resumeFrom));
      } finally {
        disposeCheckpoint(opts.resumeFrom);
      }
    } else {
      await folder.create(prepared.cfg);
      if (probe !== null && folder.writer) await folder.writeJson("precision.json", probe);
    }
    return t;
  }

  /**
   * The monitor: the online kNN (k=200, cosine, T=0.1, train split as the
   * bank) and, with --online-probe, the online probe's top-1, both on the test
   * split's features (extracted once).
   */
  monitor(): MonitorScores {
    const { data, loader, method, augment, device, world, probe } = this.parts;
    if (data.test === null || loader.labels === null) {
      throw new Error(`${data.description} has no labelled test split for the kNN monitor`);
    }
    this.#testSet ??= uploadLabelled(data.test, device);
    const bank = { images: loader.images, labels: loader.labels };
    try {
      return monitorScores(method.encoder, bank, this.#testSet, augment.config.view1, {
        k: 200,
        // This rank's share of the step's batch: the step's blocks, already cached.
        batchSize: this.cfg.batchSize / world.worldSize,
        // The bank may be on the host (a mapped cache larger than the GPU).
        device,
        world,
        precision: this.parts.precision,
        probe,
      });
    } finally {
      method.train();
    }
  }

  /** The online kNN monitor's top-1 (monitor().knnTop1). */
  knn(): number {
    return this.monitor().knnTop1;
  }

  /** Asks the loop to stop after the current step (and write a checkpoint). */
  requestStop(): void {
    this.#stop = true;
  }

  /**
   * Writes a checkpoint of everything a resume needs now, outside the loop's
   * cadence (announced to no callback); returns its folder (null if not the writer).
   */
  async checkpoint(): Promise<string | null> {
    return await writeCheckpoint(this.parts, this.folder, this.step);
  }

  /**
   * Trains until the configured steps are done or a stop is requested. The
   * checkpointer (checkpointer.ts), the loggers --logger names (metrics.jsonl
   * always) and `callbacks` (a progress bar, a script's own) receive the
   * loop's events in that order.
   */
  async run(callbacks: Callback | Callback[] = []): Promise<TrainResult> {
    const subscribers = [
      new Checkpointer(),
      ...await createLoggers(this.cfg.logger),
      ...(Array.isArray(callbacks) ? callbacks : [callbacks]),
    ];
    try {
      return await this.#loop(subscribers);
    } finally {
      for (const c of subscribers) await c.close?.();
    }
  }

  async #loop(subscribers: Callback[]): Promise<TrainResult> {
    const { cfg, data, schedule, method, device } = this.parts;
    const accumulate = cfg.accumulateGradBatches > 1
      ? `, ${cfg.accumulateGradBatches} batches of ${cfg.batchSize} a step`
      : "";
    await emit(
      subscribers,
      "onMessage",
      `training ${methodTitle(cfg.method)} (${cfg.encoder}) on ${data.description}: ` +
        `${data.train.length} images, ${schedule.stepsPerEpoch} steps/epoch${accumulate}, ` +
        `${schedule.totalSteps} steps, device ${device}, ${getNumThreads()} threads, ` +
        `precision ${this.parts.precision}` +
        (cfg.deterministic ? ", deterministic algorithms" : "") +
        (device.startsWith("cuda") ? `, TF32 ${cfg.tf32}` : "") +
        (this.parts.loader.where !== "" ? `, ${this.parts.loader.where}` : "") +
        (device.startsWith("cuda") || cfg.cudaGraphs === "on"
          ? `, CUDA graphs ${this.parts.graphs.why}`
          : ""),
    );
    await emit(subscribers, "onTrainStart", {
      run: this.parts,
      folder: this.folder,
      startStep: this.step,
      totalSteps: schedule.totalSteps,
      emit: (hook, ...args) => emit(subscribers, hook, ...args),
    });
    // The state is consistent between steps: a checkpoint may be written now.
    const due = (last: boolean): CheckpointDue => ({
      step: this.step,
      run: this.parts,
      folder: this.folder,
      last,
    });
    method.train();
    // Made here, after a resume's restore: a captured step reads the tensors as restored.
    this.#stepper ??= createStepRunner(this.parts);
    const stepper = this.#stepper;
    let lastLoss = NaN;
    let windowStart = performance.now();
    let windowImages = 0;
    while (this.step < schedule.totalSteps && !this.#stop) {
      const next = this.step + 1;
      const epochEnds = next % schedule.stepsPerEpoch === 0;
      const log = next % cfg.logEvery === 0 || next === schedule.totalSteps || epochEnds;
      // Several ranks: the step's collectives (SyncBatchNorm's statistics, the
      // gradient all-reduce) fail alike when a rank is lost: one line naming it.
      const r = collective(
        this.parts.world,
        `step ${next}`,
        () => stepper.run(this.step, log),
      );
      this.step = next;
      windowImages += cfg.batchSize * cfg.accumulateGradBatches;
      if (log) {
        if (!Number.isFinite(r.loss)) {
          throw new Error(
            `the loss became ${r.loss} at step ${this.step}; lower --lr (now ${cfg.lr}) or raise --warmup-epochs`,
          );
        }
        lastLoss = r.loss;
        const now = performance.now();
        const rec: MetricsRecord = {
          step: this.step,
          epoch: this.step / schedule.stepsPerEpoch,
          loss: r.loss,
          ...r.metrics,
          lr: r.lr,
          imagesPerSec: windowImages / ((now - windowStart) / 1000),
        };
        let scores: MonitorScores | null = null;
        const epoch = this.step / schedule.stepsPerEpoch;
        if (epochEnds && cfg.knnEvery > 0 && epoch % cfg.knnEvery === 0 && data.test !== null) {
          scores = this.monitor();
          Object.assign(rec, scores);
        }
        await emit(subscribers, "onLog", rec, schedule.totalSteps);
        if (epochEnds) await emit(subscribers, "onEpochEnd", epoch, scores);
        windowStart = performance.now();
        windowImages = 0;
      }
      const periodic = cfg.checkpointEvery > 0 && this.step % cfg.checkpointEvery === 0;
      if ((periodic || epochEnds) && this.step < schedule.totalSteps) {
        await emit(subscribers, "onCheckpointDue", due(false));
      }
      // Let signal handlers (SIGINT) run between steps.
      await new Promise((r) => setTimeout(r, 0));
      // Several ranks stop at the same step: any rank's stop request is everyone's.
      this.#stop = anyRank(this.parts.world, this.#stop);
    }
    await emit(subscribers, "onCheckpointDue", due(true));
    await this.folder.saveEncoder(
      method.encoder,
      encoderMetadata(encoderSpec(cfg, data.train.channels), this.step),
    );
    const interrupted = this.#stop && this.step < schedule.totalSteps;
    await emit(subscribers, "onTrainEnd", { steps: this.step, interrupted });
    return {
      runDir: this.folder.dir,
      steps: this.step,
      interrupted,
      lastLoss,
      encoderPath: this.folder.encoderPath,
    };
  }

  dispose(): void {
    this.#stepper?.[Symbol.dispose]();
    this.#stepper = null;
    disposeRun(this.parts);
    this.#testSet?.images.dispose();
    this.#testSet?.labels.dispose();
    this.#testSet = null;
  }
}
