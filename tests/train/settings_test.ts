// The settings table and what derives from it: defaults, validation messages,
// CLI flags, the resume rules and migrations of saved runs; and the settings
// that follow the data (probe of PNG/JPEG headers, checked against PIL).
import { join } from "node:path";
import { Command } from "../../deps/commander.ts";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { python } from "../helpers/python.ts";
import { encodePng, writeBytes } from "../data/_helpers.ts";
import {
  ConfigError,
  DEFAULTS,
  kebab,
  RESUMABLE,
  SETTING_KEYS,
  validate,
} from "../../src/train/settings.ts";
import { PRESETS, resolveConfig, resumeConfig } from "../../src/train/config.ts";
import { addSettingOptions, settingFlags } from "../../src/train/options.ts";
import { AUTO_MAX_SIDE, chooseDataDefaults } from "../../src/train/data_defaults.ts";
import { probeImageFiles, readImageHeader, sampleImageFiles } from "../../src/data/probe.ts";
import { probeData } from "../../src/train/data_source.ts";

function parse(args: string[]): Record<string, unknown> {
  const p = addSettingOptions(new Command().exitOverride());
  p.parse(["deno", "train", ...args]);
  return settingFlags(p);
}

Deno.test("every setting has a flag, and only the flags given are taken", () => {
  const p = addSettingOptions(new Command());
  const flags = p.options.map((o) => o.long);
  for (const k of SETTING_KEYS) {
    const want = typeof DEFAULTS[k] === "boolean" && DEFAULTS[k]
      ? `--no-${kebab(k)}`
      : `--${kebab(k)}`;
    assert(flags.includes(want), `no ${want} for ${k}`);
  }
  assertEquals(parse([]), {});
  assertEquals(parse(["--batch-size", "32", "--no-channels-last", "--amp"]), {
    batchSize: "32",
    channelsLast: false,
    amp: true,
  });
  // Flags are validated on resolve, with the table's messages.
  assertEquals(resolveConfig(undefined, parse(["--batch-size", "32"])).batchSize, 32);
  assertThrows(
    () => resolveConfig(undefined, parse(["--lr", "abc"])),
    ConfigError,
    '--lr must be a number > 0, got "abc"',
  );
});

Deno.test("validation: each rule names the flag, the value and the fix", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ epochs: 0 }, "--epochs must be an integer >= 1, got 0"],
    [{ tauBase: 1.5 }, "--tau-base must be in [0, 1]"],
    [{ optimizer: "adam" }, "--optimizer must be one of lars, adamw, sgd"],
    [{ augment: "strong" }, "--augment must be one of auto, paper, cifar, fashion-mnist"],
    [{ imageSize: 4 }, "--image-size must be 0 (from the data) or an integer >= 8"],
    [{ channels: 2 }, "--channels must be 0 (from the data), 1 or 3"],
    [{ channels: 4 }, "--channels 4 (RGBA) is not supported"],
    [{ device: "tpu" }, "--device must be auto, cpu, cuda or cuda:N"],
    [{ bogus: 1 }, 'unknown setting "bogus"'],
  ];
  for (const [raw, msg] of cases) assertThrows(() => validate(raw), ConfigError, msg);
  assertEquals(validate({}), DEFAULTS);
  // Every preset is valid as written.
  for (const name of Object.keys(PRESETS)) {
    assertEquals(resolveConfig(undefined, { preset: name }).preset, name);
  }
});

Deno.test("resume: only the resumable settings may change; saved runs are migrated", () => {
  const saved = {
    ...resolveConfig(undefined, {}),
    augment: "fashion-mnist",
    imageSize: 28,
    channels: 1,
  };
  assertEquals([...RESUMABLE].sort(), [
    // The process group's backend follows the device; determinism changes only bitwise
    // reproducibility on CUDA, not what is trained.
    "backend",
    "checkpointEvery",
    // How the step is issued (captured or eager: the same arithmetic), and which
    // CUDA kernels round as TF32: like the device, not what is trained.
    "cudaGraphs",
    "deterministic",
    "device",
    // The launch: a run resumes on any number of processes.
    "distTimeout",
    "evaluate",
    "knnEvery",
    "logEvery",
    // Where metrics go, not what is trained.
    "logger",
    "masterAddr",
    "masterPort",
    "maxSteps",
    "nnodes",
    "nodeRank",
    "nprocPerNode",
    "tf32",
    "threads",
  ]);
  const cfg = resumeConfig(saved, { threads: "1", maxSteps: 5, lr: "0.001" }, "/tmp/run");
  assertEquals([cfg.threads, cfg.maxSteps, cfg.out], [1, 5, "/tmp/run"]);
  assertThrows(
    () => resumeConfig(saved, { lr: "0.01" }, "/tmp/run"),
    ConfigError,
    "--lr cannot change on --resume (the run used 0.001)",
  );
  assertThrows(
    () => resumeConfig(saved, { batchSize: saved.batchSize * 2 }, "/tmp/run"),
    ConfigError,
    "--batch-size cannot change",
  );
  // A run saved before channels-last existed trained NCHW.
  const old: Record<string, unknown> = { ...saved };
  delete old.channelsLast;
  assertEquals(resumeConfig(old, {}, "/tmp/run").channelsLast, false);
  // Runs saved before --deterministic and --backend resume with their defaults, or as told.
  delete old.deterministic;
  delete old.backend;
  const older = resumeConfig(old, {}, "/tmp/run");
  assertEquals([older.deterministic, older.backend], [false, "auto"]);
  assertEquals(resumeConfig(old, { deterministic: true }, "/tmp/run").deterministic, true);
});

Deno.test("defaults follow the data: channels, augment and view size, each choice noted", () => {
  const base = resolveConfig(undefined, {});
  const gray = chooseDataDefaults(base, { channels: 1, side: 28, withAlpha: 0, sampled: 0 });
  assertEquals([gray.cfg.channels, gray.cfg.augment, gray.cfg.imageSize], [1, "fashion-mnist", 28]);
  assertEquals(gray.notes.length, 3);
  const small = chooseDataDefaults(base, { channels: 3, side: 32, withAlpha: 2, sampled: 8 });
  assertEquals([small.cfg.channels, small.cfg.augment, small.cfg.imageSize], [3, "cifar", 32]);
  assert(small.notes.some((n) => n.includes("alpha channel dropped")), small.notes.join("\n"));
  const large = chooseDataDefaults(base, { channels: 3, side: 500, withAlpha: 0, sampled: 8 });
  assertEquals([large.cfg.augment, large.cfg.imageSize], ["paper", AUTO_MAX_SIDE]);
  // What the user set stays; a preset fixed to a data set keeps its choices.
  const set = chooseDataDefaults({ ...base, imageSize: 40, augment: "paper" }, {
    channels: 3,
    side: 32,
    withAlpha: 0,
    sampled: 1,
  });
  assertEquals([set.cfg.augment, set.cfg.imageSize, set.notes.length], ["paper", 40, 2]);
  // A contradiction the user made is refused with the fix.
  assertThrows(
    () =>
      chooseDataDefaults({ ...base, augment: "fashion-mnist" }, {
        channels: 3,
        side: 32,
        withAlpha: 0,
        sampled: 1,
      }),
    ConfigError,
    "--augment fashion-mnist is for 1-channel images, but the data has 3",
  );
});

Deno.test("--stored-size: 8/7 of the view for the paper augmentation, the view otherwise, data sets keep theirs", () => {
  const base = resolveConfig(undefined, {});
  const rgb = { channels: 3 as const, side: 500, withAlpha: 0, sampled: 8 };
  // torchvision's Resize(256) + CenterCrop(224): auto stores 256 for a 224 view.
  const paper = chooseDataDefaults({ ...base, imageSize: 224 }, { ...rgb, kind: "folder" });
  assertEquals([paper.cfg.augment, paper.cfg.storedSize], ["paper", 256]);
  assert(
    paper.notes.some((n) => n.includes("images stored at 256 x 256 px")),
    paper.notes.join("\n"),
  );
  assertEquals(chooseDataDefaults(base, rgb).cfg.storedSize, Math.round(AUTO_MAX_SIDE * 8 / 7));
  // The cifar and fashion-mnist augmentations crop from the view-sized image, as before.
  const small = chooseDataDefaults(base, { ...rgb, side: 32, kind: "csv" });
  assertEquals([small.cfg.augment, small.cfg.storedSize], ["cifar", 32]);
  // Fashion-MNIST and CIFAR are not decoded: their own size, a given one noted as ignored.
  const fm = chooseDataDefaults({ ...base, storedSize: 40 }, {
    channels: 1,
    side: 28,
    withAlpha: 0,
    sampled: 0,
    kind: "fashion-mnist",
  });
  assertEquals(fm.cfg.storedSize, 28);
  assert(fm.notes.some((n) => n.includes("--stored-size 40 ignored")), fm.notes.join("\n"));
  // A given size stays; smaller than the view is refused with the fix.
  const given = chooseDataDefaults({ ...base, imageSize: 64, storedSize: 80 }, rgb);
  assertEquals(given.cfg.storedSize, 80);
  assertThrows(
    () => chooseDataDefaults({ ...base, imageSize: 64, storedSize: 48 }, rgb),
    ConfigError,
    "--stored-size 48 is smaller than the 64 px view",
  );
  assertThrows(() => resolveConfig(undefined, { storedSize: 4 }), ConfigError, "--stored-size");
  // Runs saved before the setting decoded at their view size, and resume so.
  const saved = JSON.parse(JSON.stringify({ ...base, imageSize: 96, storedSize: undefined }));
  delete saved.storedSize;
  assertEquals(resumeConfig(saved, {}, "/tmp/run").storedSize, 96);
});

Deno.test("image headers: size and colour type of PNG and JPEG equal PIL's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-probe-" });
  try {
    await writeBytes(join(dir, "a/gray.png"), encodePng(5, 7, 0, new Uint8Array(35)));
    await writeBytes(join(dir, "a/ga.png"), encodePng(6, 4, 4, new Uint8Array(48)));
    await writeBytes(join(dir, "b/rgb.png"), encodePng(9, 3, 2, new Uint8Array(81)));
    await writeBytes(join(dir, "b/rgba.png"), encodePng(4, 4, 6, new Uint8Array(64)));
    await Deno.mkdir(join(dir, "c"));
    await python(
      `
import sys
from PIL import Image
Image.new("L", (33, 21)).save(sys.argv[1] + "/c/gray.jpg", quality=90)
Image.new("RGB", (40, 50), (200, 10, 30)).save(sys.argv[1] + "/c/rgb.jpg", quality=90)
`,
      [dir],
    );
    const files = await sampleImageFiles(dir);
    assertEquals(files.length, 6);
    const pil = JSON.parse(
      await python(
        `
import sys, json
from PIL import Image
out = {}
for p in sys.argv[1:]:
    im = Image.open(p)
    out[p] = [im.width, im.height, 1 if im.mode in ("L", "LA") else 3, im.mode in ("LA", "RGBA")]
print(json.dumps(out))
`,
        files,
      ),
    );
    for (const f of files) {
      const h = readImageHeader(await Deno.readFile(f));
      assert(h !== null, `no header read from ${f}`);
      assertEquals([h.width, h.height, h.channels, h.alpha], pil[f], f);
    }
    const all = await probeImageFiles(files);
    assertEquals([all!.channels, all!.withAlpha, all!.sampled], [3, 2, 6]);
    const grayOnly = await probeImageFiles(
      files.filter((f) => f.includes("gray") || f.includes("ga.")),
    );
    assertEquals(grayOnly!.channels, 1);
    // Shorter sides 21 and 40: the median of two is the upper one.
    assertEquals((await probeData(join(dir, "c"))).side, 40);
    assertEquals((await probeData("fashion-mnist")).channels, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
