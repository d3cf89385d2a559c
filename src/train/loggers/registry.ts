// The logger registry: every logger --logger may name, one line each: its
// name, one line on where it writes (the flag's help), and the lazy import of
// its file, whose default export is the logger's class, a Callback
// (callbacks.ts) made when a run starts. TypeScript checks that every line's
// file exports one.
//
// Pure data: this module loads no logger and no libtorch (the imports run only
// when a run opens its loggers), so settings.ts takes the names from here.
import type { Callback } from "../callbacks.ts";

/** A logger's line: where it writes, and its file. */
interface LoggerLine {
  readonly about: string;
  readonly load: () => Promise<{ default: new () => Callback }>;
}

export const LOGGER_REGISTRY = {
  jsonl: {
    about: "metrics.jsonl, one JSON line per logged step (always written)",
    load: () => import("./jsonl.ts"),
  },
  tensorboard: {
    about: "TensorBoard event files under <run>/tensorboard (tensorboard --logdir runs/)",
    load: () => import("./tensorboard.ts"),
  },
} as const satisfies Record<string, LoggerLine>;

export type LoggerName = keyof typeof LOGGER_REGISTRY;
/** The logger names, the registry's keys (settings.ts's --logger choices). */
export const LOGGERS = Object.keys(LOGGER_REGISTRY) as readonly LoggerName[];

/** The loggers a --logger value names (settings.ts checked it), opened in that order. */
export async function createLoggers(names: string): Promise<Callback[]> {
  const out: Callback[] = [];
  for (const name of names.split(",")) {
    if (!(LOGGERS as readonly string[]).includes(name)) {
      throw new TypeError(`unknown logger "${name}"; known: ${LOGGERS.join(", ")}`);
    }
    const Logger = (await LOGGER_REGISTRY[name as LoggerName].load()).default;
    out.push(new Logger());
  }
  return out;
}
