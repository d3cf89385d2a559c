// The logger registry: every metrics logger --logger may name, each a
// Callback (callbacks.ts) opened when a run starts. A new logger is one file
// in this folder and one entry here. Pure names and lazy imports: settings.ts
// takes the names from here without loading the loggers.
import type { Callback } from "../callbacks.ts";

interface LoggerKind {
  /** One line: where it writes. */
  readonly describe: string;
  create(): Promise<Callback>;
}

export const LOGGER_REGISTRY = {
  jsonl: {
    describe: "metrics.jsonl, one JSON line per logged step (always written)",
    create: async () => new (await import("./jsonl.ts")).JsonlLogger(),
  },
  tensorboard: {
    describe: "TensorBoard event files under <run>/tensorboard (tensorboard --logdir runs/)",
    create: async () => new (await import("./tensorboard.ts")).TensorBoardLogger(),
  },
} as const satisfies Record<string, LoggerKind>;

export type LoggerName = keyof typeof LOGGER_REGISTRY;
export const LOGGERS = Object.keys(LOGGER_REGISTRY) as readonly LoggerName[];

/** The loggers a --logger value names (settings.ts checked it), opened in that order. */
export async function createLoggers(names: string): Promise<Callback[]> {
  const out: Callback[] = [];
  for (const name of names.split(",")) {
    out.push(await LOGGER_REGISTRY[name as LoggerName].create());
  }
  return out;
}
