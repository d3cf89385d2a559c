// What `deno task train` is asked to do, resolved: a new run (preset < config
// file < flags) or the continuation of one (--resume: its saved settings, the
// resumable flags, and its newest checkpoint).
import { type Checkpoint, CheckpointError } from "./checkpoint.ts";
import { readConfigFile, resolveConfig, resumeConfig } from "./config.ts";
import { RunFolder, runFolderOf } from "./run_folder.ts";
import type { TrainConfig } from "./settings.ts";

export interface JobRequest {
  /** Settings given as flags. */
  flags: Record<string, unknown>;
  /** --config FILE. */
  configFile?: string;
  /** --resume PATH: a run folder or one of its checkpoints. */
  resume?: string;
}

export interface Job {
  cfg: TrainConfig;
  folder: RunFolder;
  resumeFrom?: Checkpoint;
}

export async function resolveJob(req: JobRequest): Promise<Job> {
  if (req.resume === undefined) {
    const file = req.configFile ? await readConfigFile(req.configFile) : undefined;
    const cfg = resolveConfig(file, req.flags);
    return { cfg, folder: RunFolder.forNewRun(cfg) };
  }
  if ((await Deno.stat(req.resume).catch(() => null)) === null) {
    throw new CheckpointError(`--resume ${req.resume}: no such file or folder`);
  }
  const { run, checkpoint } = await runFolderOf(req.resume);
  const saved = await run.readConfig();
  const cfg = resumeConfig(saved, req.flags, run.dir);
  const resumeFrom = await run.loadCheckpoint(checkpoint ?? undefined);
  return { cfg, folder: run, resumeFrom };
}
