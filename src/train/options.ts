// The training settings as command-line flags, derived from the table in
// settings.ts: `--batch-size <n>` for batchSize, `--no-channels-last` for a
// switch that is on by default, `--amp` for one that is off. Only flags the
// user actually gave are returned, so presets and config files stay in force.
import { type Command, Option } from "../../deps/commander.ts";
import { PRESETS } from "./config.ts";
import { DEFAULTS, kebab, type Setting, SETTING_KEYS, SETTINGS } from "./settings.ts";

/** The default a flag shows: the default preset's value where it sets one (what a bare run uses). */
function describeDefault(key: (typeof SETTING_KEYS)[number]): string {
  const preset = PRESETS[DEFAULTS.preset as keyof typeof PRESETS] as Record<string, unknown>;
  const fromPreset = key in preset;
  const v = fromPreset ? preset[key] : DEFAULTS[key];
  if (v === "" || v === 0 && typeof v === "number") return "";
  const text = JSON.stringify(v).replace(/^"|"$/g, "");
  return fromPreset ? ` (default ${text}: the ${DEFAULTS.preset} preset's)` : ` (default ${text})`;
}

/** Adds one option per setting to `program`. */
export function addSettingOptions<C extends Command>(program: C): C {
  for (const key of SETTING_KEYS) {
    const s = SETTINGS[key] as Setting<unknown>;
    const name = kebab(key);
    if (typeof s.default === "boolean") {
      program.addOption(
        s.default
          ? new Option(`--no-${name}`, `turn off: ${s.help}`)
          : new Option(`--${name}`, s.help),
      );
    } else {
      program.addOption(new Option(`--${name} ${s.arg}`, s.help + describeDefault(key)));
    }
  }
  return program;
}

/** The settings given on the command line (as typed; validation happens on resolve). */
export function settingFlags(program: Command): Record<string, unknown> {
  const opts = program.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    if (program.getOptionValueSource(key) === "cli") out[key] = opts[key];
  }
  return out;
}
