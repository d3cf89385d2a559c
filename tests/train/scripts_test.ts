// The export and evaluate tasks read a run through the same checkpoint codec
// as resume: export writes the newest checkpoint's online encoder, evaluate
// falls back to it for a run with no final encoder.
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/asserts.ts";
import { rgbaImage, writePng } from "../data/_helpers.ts";
import { loadStateDictFile } from "../../mod.ts";
import { encoderState, loadCheckpoint, resolveCheckpointDir } from "../../src/train/checkpoint.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

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

Deno.test("export writes the checkpoint's encoder; evaluate uses it when a run has no final encoder", async () => {
  const root = await Deno.makeTempDir({ prefix: "byol-tasks-" });
  try {
    for (const [split, n] of [["train", 8], ["val", 4]] as const) {
      for (const cls of ["dark", "light"]) {
        for (let i = 0; i < n; i++) {
          const base = cls === "dark" ? 30 : 200;
          const img = rgbaImage(
            16,
            16,
            (x, y) => [(base + x * 3 + i) % 256, (base + y * 2) % 256, base, 255],
          );
          await writePng(join(root, "data", split, cls, `${i}.png`), img);
        }
      }
    }
    const run = join(root, "run");
    const train = await task("train.ts", [
      "--data",
      join(root, "data"),
      "--batch-size",
      "8",
      "--epochs",
      "2",
      "--width",
      "4",
      "--hidden-dim",
      "16",
      "--projection-dim",
      "8",
      "--knn-every",
      "1",
      "--no-evaluate",
      "--checkpoint-every",
      "1",
      "--device",
      "cpu",
      "--out",
      run,
    ]); // deno-fmt-ignore
    assertEquals(train.code, 0, train.stderr);
    const ck = await loadCheckpoint(await resolveCheckpointDir(run));
    const want = encoderState(ck);
    const out = join(root, "exported.safetensors");
    const exp = await task("export.ts", ["--run", run, "--out", out]);
    assertEquals(exp.code, 0, exp.stderr);
    const got = await loadStateDictFile(out);
    assertEquals(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [k, t] of Object.entries(want)) {
      assertEquals(Array.from(got[k].toBytes()), Array.from(t.toBytes()), k);
    }
    // Without encoder.safetensors (an interrupted run), evaluate reads the checkpoint.
    await Deno.remove(join(run, "encoder.safetensors"));
    const ev = await task("evaluate.ts", ["--run", run, "--device", "cpu"]);
    assertEquals(ev.code, 0, ev.stderr);
    assert(/kNN k=20/.test(ev.stdout), ev.stdout);
    const saved = JSON.parse(await Deno.readTextFile(join(run, "evaluate.json")));
    assert(
      String(saved.encoder).includes(`step-${String(ck.meta.step).padStart(7, "0")}`),
      saved.encoder,
    );
    assert(saved.knn20 >= 0 && saved.knn20 <= 100, JSON.stringify(saved));
    for (const t of Object.values(ck.tensors)) t.dispose();
    for (const t of Object.values(got)) t.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
