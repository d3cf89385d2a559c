// The logger registry: how each logger names.ts lists is made, a Callback
// (callbacks.ts) opened when a run starts. A new logger is one file in this
// folder, its name in names.ts and its line here.
import type { Callback } from "../callbacks.ts";
import { type LoggerName, LOGGERS } from "./names.ts";

export const LOGGER_REGISTRY: Record<LoggerName, () => Promise<Callback>> = {
  jsonl: async () => new (await import("./jsonl.ts")).JsonlLogger(),
  tensorboard: async () => new (await import("./tensorboard.ts")).TensorBoardLogger(),
};

/** The loggers a --logger value names (settings.ts checked it), opened in that order. */
export async function createLoggers(names: string): Promise<Callback[]> {
  const out: Callback[] = [];
  for (const name of names.split(",")) {
    if (!(LOGGERS as readonly string[]).includes(name)) {
      throw new TypeError(`unknown logger "${name}"; known: ${LOGGERS.join(", ")}`);
    }
    out.push(await LOGGER_REGISTRY[name as LoggerName]());
  }
  return out;
}
