// The encoder registry: every kind goes through save-with-metadata ->
// rebuild-from-metadata to the same state dict and the same features; files
// written before the metadata recorded everything still load with a note; and
// the CLIs carry a convnet of a non-default width from training through
// `deno task export` to `deno task evaluate --encoder FILE`.
import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../helpers/asserts.ts";
import { assertBitExact } from "../helpers/assert.ts";
import { manualSeed, noGrad, randn } from "../../mod.ts";
import { readStateDictFile, saveStateDict } from "../../src/io/tensors.ts";
import {
  ENCODER_REGISTRY,
  encoderMetadata,
  ENCODERS,
  type EncoderSpec,
  inChannelsOf,
  specFromMetadata,
} from "../../src/train/encoder_registry.ts";
import { encoderFromMetadata, encoderFromSpec } from "../../src/train/encoders.ts";
import { ENCODERS as SETTING_CHOICES, SETTINGS } from "../../src/train/settings.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** One spec per kind, each with settings other than the defaults. */
const SPECS: EncoderSpec[] = [
  { kind: "convnet", inChannels: 1, width: 16 },
  { kind: "resnet18", inChannels: 3, stem: "cifar" },
  { kind: "resnet34", inChannels: 1, stem: "imagenet" },
  { kind: "resnet50", inChannels: 3, stem: "cifar" },
];

Deno.test("the registry's kinds are the --encoder choices, and every kind is tested here", () => {
  assertEquals([...SETTING_CHOICES], Object.keys(ENCODER_REGISTRY));
  assertEquals(SETTINGS.encoder.parse("resnet34", "encoder"), "resnet34");
  assertEquals(SPECS.map((s) => s.kind).sort(), [...ENCODERS].sort());
});

Deno.test("every encoder kind round-trips through its file's metadata: same state dict, same features", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-encoders-" });
  try {
    for (const spec of SPECS) {
      manualSeed(1);
      const enc = encoderFromSpec(spec);
      using x = randn([2, spec.inChannels, 16, 16]);
      // A training-mode forward moves the BatchNorm running statistics off their init.
      noGrad(() => enc.train().forward(x).dispose());
      const file = join(dir, `${spec.kind}.safetensors`);
      await saveStateDict(file, enc, encoderMetadata(spec, 7));

      const { tensors, metadata } = await readStateDictFile(file);
      assertEquals(metadata, encoderMetadata(spec, 7), spec.kind);
      manualSeed(2); // another init, so only the file's weights can make them equal
      const { encoder: back, spec: got } = encoderFromMetadata(metadata, file);
      assertEquals(got, spec);
      assertEquals(inChannelsOf(spec.kind, tensors), spec.inChannels);
      const before = back.stateDict();
      const key = ENCODER_REGISTRY[spec.kind].inputConv;
      assert(
        before[key].sub(enc.stateDict()[key]).abs().max().item() > 0,
        `${spec.kind}: a fresh encoder already equals the saved one`,
      );
      back.loadStateDict(tensors);
      const a = enc.stateDict();
      const b = back.stateDict();
      assertEquals(Object.keys(b).sort(), Object.keys(a).sort());
      for (const k of Object.keys(a)) assertBitExact(b[k], a[k], `${spec.kind} ${k}`);
      using ya = noGrad(() => enc.eval().forward(x));
      using yb = noGrad(() => back.eval().forward(x));
      assertBitExact(yb, ya, `${spec.kind} features`);
      for (const t of Object.values(tensors)) t.dispose();
      enc.dispose();
      back.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files written before: missing keys come from the fallback; bad ones are one line", () => {
  // encoder.safetensors of a run before the registry: no width.
  const trainer = { format: "pt", encoder: "convnet", stem: "cifar", inChannels: "1" };
  assertEquals(specFromMetadata(trainer, "f", { width: 48 }), {
    spec: { kind: "convnet", inChannels: 1, width: 48 },
    missing: ["width"],
  });
  // deno task export's file before the registry: no width, no inChannels.
  const exported = { format: "pt", encoder: "resnet18", stem: "imagenet", step: "9" };
  assertEquals(specFromMetadata(exported, "f", { inChannels: 3, width: 48 }), {
    spec: { kind: "resnet18", inChannels: 3, stem: "imagenet" },
    missing: ["inChannels"],
  });
  // No metadata at all (a state dict saved by PyTorch).
  assertEquals(
    specFromMetadata(null, "f", { encoder: "convnet", inChannels: 1, width: 32 }).missing,
    ["encoder", "inChannels", "width"],
  );
  assertThrows(
    () => specFromMetadata(trainer, "old.safetensors"),
    Error,
    'old.safetensors: its metadata has no "width", so the file alone cannot rebuild the encoder',
  );
  assertThrows(
    () => specFromMetadata({ ...trainer, width: "0" }, "f"),
    Error,
    'f: metadata width "0" is not a positive integer',
  );
  assertThrows(
    () => specFromMetadata({ ...trainer, encoder: "vit" }, "f"),
    Error,
    'f: metadata encoder "vit" is not one of convnet | resnet18 | resnet34 | resnet50',
  );
  assertThrows(
    () => specFromMetadata({ ...exported, stem: "wide", inChannels: "3" }, "f"),
    Error,
    'f: metadata stem "wide" is not imagenet or cifar',
  );
});

Deno.test("settings.ts and the registries load without libtorch", async () => {
  // The module's URL goes in as a JSON string (the import scan of mod_anywhere_test reads
  // quoted specifiers, and this one is a subprocess's, not this file's). settings.ts
  // imports the encoder, method and logger registries, whose lines import lazily.
  const settingsUrl = JSON.stringify(`${ROOT}src/train/settings.ts`);
  const code = `
    const { ENCODERS, METHODS, SETTINGS } = await import(${settingsUrl});
    console.log(JSON.stringify([ENCODERS, METHODS, SETTINGS.logger.parse("tensorboard", "logger")]));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { TORCH_SHIM_PATH: "/nonexistent/libtt.so" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stderr));
  assertEquals(JSON.parse(dec.decode(out.stdout)), [
    [...ENCODERS],
    ["byol", "simsiam"],
    "jsonl,tensorboard",
  ]);
});

async function task(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "scripts", script), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("train --width 16, export, evaluate --encoder FILE: the file alone rebuilds the encoder", async () => {
  const root = await Deno.makeTempDir({ prefix: "byol-encoder-cli-" });
  try {
    const run = join(root, "run");
    const train = await task("train.ts", [
      "--width",
      "16",
      "--max-steps",
      "2",
      "--limit",
      "256",
      "--device",
      "cpu",
      "--precision",
      "32",
      "--no-evaluate",
      "--knn-every",
      "0",
      "--out",
      run,
    ]); // deno-fmt-ignore
    assertEquals(train.code, 0, train.stderr);
    const file = join(root, "encoder.safetensors");
    const exp = await task("export.ts", ["--run", run, "--out", file]);
    assertEquals(exp.code, 0, exp.stderr);
    // The trainer and export write the same metadata (both at step 2).
    const a = await readStateDictFile(join(run, "encoder.safetensors"));
    const b = await readStateDictFile(file);
    const want = { format: "pt", encoder: "convnet", inChannels: "1", width: "16", step: "2" };
    assertEquals(a.metadata, want);
    assertEquals(b.metadata, want);

    const ev = await task("evaluate.ts", ["--encoder", file, "--limit", "256", "--device", "cpu"]);
    assertEquals(ev.code, 0, ev.stderr);
    assert(ev.stderr.includes("a 4-block convnet of width 16 (128 features)"), ev.stderr);
    assert(/\| kNN k=20 +\| +\d+\.\d\d \|/.test(ev.stdout), ev.stdout);

    // A flag that contradicts the file is refused in one line.
    const wrong = await task("evaluate.ts", [
      "--encoder",
      file,
      "--width",
      "32",
      "--limit",
      "64",
      "--device",
      "cpu",
    ]);
    assertEquals(wrong.code, 1);
    assert(
      wrong.stderr.startsWith(`error: --width 32: ${file} records width 16 in its metadata; `),
      wrong.stderr,
    );

    // A file as the trainer wrote it before (no width): today's fallback, the
    // preset's width, with a note naming --width; --width 16 loads it.
    const old = join(root, "old.safetensors");
    await saveStateDict(old, b.tensors, {
      format: "pt",
      encoder: "convnet",
      stem: "cifar",
      inChannels: "1",
    });
    const fallback = await task("evaluate.ts", [
      "--encoder",
      old,
      "--limit",
      "64",
      "--device",
      "cpu",
    ]);
    assertEquals(fallback.code, 1);
    assert(
      fallback.stderr.includes(
        `note: ${old} does not record width (written before encoder files recorded it); ` +
          "using width 48 (the preset's; --width to set it)",
      ),
      fallback.stderr,
    );
    assert(fallback.stderr.includes("expected [48, 1, 3, 3], got [16, 1, 3, 3]"), fallback.stderr);
    const given = await task("evaluate.ts", [
      "--encoder",
      old,
      "--width",
      "16",
      "--limit",
      "64",
      "--device",
      "cpu",
    ]);
    assertEquals(given.code, 0, given.stderr);
    assert(given.stderr.includes("using width 16 (--width)"), given.stderr);
    for (const t of [...Object.values(a.tensors), ...Object.values(b.tensors)]) t.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
