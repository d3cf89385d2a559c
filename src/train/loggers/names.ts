// The loggers --logger may name, each with where it writes: pure data, so the
// settings table (settings.ts) takes the names without loading any logger.
// Each name has its factory in registry.ts (TypeScript checks both agree).

export const LOGGER_NAMES = {
  jsonl: "metrics.jsonl, one JSON line per logged step (always written)",
  tensorboard: "TensorBoard event files under <run>/tensorboard (tensorboard --logdir runs/)",
} as const;

export type LoggerName = keyof typeof LOGGER_NAMES;
export const LOGGERS = Object.keys(LOGGER_NAMES) as readonly LoggerName[];
