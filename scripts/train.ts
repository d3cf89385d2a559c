// deno task train: BYOL pretraining from the command line.
// Run with --help for the flags; docs/TRAINING.md explains the recipes.
import { Command } from "../deps/commander.ts";
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addSettingOptions, settingFlags } from "../src/train/options.ts";
import { type Job, resolveJob } from "../src/train/job.ts";
import { launch, launchRequest, wantsLaunch } from "../src/distributed/launch.ts";
import { RunFolder } from "../src/train/run_folder.ts";
import { ConfigError, type TrainConfig } from "../src/train/settings.ts";
import {
  broadcastText,
  joinWorld,
  leaveWorld,
  rankSettings,
  startedAsRank,
  type World,
} from "../src/distributed/world.ts";
import { Trainer } from "../src/train/trainer.ts";
import { FinalEvaluationCallback, printEvaluation } from "../src/train/final_eval.ts";
import { Progress } from "../src/train/progress.ts";
import { PlotsCallback } from "../src/train/run_plots.ts";
import { fail } from "./_cli.ts";

const program = addSettingOptions(
  new Command()
    .name("deno task train")
    .description(
      "Pretrain an encoder with BYOL. With no flags: Fashion-MNIST, the default preset " +
        "(a small CNN, 12 epochs: about 16 minutes on 2 idle CPU cores with AMX bf16, over an hour " +
        "without native bf16), then kNN and " +
        "linear-probe accuracy next to a random-init encoder's and the raw pixels'.",
    ),
)
  .option("--resume <dir>", "continue a run (its folder or one of its checkpoints) exactly")
  .option("--config <file>", "JSON or YAML file of settings (flags override it)")
  .option("--debug", "print stack traces on errors")
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse(["deno", "train", ...Deno.args]);
  const o = program.opts();
  const flags = settingFlags(program);
  if (!startedAsRank()) {
    // --nproc-per-node N / --nnodes M: this process starts the workers (launch.ts).
    const req = await launchRequest(flags, { configFile: o.config, resume: o.resume });
    if (wantsLaunch(req.settings)) {
      return await launch({
        script: fileURLToPath(import.meta.url),
        args: Deno.args,
        settings: req.settings,
        threads: req.threads,
      });
    }
  } else if (Number(flags.nprocPerNode ?? 1) > 1 || Number(flags.nnodes ?? 1) > 1) {
    throw new ConfigError(
      "--nproc-per-node / --nnodes are the launcher's, but this process is already one rank " +
        `(WORLD_SIZE=${Deno.env.get("WORLD_SIZE")}, set by torchrun or deno task train): give ` +
        "them to the launcher (torchrun --nproc_per_node N), not to each rank",
    );
  }
  const job = await resolveJob({ flags, configFile: o.config, resume: o.resume });
  const cfg = rankSettings(job.cfg);
  // WORLD_SIZE set: one rank of several (torchrun's environment).
  const world = joinWorld(cfg);
  try {
    return await train(job, cfg, world);
  } finally {
    leaveWorld(world);
  }
}

async function train(job: Job, cfg: TrainConfig, world: World): Promise<number> {
  const lead = world.rank === 0;
  // Rank 0 alone writes; every rank uses its folder (a new run's name has the time in it).
  const folder = world.worldSize === 1 ? job.folder : new RunFolder(
    broadcastText(world, job.folder.dir, "the run folder broadcast"),
    { writer: lead },
  );
  const note = (line: string) => {
    if (lead) console.error(line);
  };
  if (job.resumeFrom) {
    note(`resuming ${folder.dir} from step ${job.resumeFrom.meta.step} (${job.resumeFrom.dir})`);
  }
  if (world.worldSize > 1) {
    note(
      `${world.worldSize} processes, global batch ${cfg.batchSize} (${
        cfg.batchSize / world.worldSize
      } per process), ${cfg.threads} thread(s) each`,
    );
  }
  const trainer = await Trainer.create(cfg, { resumeFrom: job.resumeFrom, folder, world });
  for (const n of trainer.notes) note(n.startsWith("precision ") ? n : `from the data: ${n}`);
  const progress = lead ? new Progress(trainer.totalSteps, trainer.step) : null;
  let interrupts = 0;
  let firstAt = 0;
  const onSigint = () => {
    // A terminal's Ctrl-C reaches the launcher and its workers alike, and
    // the launcher forwards it too: one interrupt within a second is one.
    if (interrupts > 0 && performance.now() - firstAt < 1000) return;
    if (++interrupts > 1) {
      console.error("\nsecond interrupt: exiting without a checkpoint");
      Deno.exit(130);
    }
    firstAt = performance.now();
    progress?.note(
      "interrupt: finishing the step and writing a checkpoint (Ctrl-C again to quit now)",
    );
    trainer.requestStop();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  // Subscribers after the loggers: the progress bar, the charts, then the
  // final evaluation (every rank takes part; rank 0 scores and writes).
  const plots = new PlotsCallback();
  const evaluation = new FinalEvaluationCallback(note);
  let result;
  try {
    result = await trainer.run([
      {
        onMessage: (l) => progress?.note(l),
        onLog: (m) => progress?.update(m),
        onEpochEnd: (e, scores) => {
          if (scores === null || !lead) return;
          const probe = scores.probeTop1 !== undefined
            ? `, online probe top-1 ${scores.probeTop1.toFixed(2)}%`
            : "";
          progress?.note(`epoch ${e}: kNN top-1 ${scores.knnTop1.toFixed(2)}%${probe}`);
        },
        // The bar ends before the evaluation's lines.
        onTrainEnd: () => progress?.stop(),
      },
      plots,
      evaluation,
    ]);
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    progress?.stop();
  }
  const rel = (p: string) => relative(Deno.cwd(), resolve(p)) || ".";
  if (result.interrupted) {
    const launchFlags = world.worldSize === 1
      ? ""
      : cfg.nnodes === 1
      ? ` --nproc-per-node ${cfg.nprocPerNode}`
      : ` --nproc-per-node ${cfg.nprocPerNode} --nnodes ${cfg.nnodes} ...`;
    note(
      `interrupted at step ${result.steps}/${trainer.totalSteps}; checkpoint written.\n` +
        `resume with: deno task train --resume ${rel(result.runDir)}${launchFlags}` +
        (world.worldSize > 1 ? " (any number of processes)" : ""),
    );
    trainer.dispose();
    return 130;
  }
  if (evaluation.result !== null) printEvaluation(evaluation.result, cfg.method, cfg.onlineProbe);
  if (lead) {
    const f = trainer.folder;
    console.log(`\nrun folder: ${rel(f.dir)}`);
    console.log(`  encoder (torchvision names): ${rel(f.encoderPath)}`);
    console.log(`  metrics: ${rel(f.metricsPath)}`);
    const pictures = [...plots.written];
    for (const ext of ["svg", "png"]) {
      const p = join(f.dir, "plots", `embedding.${ext}`);
      if (evaluation.result !== null && existsSync(p)) pictures.push(p);
    }
    if (pictures.length) console.log(`  plots: ${pictures.map(rel).join(", ")}`);
    console.log(`  checkpoints: ${rel(f.checkpointsDir)}`);
  }
  trainer.dispose();
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    fail(e, Deno.args.includes("--debug"));
  }
}
