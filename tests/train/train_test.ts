// The training job end to end: CLI errors, a tiny run's outputs, the exported
// encoder in torchvision, exact resume (in-process and by a real SIGINT), and
// damaged checkpoints.
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../helpers/asserts.ts";
import { loadStateDictFile, manualSeed, nn, randn, saveStateDict, tidy } from "../../mod.ts";
import { RunFolder } from "../../src/train/run_folder.ts";
import { Trainer } from "../../src/train/trainer.ts";
import {
  CheckpointError,
  loadCheckpoint,
  resolveCheckpointDir,
} from "../../src/train/checkpoint.ts";
import { python } from "../helpers/python.ts";
import { losses, runTiny } from "../helpers/tiny_run.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TRAIN = join(ROOT, "scripts/train.ts");

async function cli(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TRAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("CLI: bad flags and values give one clear line and a non-zero exit", async () => {
  const cases: [string[], RegExp][] = [
    [["--lr", "abc"], /--lr must be a number > 0, got "abc"/],
    [["--epochs", "0"], /--epochs must be an integer >= 1/],
    [["--preset", "nope"], /argument 'nope' is invalid|unknown preset/],
    [["--optimizer", "adam"], /--optimizer must be one of lars, adamw, sgd/],
    [["--device", "tpu"], /--device must be auto, cpu, cuda or cuda:N/],
    [["--device", "cuda:3", "--limit", "64"], /CUDA|cuda:3/],
    [["--data", "/no/such/folder"], /--data \/no\/such\/folder: no such file or folder/],
    [["--resume", "/no/such/run"], /--resume \/no\/such\/run: no such file or folder/],
    [["--bogus"], /unknown option '--bogus'/],
  ];
  for (const [args, want] of cases) {
    // device-free: each of these is refused before a device is chosen
    const r = await cli(args);
    assert(r.code !== 0, `${args.join(" ")} exited 0`);
    assert(want.test(r.stderr), `${args.join(" ")}: stderr was:\n${r.stderr}`);
    // A stack frame: "    at fn (file:///...:12:3)" or "    at file:///...:12:3" (help text
    // wrapped onto a line starting "at" is not one).
    const frame = /^\s+at .*:\d+:\d+\)?$/m;
    assert(!frame.test(r.stderr), `${args.join(" ")}: printed a stack trace:\n${r.stderr}`);
  }
});

Deno.test("a tiny run writes every output, and its encoder gives the same features in torchvision", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-run-" });
  const r = await cli([
    "--limit",
    "128",
    "--epochs",
    "2",
    "--batch-size",
    "32",
    "--encoder",
    "resnet18",
    "--stem",
    "cifar",
    "--hidden-dim",
    "64",
    "--projection-dim",
    "32",
    "--knn-every",
    "0",
    "--no-evaluate",
    "--precision",
    "32",
    "--device",
    "cpu",
    "--out",
    dir,
    "--log-every",
    "1",
  ]);
  assertEquals(r.code, 0, r.stderr);
  for (
    const f of [
      "config.json",
      "metrics.jsonl",
      "encoder.safetensors",
      "checkpoints/step-0000008/state.json",
      "plots/loss.png",
      "plots/loss.svg",
      "plots/schedules.png",
    ]
  ) {
    assert((await Deno.stat(join(dir, f)).catch(() => null)) !== null, `missing ${f}`);
  }
  const rows = Deno.readTextFileSync(join(dir, "metrics.jsonl")).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(rows.length, 8);
  for (const row of rows) {
    for (const k of ["step", "epoch", "loss", "tau", "lr", "imagesPerSec"]) {
      assert(Number.isFinite(row[k]), `${k} = ${row[k]} at step ${row.step}`);
    }
  }
  assert(r.stdout.includes("encoder.safetensors"), r.stdout);
  // The exported encoder in torchvision: same features as here.
  manualSeed(4);
  const enc = nn.resnet18({ inChannels: 1, stem: "cifar" });
  enc.loadStateDict(await loadStateDictFile(join(dir, "encoder.safetensors")));
  const x = randn([3, 1, 28, 28]);
  const ours = tidy(() => enc.eval().forward(x));
  await saveStateDict(join(dir, "x.safetensors"), { x, ours });
  const res = await python(
    `
import sys, torch, torchvision, torch.nn as nn, st
torch.set_num_threads(1)
m = torchvision.models.resnet18()
m.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); m.fc = nn.Identity()
m.load_state_dict(st.load(sys.argv[1] + "/encoder.safetensors"))
d = st.load(sys.argv[1] + "/x.safetensors")
with torch.no_grad(): f = m.eval()(d["x"])
print(float((f - d["ours"]).abs().max() / d["ours"].abs().max()))
`,
    [dir],
  );
  assert(Number(res) < 1e-4, `features differ: ${res}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume is exact: stop after 5 steps, resume, and the losses equal an uninterrupted run", async () => {
  const a = await Deno.makeTempDir({ prefix: "byol-a-" });
  const b = await Deno.makeTempDir({ prefix: "byol-b-" });
  (await runTiny({ out: a })).dispose();
  const stopped = await runTiny({ out: b }, 5);
  assertEquals(stopped.step, 5);
  stopped.dispose();
  const ck = await loadCheckpoint(await resolveCheckpointDir(b));
  assertEquals(ck.meta.step, 5);
  const folder = new RunFolder(b);
  const resumed = await Trainer.create(await folder.readConfig(), { resumeFrom: ck, folder });
  await resumed.run();
  resumed.dispose();
  const la = losses(a);
  const lb = losses(b);
  assertEquals(la.size, 16);
  for (const [step, loss] of la) assertEquals(lb.get(step), loss, `loss at step ${step}`);
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("a real SIGINT checkpoints and says how to resume; the resumed run matches", async () => {
  const a = await Deno.makeTempDir({ prefix: "byol-sig-a-" });
  const b = await Deno.makeTempDir({ prefix: "byol-sig-b-" });
  // 8 steps an epoch over 100 epochs: far more than any machine runs before the signal,
  // so where it lands does not depend on speed; both runs then end at the same --max-steps.
  const flags = [
    "--limit",
    "512",
    "--epochs",
    "100",
    "--batch-size",
    "64",
    "--width",
    "8",
    "--hidden-dim",
    "64",
    "--projection-dim",
    "32",
    "--log-every",
    "1",
    "--knn-every",
    "0",
    "--no-evaluate",
    "--precision",
    "32",
    "--device", // exact comparisons: a GPU's two runs of one seed differ
    "cpu",
  ]; // deno-fmt-ignore
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TRAIN, ...flags, "--out", b],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Interrupt once a few steps are logged.
  for (let i = 0; i < 3000; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const text = await Deno.readTextFile(join(b, "metrics.jsonl")).catch(() => "");
    if (text.split("\n").filter((l) => l.trim()).length >= 3) break;
  }
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 130, stderr);
  assert(/resume with: deno task train --resume /.test(stderr), stderr);
  const stoppedAt = (await loadCheckpoint(await resolveCheckpointDir(b))).meta.step;
  assert(stoppedAt >= 3 && stoppedAt < 800, `stopped at ${stoppedAt}`);
  const end = String(stoppedAt + 4);
  const r = await cli(["--resume", b, "--max-steps", end]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals((await cli([...flags, "--max-steps", end, "--out", a])).code, 0);
  const la = losses(a);
  const lb = losses(b);
  assertEquals(la.size, stoppedAt + 4);
  for (const [step, loss] of la) assertEquals(lb.get(step), loss, `loss at step ${step}`);
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("a damaged checkpoint is refused with a clear message; the previous one still loads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "byol-ck-" });
  (await runTiny({ out: dir, epochs: 1 })).dispose(); // checkpoints at steps 3, 6, 8: keeps 6 and 8
  const latest = await resolveCheckpointDir(dir);
  const file = join(latest, "state.safetensors");
  const bytes = await Deno.readFile(file);
  await Deno.writeFile(file, bytes.subarray(0, bytes.length - 100));
  const err = await assertRejects(() => loadCheckpoint(latest), CheckpointError, "truncated");
  assert(/previous checkpoint .*step-0000006 is intact/.test(err.message), err.message);
  // Flip one byte instead: the checksum catches it.
  const flipped = bytes.slice();
  flipped[flipped.length - 1] ^= 0xff;
  await Deno.writeFile(file, flipped);
  await assertRejects(() => loadCheckpoint(latest), CheckpointError, "SHA-256");
  const prev = await loadCheckpoint(join(dir, "checkpoints", "step-0000006"));
  assertEquals(prev.meta.step, 6);
  const r = await cli(["--resume", dir]);
  assert(r.code !== 0 && /unusable/.test(r.stderr), r.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("training works on a folder of images (mixed sizes) and on a CSV; a corrupt image is skipped and named, bad data stops with one line", async () => {
  const { rgbaImage, writePng } = await import("../data/_helpers.ts");
  const root = await Deno.makeTempDir({ prefix: "byol-folder-" });
  for (const cls of ["cats", "dogs"]) {
    await Deno.mkdir(join(root, "imgs", cls), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const size = 20 + i; // odd sizes are resized
      const img = rgbaImage(
        size,
        size + 3,
        (x, y) => [(x * 9 + i * 20) % 256, (y * 7) % 256, cls === "cats" ? 40 : 200, 255],
      );
      await writePng(join(root, "imgs", cls, `${i}.png`), img);
    }
  }
  const csv = ["path,label", ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `imgs/cats/${i}.png,${i % 2}`)];
  await Deno.writeTextFile(join(root, "list.csv"), csv.join("\n") + "\n");
  const common = [
    "--image-size",
    "16",
    "--augment",
    "paper",
    "--batch-size",
    "8",
    "--width",
    "4",
    "--hidden-dim",
    "16",
    "--projection-dim",
    "8",
    "--epochs",
    "1",
    "--knn-every",
    "0",
    "--no-evaluate",
    "--precision",
    "32",
    "--device",
    "cpu",
    "--log-every",
    "1",
  ];
  const folder = await cli([...common, "--data", join(root, "imgs"), "--out", join(root, "run1")]);
  assertEquals(folder.code, 0, folder.stderr);
  assertEquals(losses(join(root, "run1")).size, 2);
  const list = await cli([
    ...common,
    "--data",
    join(root, "list.csv"),
    "--out",
    join(root, "run2"),
  ]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(losses(join(root, "run2")).size, 1);
  // Named only by its data, an RGB folder gets the settings that follow it.
  const auto = await cli([
    ...common.slice(4),
    "--data",
    join(root, "imgs"),
    "--out",
    join(root, "run-auto"),
  ]);
  assertEquals(auto.code, 0, auto.stderr);
  assert(/from the data: augment cifar/.test(auto.stderr), auto.stderr);
  const chosen = JSON.parse(await Deno.readTextFile(join(root, "run-auto", "config.json")));
  // The probe samples 4 files per folder (0..3.png, shorter sides 20..23): the median is 22.
  assertEquals([chosen.augment, chosen.imageSize, chosen.channels], ["cifar", 22, 3]);
  // A batch larger than the data set is refused up front, with the largest that fits.
  const big = await cli([...common, "--batch-size", "64", "--data", join(root, "imgs")]);
  assert(big.code !== 0, "a batch larger than the data must be refused");
  assert(/use --batch-size at most 16/.test(big.stderr), big.stderr);
  // A corrupt image in the folder is skipped and named (the decode's summary
  // and the run's notes); the run trains on the others.
  await Deno.writeTextFile(join(root, "imgs", "dogs", "broken.png"), "not a png");
  const bad = await cli([...common, "--data", join(root, "imgs"), "--out", join(root, "run3")]);
  assertEquals(bad.code, 0, bad.stderr);
  assert(/skipped 1 corrupt file: \S*broken\.png/.test(bad.stderr), bad.stderr);
  assert(/1 corrupt file\(s\) skipped: \S*broken\.png/.test(bad.stderr), bad.stderr);
  // An image format we cannot decode stops the run: one line naming the file.
  await Deno.writeTextFile(join(root, "imgs", "dogs", "anim.gif"), "GIF89a");
  const gif = await cli([...common, "--data", join(root, "imgs"), "--out", join(root, "run4")]);
  assert(gif.code !== 0, "an unsupported image format must fail the run");
  assert(/anim\.gif/.test(gif.stderr), gif.stderr);
  assert(!/^\s+at /m.test(gif.stderr), gif.stderr);
  assert(!/^\s+at /m.test(bad.stderr), bad.stderr);
  await Deno.remove(root, { recursive: true });
});
